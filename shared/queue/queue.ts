import { epochSeconds, type LockItem, type QueueItem, type Store } from '../aws/store.js';
import type { DeployState } from '../deploy/state.js';
import type { TaskTokenSender } from '../watch/watch.js';
import { enqueueDecision, handoverDecision } from './decide.js';

/** How long a running deploy holds its app's lock if it never hands over (a crashed execution). */
export const LOCK_LEASE_SECONDS = 4 * 3600;

export interface QueueDeps {
  store: Store;
  sender: TaskTokenSender;
  now: () => number;
}

function supersededCause(by: string): string {
  return JSON.stringify({ errorMessage: `SUPERSEDED: a newer deploy (${by}) arrived while this one waited; it was not deployed` });
}

async function supersede(deps: QueueDeps, app: string, item: QueueItem, by: string): Promise<void> {
  if (await deps.store.transitionQueueItem(app, item.execution, 'waiting', 'superseded')) {
    await deps.sender.fail(item.token, 'Superseded', supersededCause(by));
  }
}

/**
 * Moves a waiting deploy to running and takes the app's lock for it. While it tries, its item reads
 * "running": a holder that finishes in that moment cannot hand over to it, so after giving the item
 * back it looks at the lock once more and tries again if the lock came free meanwhile.
 */
async function run(deps: QueueDeps, app: string, item: QueueItem, enqueuedAt: number): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = deps.now();
    const lock: LockItem = { holder: item.execution, order: item.order, expiresAt: epochSeconds(now) + LOCK_LEASE_SECONDS, ...(item.key ? { key: item.key } : {}) };
    if (!(await deps.store.transitionQueueItem(app, item.execution, 'waiting', 'running'))) return false;
    if (await deps.store.acquireLock(app, lock)) {
      await deps.sender.succeed(item.token, { waitedMs: Math.max(0, now - enqueuedAt) });
      return true;
    }
    await deps.store.transitionQueueItem(app, item.execution, 'running', 'waiting');
    // held (by another deploy, or by us after a handover that already sent our token): wait
    const holder = await deps.store.getLock(app);
    if (holder && holder.expiresAt >= epochSeconds(now)) return false;
  }
  return false;
}

/** Queue step: record this deploy, supersede older waiters, run now if the app's lock is free. */
export async function enqueue(state: DeployState, token: string, deps: QueueDeps): Promise<'running' | 'waiting' | 'superseded'> {
  const me: QueueItem = {
    execution: state.execution,
    token,
    order: state.order,
    status: 'waiting',
    enqueuedAt: deps.now(),
    ...(state.source ? { key: state.source.key } : {}),
  };
  const existing = (await deps.store.listQueue(state.app)).find((q) => q.execution === me.execution);
  // a retried or duplicated enqueue keeps the status it had, with the new token
  if (existing && existing.status !== 'waiting') {
    if (existing.status === 'running') await deps.sender.succeed(token, { waitedMs: 0 });
    if (existing.status === 'superseded') await deps.sender.fail(token, 'Superseded', supersededCause('an earlier decision'));
    return existing.status === 'running' ? 'running' : 'superseded';
  }
  await deps.store.putQueueItem(state.app, me);
  const queue = await deps.store.listQueue(state.app);
  const lock = await deps.store.getLock(state.app);
  const decision = enqueueDecision(me, queue, lock);
  if (decision.superseded) {
    await supersede(deps, state.app, me, decision.superseded.by);
    return 'superseded';
  }
  for (const execution of decision.supersedes) {
    const item = queue.find((q) => q.execution === execution)!;
    await supersede(deps, state.app, item, me.key ?? me.execution);
  }
  return (await run(deps, state.app, me, me.enqueuedAt!)) ? 'running' : 'waiting';
}

/** After a deploy ends: release the lock if we hold it, start the newest waiter, supersede the rest. */
export async function handover(app: string, execution: string, deps: QueueDeps): Promise<string | undefined> {
  await deps.store.transitionQueueItem(app, execution, 'running', 'done');
  if (!(await deps.store.releaseLock(app, execution))) return undefined;
  const { next, supersedes } = handoverDecision(await deps.store.listQueue(app));
  for (const item of supersedes) await supersede(deps, app, item, next!.key ?? next!.execution);
  if (next && (await run(deps, app, next, next.enqueuedAt ?? deps.now()))) return next.execution;
  return undefined;
}
