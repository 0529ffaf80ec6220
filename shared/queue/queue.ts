import { type ExecutionStatuses, isClosedTask, stillRuns } from '../aws/executions.js';
import { epochSeconds, type LockItem, type QueueItem, type Store } from '../aws/store.js';
import type { DeployState } from '../deploy/state.js';
import type { TaskTokenSender } from '../watch/watch.js';
import { endedStatus, enqueueDecision, handoverDecision, lockDecision } from './decide.js';

/**
 * The per-app queue, which heals itself. One deploy holds an app's lock at a time; the others wait in
 * their Queue step on a task token. The lock passes only by release — by its holder when it ends
 * (the Hand over step), or on its behalf once Step Functions says its execution ended — never because
 * a lease lapsed. Its lease is short and says when to ask again:
 *  - whoever looks at a held lock (an upload that must wait, a handover, the sweep) asks Step Functions
 *    whether the holder still runs: a live holder's lease is renewed, a dead one's lock is released;
 *  - before a waiter is handed the lock, Step Functions is asked whether it still runs: dead waiters
 *    are skipped; a token that bounces anyway (it died in between) gives the lock back and the next
 *    waiter is tried;
 *  - the lock records the token it was taken for until the token is confirmed sent: a crash in
 *    between leaves a `wakeToken` the next look sends again (sending a token twice is harmless: the
 *    second answer is TaskTimedOut).
 * Every step is a conditional write, so two Lambdas doing any of this at once agree.
 */

/** The lock's lease: renewed by the sweep while the holder runs (every SWEEP_INTERVAL_SECONDS). */
export const LOCK_LEASE_SECONDS = 600;
/** How often the queue sweep runs (serverless.yml: the queue-sweep rule's rate). */
export const SWEEP_INTERVAL_SECONDS = 300;

export interface QueueDeps {
  store: Store;
  sender: TaskTokenSender;
  now: () => number;
}

/** What choosing who holds a lock needs besides: whether an execution still runs (DescribeExecution). */
export interface HandoverDeps extends QueueDeps {
  executions: ExecutionStatuses;
}

/** What one look at an app's queue did. */
export interface KickResult {
  /** the deploy that now holds the lock and was sent its token */
  woken?: string;
  /** holders whose execution had ended: their lock was released */
  released: string[];
  /** waiters whose execution had ended: passed over */
  abandoned: string[];
  /** the holder's lease was renewed (it runs) */
  renewed?: string;
  /** the holder's token was sent again (taken for it, never confirmed sent) */
  rewoken?: string;
  /** who holds the lock after the look, when it was held by a deploy that runs */
  holder?: string;
}

function supersededCause(by: string, started: boolean): string {
  const errorMessage = started
    ? `SUPERSEDED: a newer deploy (${by}) of this app had already started when this one arrived; it was not deployed`
    : `SUPERSEDED: a newer deploy (${by}) arrived while this one waited; it was not deployed`;
  return JSON.stringify({ errorMessage });
}

/** Fails a token, unless nothing waits on it any more (its execution ended). */
async function failToken(deps: QueueDeps, token: string, error: string, cause: string): Promise<void> {
  try {
    await deps.sender.fail(token, error, cause);
  } catch (e) {
    if (!isClosedTask(e)) throw e;
  }
}

async function supersede(deps: QueueDeps, app: string, item: QueueItem, by: string, started: boolean): Promise<void> {
  if (await deps.store.transitionQueueItem(app, item.execution, 'waiting', 'superseded')) {
    await failToken(deps, item.token, 'Superseded', supersededCause(by, started));
  }
}

async function runs(deps: HandoverDeps, executionArn: string): Promise<boolean> {
  return stillRuns(await deps.executions.status(executionArn));
}

const waited = (deps: QueueDeps, item: QueueItem) => ({ waitedMs: Math.max(0, deps.now() - (item.enqueuedAt ?? deps.now())) });

/**
 * Takes the lock for a waiting deploy and sends it its token. 'held': someone else has the lock;
 * 'dead': the token bounced and the execution has ended (the lock is given back).
 */
