import { compareOrder } from '../keys.js';
import type { LockItem, QueueItem } from '../aws/store.js';

/**
 * One deploy per app at a time. Pure: given this request, the app's queue and lock, decide whether
 * it may run now, must wait, or is already superseded — and which older waiters it supersedes.
 */
export interface QueueDecision {
  /** this request is older than one already queued, running or holding the lock */
  superseded: false | { by: string };
  /** older waiting requests that this one replaces */
  supersedes: string[];
}

export function enqueueDecision(me: QueueItem, queue: QueueItem[], lock: LockItem | undefined): QueueDecision {
  const others = queue.filter((item) => item.execution !== me.execution);
  const newer = others
    .filter((item) => (item.status === 'waiting' || item.status === 'running') && compareOrder(item.order, me.order) > 0)
    .sort((a, b) => compareOrder(b.order, a.order));
  const lockIsNewer = lock && lock.holder !== me.execution && compareOrder(lock.order, me.order) > 0;
  if (newer[0] || lockIsNewer) {
    return { superseded: { by: newer[0]?.key ?? newer[0]?.execution ?? lock!.key ?? lock!.holder }, supersedes: [] };
  }
  const supersedes = others.filter((item) => item.status === 'waiting' && compareOrder(item.order, me.order) < 0).map((item) => item.execution);
  return { superseded: false, supersedes };
}

/** When a deploy finishes: the newest waiting request runs next; any older waiters are superseded. */
export function handoverDecision(queue: QueueItem[]): { next?: QueueItem; supersedes: QueueItem[] } {
  const waiting = queue.filter((item) => item.status === 'waiting').sort((a, b) => compareOrder(b.order, a.order));
  const [next, ...older] = waiting;
  return { next, supersedes: older };
}

/** Pure: the newest deploy of the app that waits behind this one, if any. */
export function newerWaiting(queue: QueueItem[], state: Pick<QueueItem, 'execution' | 'order'>): QueueItem | undefined {
  return queue
    .filter((item) => item.status === 'waiting' && item.execution !== state.execution && compareOrder(item.order, state.order) > 0)
    .sort((a, b) => compareOrder(b.order, a.order))[0];
}
