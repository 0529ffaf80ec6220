import { describe, expect, it } from 'vitest';
import type { LockItem, QueueItem } from '../../shared/aws/store.js';
import { storeSubjects, unique } from '../support/store-subjects.js';

/**
 * The Store methods of the self-healing queue, on both stores (the rack's DynamoDB table on moto,
 * made from the packaged template with its `sweep` index, and the in-memory twin): the same answers.
 */
const subjects = storeSubjects();

describe.each(Object.keys(subjects))('queue store: %s', (kind) => {
  const make = () => subjects[kind]!();
  const lockOf = (holder: string, expiresAt: number, extra: Partial<LockItem> = {}): LockItem => ({
    holder,
    order: { time: '2026-03-02T14:00:00Z', sequencer: '01' },
    expiresAt,
    ...extra,
  });

  it('takeLock: free or already this holder’s; a lapsed lease is never taken over', async () => {
    const { store, clock } = make();
    const app = unique('take');
    const now = Math.floor(clock.ms / 1000);
    expect(await store.takeLock(app, lockOf('a', now + 60, { executionArn: 'arn:a', wakeToken: 't-a' }))).toBe(true);
    expect(await store.getLock(app)).toEqual(lockOf('a', now + 60, { executionArn: 'arn:a', wakeToken: 't-a' }));
    expect(await store.takeLock(app, lockOf('b', now + 60))).toBe(false);
    clock.ms += 3600_000;
    expect(await store.takeLock(app, lockOf('b', now + 4000))).toBe(false);
    expect(await store.takeLock(app, lockOf('a', now + 4000))).toBe(true);
    expect((await store.getLock(app))?.expiresAt).toBe(now + 4000);
    expect(await store.releaseLock(app, 'a')).toBe(true);
    expect(await store.takeLock(app, lockOf('b', now + 4000))).toBe(true);
  });

  it('renewLock and lockWoken: only the holder’s, only the token it was taken for', async () => {
    const { store, clock } = make();
    const app = unique('renew');
    const now = Math.floor(clock.ms / 1000);
    expect(await store.renewLock(app, 'a', now + 600)).toBe(false);
    await store.takeLock(app, lockOf('a', now + 60, { wakeToken: 't-a' }));
    expect(await store.renewLock(app, 'b', now + 600)).toBe(false);
    expect(await store.renewLock(app, 'a', now + 600)).toBe(true);
    expect(await store.lockWoken(app, 'a', 't-other')).toBe(false);
    expect(await store.lockWoken(app, 'b', 't-a')).toBe(false);
    expect(await store.lockWoken(app, 'a', 't-a')).toBe(true);
    expect(await store.lockWoken(app, 'a', 't-a')).toBe(false);
    expect(await store.getLock(app)).toEqual(lockOf('a', now + 600));
    // a renewed lease also holds against acquireLock (which takes a lapsed one)
    clock.ms += 599_000;
    expect(await store.acquireLock(app, lockOf('b', now + 1200))).toBe(false);
  });

  it('appsToSweep: apps with a held lock or a waiting deploy, and only while they have one', async () => {
    const { store, clock } = make();
    const [locked, waiting, idle] = [unique('swl'), unique('sww'), unique('swi')];
    const now = Math.floor(clock.ms / 1000);
    const item = (execution: string, status: QueueItem['status']): QueueItem => ({ execution, token: `t-${execution}`, order: { time: '2026-03-02T14:00:00Z' }, status });
    await store.takeLock(locked, lockOf('a', now + 60));
    await store.putQueueItem(waiting, item('w', 'waiting'));
    await store.putQueueItem(idle, item('d', 'done'));
    const mine = async () => (await store.appsToSweep()).filter((app) => [locked, waiting, idle].includes(app));
    expect(await mine()).toEqual([locked, waiting].sort());
    // the index attribute never shows in what the store hands out
    expect(await store.listQueue(waiting)).toEqual([item('w', 'waiting')]);
    expect(await store.transitionQueueItem(waiting, 'w', 'waiting', 'running')).toBe(true);
    await store.releaseLock(locked, 'a');
    expect(await mine()).toEqual([]);
    expect(await store.transitionQueueItem(waiting, 'w', 'running', 'waiting')).toBe(true);
    expect(await mine()).toEqual([waiting]);
    expect(await store.listQueue(waiting)).toEqual([item('w', 'waiting')]);
  });
});
