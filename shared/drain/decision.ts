import type { CompleteInput, DrainDecision, DrainOutcome } from './types.js';

export interface DrainCheck {
  runningTasks: number;
  elapsedSeconds: number;
  maxSeconds: number;
  sinceHeartbeatSeconds: number;
  heartbeatTimeout: number;
}

/**
 * One check of a draining instance. Empty wins over the deadline (no warning for an instance that
 * drained in time); a heartbeat is due once half the hook's timeout has gone since the last one.
 */
export function drainDecision(check: DrainCheck): DrainDecision {
  if (check.runningTasks <= 0) return 'complete';
  if (check.elapsedSeconds >= check.maxSeconds) return 'timed-out';
  if (check.sinceHeartbeatSeconds >= check.heartbeatTimeout / 2) return 'heartbeat-and-wait';
  return 'wait';
}

export const MAX_WAIT_SECONDS = 15;

/**
 * Seconds between checks: 15, or a quarter of the heartbeat timeout when that is shorter, so a
 * heartbeat due at half the timeout is recorded with a quarter of it still to spare.
 */
export function waitSecondsFor(heartbeatTimeout: number): number {
  return Math.max(1, Math.min(MAX_WAIT_SECONDS, Math.floor(heartbeatTimeout / 4)));
}

/**
 * The drain's clock. A Wait state lasts at least its seconds, so in AWS the wall clock is always
 * ahead of start + waited; a local run with 0-ms waits advances by the waited seconds alone.
 */
export function drainClockMs(clock: { wallMs: number; startedAtMs: number; waitedSeconds: number }): number {
  return Math.max(clock.wallMs, clock.startedAtMs + clock.waitedSeconds * 1000);
}

/** How a drain ended, from the state that reached CompleteLifecycleAction. */
export function drainOutcome(state: CompleteInput): DrainOutcome {
  if (state.failure) return 'failed';
  if (state.phase === 'lifecycle-action-gone') return 'lifecycle-action-gone';
  if (state.phase === 'timed-out') return 'timed-out';
  if (!state.containerInstanceArn) return 'no-instance';
  return 'drained';
}