async function run(deps: HandoverDeps, app: string, item: QueueItem): Promise<'woken' | 'held' | 'dead'> {
  const lock: LockItem = {
    holder: item.execution,
    order: item.order,
    expiresAt: epochSeconds(deps.now()) + LOCK_LEASE_SECONDS,
    wakeToken: item.token,
    ...(item.key ? { key: item.key } : {}),
    ...(item.executionArn ? { executionArn: item.executionArn } : {}),
  };
  if (!(await deps.store.takeLock(app, lock))) return 'held';
  await deps.store.transitionQueueItem(app, item.execution, 'waiting', 'running');
  try {
    await deps.sender.succeed(item.token, waited(deps, item));
  } catch (error) {
    // a throttled or failed send keeps the lock and its wakeToken: a retry or the sweep sends it again
    if (!isClosedTask(error)) throw error;
    // nothing waits on the token: the execution ended, or its Queue step is being retried (the
    // retry finds its item running and goes on with its new token)
    if (!item.executionArn || !(await runs(deps, item.executionArn))) {
      await deps.store.transitionQueueItem(app, item.execution, 'running', 'abandoned');
      await deps.store.releaseLock(app, item.execution);
      return 'dead';
    }
  }
  await deps.store.lockWoken(app, item.execution, item.token);
  return 'woken';
}

/** The holder's token again, for a lock taken for it whose token was never confirmed sent. */
async function rewake(deps: HandoverDeps, app: string, lock: LockItem): Promise<void> {
  const item = (await deps.store.listQueue(app)).find((q) => q.execution === lock.holder);
  // a retried Queue step has a newer token than the one the lock was taken for
  const token = item?.token ?? lock.wakeToken!;
  if (item?.status === 'waiting') await deps.store.transitionQueueItem(app, item.execution, 'waiting', 'running');
  try {
    await deps.sender.succeed(token, item ? waited(deps, item) : { waitedMs: 0 });
  } catch (error) {
    // already answered (it went on), or its Queue step is being retried: either way it needs nothing from us
    if (!isClosedTask(error)) throw error;
  }
  await deps.store.lockWoken(app, lock.holder, lock.wakeToken!);
}

/** Marks a deploy whose execution ended: done if it ran (held the lock), abandoned if it only waited. */
async function endItem(deps: QueueDeps, app: string, execution: string, heldLock: boolean): Promise<void> {
  const item = (await deps.store.listQueue(app)).find((q) => q.execution === execution);
  const to = item && endedStatus(item, heldLock);
  if (item && to) await deps.store.transitionQueueItem(app, execution, item.status, to);
}

/**
 * The newest waiter whose execution still runs (dead ones are passed over), and the waiters it
 * supersedes once it has the lock. None to run: the waiters older than what already ran are
 * superseded now.
 */
async function pickNext(deps: HandoverDeps, app: string, result: KickResult, knownAlive?: string): Promise<{ next: QueueItem; older: QueueItem[]; by: string } | undefined> {
  for (let looked = 0; looked < 1000; looked++) {
    const { next, supersedes, by } = handoverDecision(await deps.store.listQueue(app));
    if (!next) {
      for (const item of supersedes) await supersede(deps, app, item, by!, true);
      return undefined;
    }
    if (next.execution !== knownAlive && next.executionArn && !(await runs(deps, next.executionArn))) {
      if (await deps.store.transitionQueueItem(app, next.execution, 'waiting', 'abandoned')) result.abandoned.push(next.execution);
      continue;
    }
    return { next, older: supersedes, by: by! };
  }
  return undefined;
}

/**
 * One look at an app's queue, safe to repeat and to run beside any other: if the lock is held, ask
 * whether its holder still runs (renew its lease, send a token it may have missed, or release it);
 * if it is free, wake the newest waiter that still runs.
 *  - `ending`: an execution that is ending now (its own Hand over step): its lock is released
 *  - `knownAlive`: an execution known to run (the caller itself), not asked about
 *  - `onlyDue`: ask Step Functions about a holder only when its lease is due (the sweep: cheap)
 */
