/**
 * The data a drain carries from state to state. The execution input is a LifecycleAction (built by
 * drain-start from the Auto Scaling event); drain-find turns it into a DrainState that every later
 * step takes and returns whole, so a Catch anywhere still has what CompleteLifecycleAction needs.
 */
export interface LifecycleAction {
  instanceId: string;
  autoScalingGroupName: string;
  lifecycleHookName: string;
  lifecycleActionToken: string;
}

export type DrainDecision = 'complete' | 'wait' | 'heartbeat-and-wait' | 'timed-out';

/** What the last step concluded; the ASL Choice states branch on it. */
export type DrainPhase = 'no-instance' | 'draining' | DrainDecision | 'lifecycle-action-gone';

export interface DrainState extends LifecycleAction {
  /** null: the EC2 instance never registered with the cluster (or already left it) */
  containerInstanceArn: string | null;
  /** the hook's HeartbeatTimeout, seconds */
  heartbeatTimeout: number;
  /** the Wait state's seconds between checks */
  waitSeconds: number;
  /** DRAIN_MAX_SECONDS at the start of this drain */
  maxSeconds: number;
  startedAtMs: number;
  lastHeartbeatAtMs: number;
  /** sum of the Wait states passed so far */
  waitedSeconds: number;
  elapsedSeconds: number;
  checks: number;
  heartbeats: number;
  runningTasks: number;
  standaloneTasksStopped: number;
  phase: DrainPhase;
}

/** What a Catch adds under `failure` before the machine goes to CompleteLifecycleAction anyway. */
export interface CaughtFailure {
  Error?: string;
  Cause?: string;
}

export type CompleteInput = LifecycleAction & Partial<DrainState> & { failure?: CaughtFailure };

export type DrainOutcome = 'drained' | 'timed-out' | 'no-instance' | 'failed' | 'lifecycle-action-gone';
