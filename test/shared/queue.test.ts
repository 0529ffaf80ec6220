import { describe, expect, it } from 'vitest';
import type { LockItem, QueueItem } from '../../shared/aws/store.js';
import { compareDeploys, endedStatus, enqueueDecision, handoverDecision, lockDecision, newerWaiting } from '../../shared/queue/decide.js';

const item = (execution: string, sequencer: string, status: QueueItem['status'] = 'waiting'): QueueItem => ({
  execution,
  token: `t-${execution}`,
  order: { time: '2026-01-01T00:00:00Z', sequencer },
  status,
  key: `apps/shop/${execution}.tgz`,
});
const lock = (holder: string, sequencer: string): LockItem => ({ holder, order: { time: '2026-01-01T00:00:00Z', sequencer }, expiresAt: 0, key: `apps/shop/${holder}.tgz` });

describe('compareDeploys: which upload is the newer', () => {
  const at = (time: string, sequencer?: string, key?: string) => ({ order: { time, ...(sequencer ? { sequencer } : {}) }, ...(key ? { key } : {}) });
  it.each([
    ['the same key: the sequencer, even against the event time', at('2026-01-01T00:00:09Z', '0A', 'apps/a/x.tgz'), at('2026-01-01T00:00:01Z', '0B', 'apps/a/x.tgz'), -1],
    ['the same key: sequencers of different lengths compare as numbers', at('t', 'FF', 'k'), at('t', '0100', 'k'), -1],
    ['different keys: the event time', at('2026-01-01T00:00:02Z', '01', 'apps/a/x.tgz'), at('2026-01-01T00:00:01Z', '09', 'apps/a/y.tgz'), 1],
    ['different keys in the same second: the sequencer breaks the tie', at('2026-01-01T00:00:01Z', '01', 'apps/a/x.tgz'), at('2026-01-01T00:00:01Z', '02', 'apps/a/y.tgz'), -1],
    ['a redeploy (no key, no sequencer) against an upload: the event time', at('2026-01-01T00:00:05Z'), at('2026-01-01T00:00:01Z', '09', 'apps/a/y.tgz'), 1],
    ['the same second and nothing else: neither is newer', at('2026-01-01T00:00:01Z'), at('2026-01-01T00:00:01Z', '09', 'k'), 0],
  ])('%s', (_rule, a, b, sign) => {
    expect(Math.sign(compareDeploys(a, b))).toBe(sign);
    expect(Math.sign(compareDeploys(b, a))).toBe(-sign || 0);
  });
});

describe('enqueueDecision', () => {
  it('runs when nothing else is queued', () => {
    const me = item('b', '02');
    expect(enqueueDecision(me, [me], undefined)).toEqual({ superseded: false, supersedes: [] });
  });

  it('supersedes older waiters but not the running deploy', () => {
    const me = item('c', '03');
    const queue = [item('a', '01', 'running'), item('b', '02'), me];
    expect(enqueueDecision(me, queue, lock('a', '01'))).toEqual({ superseded: false, supersedes: ['b'] });
  });

  it('is superseded by a newer waiter that arrived first (out-of-order delivery)', () => {
    const me = item('b', '02');
    const queue = [item('c', '03'), me];
    expect(enqueueDecision(me, queue, undefined)).toEqual({ superseded: { by: 'apps/shop/c.tgz', started: false }, supersedes: [] });
  });

  it('is superseded when the lock holder is newer', () => {
    const me = item('a', '01');
    expect(enqueueDecision(me, [me], lock('b', '02')).superseded).toEqual({ by: 'apps/shop/b.tgz', started: true });
  });

  it('is superseded by a newer deploy that already finished: a late older tarball is never deployed', () => {
    const me = item('b', '02');
    expect(enqueueDecision(me, [item('c', '03', 'done'), me], undefined)).toEqual({ superseded: { by: 'apps/shop/c.tgz', started: true }, supersedes: [] });
  });

  it('a redeploy is not late for what finished before it, nor makes a delayed upload late', () => {
    const redeploy: QueueItem = { execution: 'r', token: 't-r', order: { time: '2026-01-01T00:00:05Z' }, status: 'waiting' };
    const upload = { ...item('u', '01'), order: { time: '2026-01-01T00:00:09Z', sequencer: '01' } };
    expect(
      enqueueDecision(
        redeploy,
        [upload, redeploy].map((q) => (q === upload ? { ...q, status: 'done' as const } : q)),
        undefined,
      ).superseded,
    ).toBe(false);
    const late = { ...item('v', '02'), order: { time: '2026-01-01T00:00:01Z', sequencer: '02' } };
    expect(enqueueDecision(late, [{ ...redeploy, status: 'done' }, late], undefined).superseded).toBe(false);
    // a rebuild carries the app's last tarball's key, and is still a redeploy
    const rebuild: QueueItem = { ...redeploy, execution: 'rb', trigger: 'rebuild', key: 'apps/shop/u.tgz' };
    expect(enqueueDecision(rebuild, [{ ...upload, status: 'done' }, rebuild], undefined).superseded).toBe(false);
  });

  it('ignores deploys that never ran: superseded ones and abandoned ones (their execution ended while they waited)', () => {
    const me = item('b', '02');
    const queue = [item('z', '09', 'superseded'), item('y', '08', 'abandoned'), item('a', '01', 'done'), me];
    expect(enqueueDecision(me, queue, undefined)).toEqual({ superseded: false, supersedes: [] });
  });
});