export async function kick(deps: HandoverDeps, app: string, options: { ending?: string; knownAlive?: string; onlyDue?: boolean } = {}): Promise<KickResult> {
  const result: KickResult = { released: [], abandoned: [] };
  for (let round = 0; round < 10; round++) {
    const lock = await deps.store.getLock(app);
    if (lock) {
      const now = epochSeconds(deps.now());
      const rules = { renewWithinSeconds: SWEEP_INTERVAL_SECONDS, checkEvenIfNotDue: !options.onlyDue };
      let actions = lock.holder === options.ending ? ['release'] : lockDecision(lock, now, rules);
      if (actions.includes('check')) {
        const alive = lock.holder === options.knownAlive || (await runs(deps, lock.executionArn!));
        actions = lockDecision(lock, now, { ...rules, alive });
      }
      if (actions.includes('release')) {
        await endItem(deps, app, lock.holder, true);
        if (await deps.store.releaseLock(app, lock.holder)) result.released.push(lock.holder);
        continue;
      }
      if (actions.includes('wake')) {
        await rewake(deps, app, lock);
        result.rewoken = lock.holder;
      }
      if (actions.includes('renew') && (await deps.store.renewLock(app, lock.holder, now + LOCK_LEASE_SECONDS))) result.renewed = lock.holder;
      return { ...result, holder: lock.holder };
    }
    const picked = await pickNext(deps, app, result, options.knownAlive);
    if (!picked) return result;
    const outcome = await run(deps, app, picked.next);
    if (outcome === 'woken') {
      // only now: had it died instead, the next one down would have run
      for (const item of picked.older) await supersede(deps, app, item, picked.by, false);
      return { ...result, woken: picked.next.execution };
    }
    if (outcome === 'dead') result.abandoned.push(picked.next.execution);
    // held: someone took the lock meanwhile, look at it; dead: try the next waiter
  }
  return result;
}

/**
 * Queue step: record this deploy, supersede older waiters (or be superseded by a newer deploy, waiting,
 * running or finished), run now if the app's lock is free or its holder has ended.
 */
export async function enqueue(state: DeployState, token: string, deps: HandoverDeps, executionArn?: string): Promise<'running' | 'waiting' | 'superseded'> {
  const existing = (await deps.store.listQueue(state.app)).find((q) => q.execution === state.execution);
  // a retried or duplicated enqueue keeps the status it had, with the new token
  if (existing && existing.status !== 'waiting') {
    if (existing.status === 'running') {
      await deps.sender.succeed(token, { waitedMs: Math.max(0, deps.now() - (existing.enqueuedAt ?? deps.now())) });
      return 'running';
    }
    await failToken(deps, token, 'Superseded', supersededCause('an earlier decision', false));
    return 'superseded';
  }
  const me: QueueItem = {
    execution: state.execution,
    token,
    order: state.order,
    status: 'waiting',
    trigger: state.trigger,
    // a retried Queue step waited since its first attempt
    enqueuedAt: existing?.enqueuedAt ?? deps.now(),
    ...(state.source ? { key: state.source.key } : {}),
    ...((executionArn ?? existing?.executionArn) ? { executionArn: executionArn ?? existing?.executionArn } : {}),
  };
  await deps.store.putQueueItem(state.app, me);
  const queue = await deps.store.listQueue(state.app);
  const lock = await deps.store.getLock(state.app);
  const decision = enqueueDecision(me, queue, lock);
  if (decision.superseded) {
    await supersede(deps, state.app, me, decision.superseded.by, decision.superseded.started);
    return 'superseded';
  }
  for (const execution of decision.supersedes) {
    const item = queue.find((q) => q.execution === execution)!;
    await supersede(deps, state.app, item, me.key ?? me.execution, false);
  }
  if (!lock || lock.holder === me.execution) {
    if ((await run(deps, state.app, me)) === 'woken') return 'running';
  }
  // held (or taken meanwhile): a holder that ended hands on now, to us if we are the newest
  const result = await kick(deps, state.app, { knownAlive: me.execution });
  return result.woken === me.execution || result.holder === me.execution ? 'running' : 'waiting';
}

/**
 * A deploy ended (its Hand over step, or Step Functions' status change): its item is closed, its
 * lock released if it held it, and the newest waiter that still runs is woken. Idempotent: a retry,
 * a duplicate event, or the sweep doing the same thing meanwhile, change nothing twice.
 */
export async function handover(app: string, execution: string, deps: HandoverDeps): Promise<string | undefined> {
  const lock = await deps.store.getLock(app);
  await endItem(deps, app, execution, lock?.holder === execution);
  await deps.store.releaseLock(app, execution);
  return (await kick(deps, app, { ending: execution })).woken;
}
