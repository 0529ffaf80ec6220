import type { LockItem, QueueItem } from '../aws/store.js';
import type { DeployOrder } from '../deploy/state.js';
import { compareOrder } from '../keys.js';

/**
 * One deploy per app at a time, and the newest upload wins. Pure: given a request, the app's queue
 * and lock, decide whether it may run now, must wait, or is superseded — and, when a lock is looked
 * at, what must happen to it. The I/O is in queue.ts.
 */

/** What the ordering rule compares: a deploy's order (event time, S3 sequencer) and its object key. */
export interface Ordered {
  order: DeployOrder;
  key?: string;
}

/**
 * The ordering rule: which of two deploys of one app is the newer. Two uploads of the same key are
 * ordered by their S3 sequencers (S3 gives them "to determine the sequence of events" for an object
 * key, https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html);
 * anything else by event time, and within the same second (EventBridge times are whole seconds) by
 * sequencer when both have one. Equal means neither supersedes the other. Arrival order never counts.
 */
export function compareDeploys(a: Ordered, b: Ordered): number {
  const [sa, sb] = [a.order.sequencer, b.order.sequencer];
  const bySequencer = () => (sa && sb ? compareOrder({ time: '', sequencer: sa }, { time: '', sequencer: sb }) : 0);
  if (a.key && a.key === b.key && sa && sb) return bySequencer();
  const byTime = Date.parse(a.order.time) - Date.parse(b.order.time);
  return Number.isNaN(byTime) || byTime === 0 ? bySequencer() : byTime;
}

/** Newest first; ties in a fixed order (by execution name), so every caller picks the same one. */
const newestFirst = (a: QueueItem, b: QueueItem) => compareDeploys(b, a) || (a.execution < b.execution ? -1 : a.execution > b.execution ? 1 : 0);

/**
 * Deploys that count against a new request: any that waits or runs; and, against an upload, any
 * upload that already ran. A redeploy (promote, rollback, rebuild, config) is a request to act now:
 * what finished before it does not make it late, and it does not make a later-arriving upload late.
 */
const counts = (item: QueueItem, me: QueueItem) => item.status === 'waiting' || item.status === 'running' || (item.status === 'done' && isUpload(item) && isUpload(me));

/** An upload (S3 event: it has a sequencer), not a redeploy, rebuild or config change. */
export const isUpload = (item: Pick<QueueItem, 'trigger' | 'order'>) => (item.trigger ? item.trigger === 'upload' : !!item.order.sequencer);

export interface QueueDecision {
  /**
   * this request is older than a deploy already waiting, running or finished, or than the lock's
   * holder; `started` when that deploy took the lock (so this one arrived after a newer one ran)
   */
  superseded: false | { by: string; started: boolean };
  /** older waiting requests that this one replaces */
  supersedes: string[];
}

export function enqueueDecision(me: QueueItem, queue: QueueItem[], lock: LockItem | undefined): QueueDecision {
  const others = queue.filter((item) => item.execution !== me.execution);
  const newer = others.filter((item) => counts(item, me) && compareDeploys(item, me) > 0).sort(newestFirst);
  const lockIsNewer = lock && lock.holder !== me.execution && compareDeploys(lock, me) > 0;
  if (newer[0]) return { superseded: { by: newer[0].key ?? newer[0].execution, started: newer[0].status !== 'waiting' }, supersedes: [] };
  if (lockIsNewer) return { superseded: { by: lock.key ?? lock.holder, started: true }, supersedes: [] };
  const supersedes = others.filter((item) => item.status === 'waiting' && compareDeploys(item, me) < 0).map((item) => item.execution);
  return { superseded: false, supersedes };
}

/**
 * When the lock is free: the newest waiting request runs next; the older waiters are superseded, and
 * so is any waiting upload older than an upload that already started (it can only be there if a
 * handover died before superseding it: never run an upload older than one that ran).
 */
export function handoverDecision(queue: QueueItem[]): { next?: QueueItem; supersedes: QueueItem[]; by?: string } {
  const started = queue.filter((item) => (item.status === 'running' || item.status === 'done') && isUpload(item)).sort(newestFirst)[0];
  const waiting = queue.filter((item) => item.status === 'waiting').sort(newestFirst);
  const next = waiting.find((item) => !started || !isUpload(item) || compareDeploys(item, started) >= 0);
  const by = next ?? started;
  return { next, supersedes: waiting.filter((item) => item !== next), ...(by ? { by: by.key ?? by.execution } : {}) };
}

/** Pure: the newest deploy of the app that waits behind this one, if any (Prepare and Release give way to it). */
export function newerWaiting(queue: QueueItem[], state: { execution: string; order: DeployOrder; key?: string; source?: { key: string } }): QueueItem | undefined {
  const me = { order: state.order, ...((state.key ?? state.source?.key) ? { key: state.key ?? state.source?.key } : {}) };
  return queue.filter((item) => item.status === 'waiting' && item.execution !== state.execution && compareDeploys(item, me) > 0).sort(newestFirst)[0];
}

/** What a queue item's status becomes when its execution is known to have ended. */
export function endedStatus(item: Pick<QueueItem, 'status'>, heldLock: boolean): QueueItem['status'] | undefined {
  if (item.status === 'running') return 'done';
  if (item.status === 'waiting') return heldLock ? 'done' : 'abandoned';
  return undefined;
}

/**
 * What to do about a held lock. `alive` is what Step Functions says of the holder (undefined: not
 * asked — the lock names no execution ARN, or the caller only looks at leases that are due).
 *  - release: the holder ended; its lock goes (then the newest live waiter is woken)
 *  - wake: the holder runs and its token may never have reached it (a crash between taking the
 *    lock for it and sending the token): send it again
 *  - renew: the holder runs and its lease lapses before the next look
 *  - check: ask Step Functions first
 *  - keep: nothing to do
 */
export type LockAction = 'release' | 'wake' | 'renew' | 'check' | 'keep';

export function lockDecision(lock: LockItem, nowSeconds: number, options: { alive?: boolean; renewWithinSeconds: number; checkEvenIfNotDue: boolean }): LockAction[] {
  const due = lock.expiresAt - nowSeconds <= options.renewWithinSeconds;
  if (options.alive === undefined) {
    // a lock of a version that kept no ARN: its lease is all there is to go by
    if (!lock.executionArn) return lock.expiresAt < nowSeconds ? ['release'] : ['keep'];
    return due || lock.wakeToken || options.checkEvenIfNotDue ? ['check'] : ['keep'];
  }
  if (!options.alive) return ['release'];
  const actions: LockAction[] = [];
  if (lock.wakeToken) actions.push('wake');
  if (due) actions.push('renew');
  return actions.length ? actions : ['keep'];
}