describe('handoverDecision', () => {
  it('starts the newest waiter and supersedes the rest', () => {
    const decision = handoverDecision([item('a', '01', 'done'), item('b', '02'), item('d', '04'), item('c', '03')]);
    expect(decision.next?.execution).toBe('d');
    expect(decision.supersedes.map((i) => i.execution)).toEqual(['c', 'b']);
  });

  it('has nothing to start on an empty queue', () => {
    expect(handoverDecision([item('a', '01', 'done')])).toMatchObject({ next: undefined, supersedes: [] });
  });

  it('never starts a waiter older than a deploy that already ran: it is superseded', () => {
    const decision = handoverDecision([item('b', '02'), item('c', '03', 'done'), item('d', '04')]);
    expect(decision.next?.execution).toBe('d');
    expect(decision.supersedes.map((i) => i.execution)).toEqual(['b']);
    const stale = handoverDecision([item('b', '02'), item('c', '03', 'done')]);
    expect(stale).toEqual({ next: undefined, supersedes: [expect.objectContaining({ execution: 'b' })], by: 'apps/shop/c.tgz' });
  });
});

describe('newerWaiting', () => {
  it('reads the key from a deploy state’s source', () => {
    const state = { execution: 'b', order: { time: '2026-01-01T00:00:00Z', sequencer: '02' }, source: { key: 'apps/shop/b.tgz' } };
    expect(newerWaiting([item('a', '01'), item('c', '03'), item('d', '04', 'running')], state)?.execution).toBe('c');
  });
});

describe('endedStatus: a deploy whose execution ended', () => {
  it.each([
    ['running', false, 'done'],
    ['waiting', true, 'done'],
    ['waiting', false, 'abandoned'],
    ['superseded', false, undefined],
    ['done', false, undefined],
  ] as const)('%s (held the lock: %s) → %s', (status, held, to) => {
    expect(endedStatus({ status }, held)).toBe(to);
  });
});

describe('lockDecision: what a look at a held lock does', () => {
  const NOW = 1_000_000;
  const held = (fields: Partial<LockItem> = {}): LockItem => ({ holder: 'a', order: { time: 't' }, expiresAt: NOW + 600, executionArn: 'arn:a', ...fields });
  const rules = { renewWithinSeconds: 300, checkEvenIfNotDue: false };
  it.each([
    ['a lease not due, looked at by the sweep: nothing, Step Functions not asked', held(), undefined, ['keep']],
    ['a lease due: ask first', held({ expiresAt: NOW + 300 }), undefined, ['check']],
    ['a lapsed lease: ask first, never take it', held({ expiresAt: NOW - 1 }), undefined, ['check']],
    ['a token never confirmed sent: ask first, whatever the lease', held({ wakeToken: 't' }), undefined, ['check']],
    ['the holder ended: release', held({ expiresAt: NOW - 1 }), false, ['release']],
    ['the holder runs, lease due: renew', held({ expiresAt: NOW + 10 }), true, ['renew']],
    ['the holder runs, lease lapsed hours ago (a long watch): renew', held({ expiresAt: NOW - 7200 }), true, ['renew']],
    ['the holder runs, its token may be lost: send it again', held({ wakeToken: 't' }), true, ['wake']],
    ['the holder runs, lease not due: nothing', held(), true, ['keep']],
    ['a lock that names no execution: its lease is all there is', held({ executionArn: undefined }), undefined, ['keep']],
    ['a lock that names no execution, lapsed: release', held({ executionArn: undefined, expiresAt: NOW - 1 }), undefined, ['release']],
  ] as const)('%s', (_case, lock, alive, actions) => {
    expect(lockDecision(lock, NOW, { ...rules, ...(alive === undefined ? {} : { alive }) })).toEqual(actions);
  });

  it('a handover or an upload that must wait asks even when the lease is not due', () => {
    expect(lockDecision(held(), NOW, { ...rules, checkEvenIfNotDue: true })).toEqual(['check']);
  });
});
