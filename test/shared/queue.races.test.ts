import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../shared/aws/memory-store.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { enqueue, handover } from '../../shared/queue/queue.js';
import { GatedStore, RecordingSender } from '../support/gated-store.js';

/**
 * The per-app queue under every interleaving that matters, forced one store call at a time: a
 * finishing deploy hands the lock over while the next one is half-way through taking it. Each ends
 * with exactly one deploy running, its token sent once, and the lock held by it.
 */
const NOW = Date.parse('2026-03-02T14:00:00Z');

function setup() {
  const gated = new GatedStore(new MemoryStore(() => NOW));
  const sender = new RecordingSender();
  return { gated, sender, deps: { store: gated.store, sender, now: () => NOW } };
}

const deploy = (execution: string, second: number): DeployState =>
  ({
    app: 'shop',
    execution,
    trigger: 'upload',
    order: { time: new Date(NOW + second * 1000).toISOString(), sequencer: String(second).padStart(2, '0') },
    source: { bucket: 'b', key: `apps/shop/${execution}.tar.gz` },
    startedAt: new Date(NOW).toISOString(),
    timings: [],
  }) as DeployState;

/** A running, then B arrives: B waits. */
async function aRunningBWaiting() {
  const s = setup();
  expect(await enqueue(deploy('a', 1), 'token-a', s.deps)).toBe('running');
  return s;
}

describe('queue races', () => {
  it('B arrives while A holds the lock: B waits, A’s handover runs it', async () => {
    const s = await aRunningBWaiting();
    expect(await enqueue(deploy('b', 2), 'token-b', s.deps)).toBe('waiting');
    expect(s.sender.of('token-b')).toEqual([]);
    expect(await handover('shop', 'a', s.deps)).toBe('b');
    expect(s.sender.of('token-b')).toMatchObject([{ kind: 'succeed' }]);
    expect((await s.gated.store.getLock('shop'))?.holder).toBe('b');
  });

  it.each([
    ['has marked itself running but not yet taken the lock', (gated: GatedStore) => gated.pause('acquireLock', (_app, lock) => lock.holder === 'b')],
    [
      'found the lock taken but not yet gone back to waiting',
      (gated: GatedStore) => gated.pause('transitionQueueItem', (_app, execution, from, to) => execution === 'b' && from === 'running' && to === 'waiting'),
    ],
  ])('A hands over while B %s: B takes the freed lock and runs', async (_moment, stopB) => {
    const s = await aRunningBWaiting();
    const gate = stopB(s.gated);
    const b = enqueue(deploy('b', 2), 'token-b', s.deps);
    await gate.reached;
    // A finishes now: B's item reads "running", so A has nobody to hand over to
    expect(await handover('shop', 'a', s.deps)).toBeUndefined();
    gate.open();
    expect(await b).toBe('running');
    expect(s.sender.of('token-b')).toMatchObject([{ kind: 'succeed' }]);
    expect((await s.gated.store.getLock('shop'))?.holder).toBe('b');
  });

  it('A’s handover and B’s retried enqueue both try to start B: B runs once, its live token is sent once', async () => {
    const s = await aRunningBWaiting();
    expect(await enqueue(deploy('b', 2), 'token-b', s.deps)).toBe('waiting');
    // a retried enqueue of B (its Lambda was retried) races A's handover
    const gate = s.gated.pause('acquireLock', (_app, lock) => lock.holder === 'b');
    const handing = handover('shop', 'a', s.deps);
    await gate.reached;
    const retried = enqueue(deploy('b', 2), 'token-b2', s.deps);
    gate.open();
    await Promise.all([handing, retried]);
    // the retry's token (the one Step Functions now waits on) is sent once
    expect(s.sender.of('token-b2')).toMatchObject([{ kind: 'succeed' }]);
    // however the retry went, B holds the lock and no one else does
    expect((await s.gated.store.getLock('shop'))?.holder).toBe('b');
    expect((await s.gated.store.listQueue('shop')).filter((q) => q.status === 'running').map((q) => q.execution)).toEqual(['b']);
  });

  it('a newer tarball supersedes an older one that is still waiting, in either arrival order', async () => {
    for (const order of [
      ['b', 'c'],
      ['c', 'b'],
    ]) {
      const s = await aRunningBWaiting();
      const seconds: Record<string, number> = { b: 2, c: 3 };
      const results: Record<string, string> = {};
      for (const name of order) results[name] = await enqueue(deploy(name, seconds[name]!), `token-${name}`, s.deps);
      expect(results).toEqual({ b: order[0] === 'b' ? 'waiting' : 'superseded', c: 'waiting' });
      expect(s.sender.of('token-b')).toMatchObject([{ kind: 'fail', error: 'Superseded' }]);
      expect(await handover('shop', 'a', s.deps)).toBe('c');
    }
  });
});
