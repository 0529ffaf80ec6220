import { describe, expect, it } from 'vitest';
import type { LockItem, QueueItem } from '../../shared/aws/store.js';
import { enqueueDecision, handoverDecision } from '../../shared/queue/decide.js';

const item = (execution: string, sequencer: string, status: QueueItem['status'] = 'waiting'): QueueItem => ({
  execution,
  token: `t-${execution}`,
  order: { time: '2026-01-01T00:00:00Z', sequencer },
  status,
  key: `apps/shop/${execution}.tgz`,
});
const lock = (holder: string, sequencer: string): LockItem => ({ holder, order: { time: '2026-01-01T00:00:00Z', sequencer }, expiresAt: 0, key: `apps/shop/${holder}.tgz` });

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
    expect(enqueueDecision(me, queue, undefined)).toEqual({ superseded: { by: 'apps/shop/c.tgz' }, supersedes: [] });
  });

  it('is superseded when the lock holder is newer', () => {
    const me = item('a', '01');
    expect(enqueueDecision(me, [me], lock('b', '02')).superseded).toEqual({ by: 'apps/shop/b.tgz' });
  });

  it('ignores finished and superseded items', () => {
    const me = item('b', '02');
    const queue = [item('z', '09', 'done'), item('y', '08', 'superseded'), me];
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
    expect(handoverDecision([item('a', '01', 'done')])).toEqual({ next: undefined, supersedes: [] });
  });
});
