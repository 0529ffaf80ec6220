import type { Context } from 'aws-lambda';
import type { Clock } from '../aws/deps.js';
import { epochSeconds, type Store } from '../aws/store.js';
import type { DeployState } from '../deploy/state.js';
import { LockLost } from '../errors.js';
import { lambda } from '../handler.js';
import { logger } from '../logger.js';
import { LOCK_LEASE_SECONDS } from './queue.js';

/**
 * The running deploy keeps its app's lock lease fresh: every Lambda step of the deploy workflow
 * renews it (to now + LOCK_LEASE_SECONDS) before it does anything else, through `deployStep`. While
 * no Lambda of it runs (the CodeBuild build, the Watch step parked on its task token) the queue sweep
 * renews it, after asking Step Functions that the execution still runs (shared/queue/sweep.ts). A
 * fresh lease is what lets the sweep leave a busy deploy alone without a DescribeExecution call, and
 * it is never what frees a lock: only the holder's Hand over, or Step Functions saying the holder
 * ended, does (shared/queue/queue.ts).
 *
 * A deploy that passed its Queue step holds the lock until its Hand over step, so a step that finds
 * the lock held by another deploy, or gone, has lost it — which the queue only does to an execution
 * Step Functions reported ended, so this means a bug or a hand edit of the table (an operator who
 * deleted the LOCK item to "unstick" an app). What the step does then depends on what it is for:
 *  - `stop` — Prepare, Release, Promote, Retire move the app forward: the step fails with LOCK_LOST
 *    before any change. Another deploy may be changing the same services; two deploys must never
 *    interleave their changes, which is the lock's whole point. Failing before Promote changes
 *    nothing in ECS (the deploy is reported failed and the app stays on its release); Retire failing
 *    is reported and the release stays live (its Catch in the state machine).
 *  - `go-on` — Watch and Verify only look; Rollback puts back what *this* deploy changed; Notify
 *    reports the outcome. Refusing them would leave the services half-updated or the outcome untold,
 *    the very outcomes the lock exists to prevent: they log the loss (LOCK_LOST, as a warning) and go on.
 * The lock is not taken back in either case: the queue may have handed it to a newer deploy, and
 * only the queue decides who holds it.
 */
export type WhenLockLost = 'stop' | 'go-on';

/** Every Lambda step of the deploy workflow (state-machines/deploy.asl.yml), and what it does when its lock is lost. */
export const WHEN_LOCK_LOST = {
  prepare: 'stop',
  release: 'stop',
  promote: 'stop',
  watch: 'go-on',
  verify: 'go-on',
  retire: 'stop',
  rollback: 'go-on',
  notify: 'go-on',
} as const satisfies Record<string, WhenLockLost>;

export type DeployStepName = keyof typeof WHEN_LOCK_LOST;

export interface LeaseDeps {
  store: Store;
  now: Clock;
}

/** What renewing a deploy's lease found. */
export type Renewal =
  /** the lock is this deploy's: its lease now ends at `until` (epoch seconds) */
  | { kind: 'renewed'; until: number }
  /** the deploy never got through its Queue step (superseded, or its Queue step failed): it holds no lock */
  | { kind: 'not-queued' }
  /** the lock is another deploy's (`holder`), or nobody's */
  | { kind: 'lost'; holder?: string };

/** The deploy's own lease, renewed (a conditional write: only while the lock is its own). */
export async function renewLease(state: Pick<DeployState, 'app' | 'execution' | 'queue'>, deps: LeaseDeps): Promise<Renewal> {
  // the Queue step's result ($.queue) is there once the deploy took the lock
  if (!state.queue) return { kind: 'not-queued' };
  const until = epochSeconds(deps.now()) + LOCK_LEASE_SECONDS;
  if (await deps.store.renewLock(state.app, state.execution, until)) return { kind: 'renewed', until };
  const lock = await deps.store.getLock(state.app);
  return { kind: 'lost', ...(lock ? { holder: lock.holder } : {}) };
}

/** Pure: whether the step runs, runs with a warning, or stops (see WhenLockLost). */
export function leaseVerdict(renewal: Renewal, whenLost: WhenLockLost): 'run' | 'warn' | 'stop' {
  if (renewal.kind !== 'lost') return 'run';
  return whenLost === 'stop' ? 'stop' : 'warn';
}

function lockLost(step: string, state: Pick<DeployState, 'app' | 'execution'>, holder: string | undefined, stopped: boolean): LockLost {
  const whose = holder ? `is held by another deploy (${holder})` : 'was released';
  const then = stopped
    ? `${step} stopped before changing anything, so that two deploys never change ${state.app} at once; deploy again once the other deploy has ended`
    : `${step} goes on: it only looks at, puts back or reports what this deploy did`;
  return new LockLost('LOCK_LOST', `the deploy lock of app ${state.app} ${whose} while this deploy (${state.execution}) still ran; ${then}`, {
    app: state.app,
    execution: state.execution,
    step,
    ...(holder ? { holder } : {}),
  });
}

/**
 * The Lambda handler of a deploy workflow step: `lambda(name, …)`, renewing the deploy's lock lease
 * first (and, if the lock is lost, doing what WHEN_LOCK_LOST says for the step). `stateOf` finds the
 * DeployState in the event (default: the event is the state).
 */
export function deployStep<E, R>(
  name: DeployStepName,
  deps: LeaseDeps,
  step: (event: E, context: Context) => Promise<R>,
  stateOf: (event: E) => DeployState = (event) => event as unknown as DeployState,
) {
  return lambda<E, R>(name, async (event, context) => {
    const state = stateOf(event);
    const renewal = await renewLease(state, deps);
    const verdict = leaseVerdict(renewal, WHEN_LOCK_LOST[name]);
    if (verdict !== 'run') {
      const lost = lockLost(name, state, renewal.kind === 'lost' ? renewal.holder : undefined, verdict === 'stop');
      if (verdict === 'stop') throw lost;
      logger.warn(lost.message, { code: lost.code, ...lost.details });
    }
    return step(event, context);
  });
}
