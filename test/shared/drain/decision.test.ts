import { describe, expect, it } from 'vitest';
import { drainClockMs, drainDecision, drainOutcome, waitSecondsFor, type DrainCheck } from '../../../shared/drain/decision.js';
import type { CompleteInput } from '../../../shared/drain/types.js';

const base: DrainCheck = { runningTasks: 3, elapsedSeconds: 60, maxSeconds: 900, sinceHeartbeatSeconds: 60, heartbeatTimeout: 3600 };

describe('drainDecision', () => {
  it.each<[string, Partial<DrainCheck>, ReturnType<typeof drainDecision>]>([
    ['completes when no task is left', { runningTasks: 0 }, 'complete'],
    ['completes an empty instance even past the deadline', { runningTasks: 0, elapsedSeconds: 5000 }, 'complete'],
    ['waits while tasks are left and time remains', {}, 'wait'],
    ['times out at the maximum drain time', { elapsedSeconds: 900 }, 'timed-out'],
    ['times out past the maximum drain time', { elapsedSeconds: 901 }, 'timed-out'],
    ['waits one second before the maximum', { elapsedSeconds: 899 }, 'wait'],
    ['times out rather than heartbeating once the deadline is reached', { elapsedSeconds: 900, sinceHeartbeatSeconds: 3000 }, 'timed-out'],
    ['heartbeats at half the heartbeat timeout', { sinceHeartbeatSeconds: 1800 }, 'heartbeat-and-wait'],
    ['heartbeats past half the heartbeat timeout', { sinceHeartbeatSeconds: 2500 }, 'heartbeat-and-wait'],
    ['does not heartbeat just under half the timeout', { sinceHeartbeatSeconds: 1799 }, 'wait'],
    ['heartbeats with the shortest timeout AWS allows', { heartbeatTimeout: 30, sinceHeartbeatSeconds: 15 }, 'heartbeat-and-wait'],
    ['treats a negative count as empty', { runningTasks: -1 }, 'complete'],
  ])('%s', (_name, change, expected) => {
    expect(drainDecision({ ...base, ...change })).toBe(expected);
  });
});

describe('waitSecondsFor', () => {
  it.each([
    [3600, 15],
    [60, 15],
    [59, 14],
    [30, 7],
    [2, 1],
    [0, 1],
  ])('heartbeat timeout %i s → checks every %i s', (heartbeatTimeout, expected) => {
    expect(waitSecondsFor(heartbeatTimeout)).toBe(expected);
  });

  it('leaves a heartbeat due at half the timeout a quarter of it before expiry', () => {
    for (const timeout of [30, 31, 45, 60, 100, 3600, 7200]) {
      const wait = waitSecondsFor(timeout);
      // worst case: just under half at one check, the next check one wait later
      expect(timeout / 2 + wait).toBeLessThanOrEqual((timeout * 3) / 4);
    }
  });
});

describe('drainClockMs', () => {
  it.each([
    ['follows the wall clock when it is ahead (AWS)', { wallMs: 100_000, startedAtMs: 0, waitedSeconds: 60 }, 100_000],
    ['follows the waited seconds when the waits took no time (local)', { wallMs: 1_000, startedAtMs: 0, waitedSeconds: 60 }, 60_000],
    ['starts at the start', { wallMs: 5, startedAtMs: 5, waitedSeconds: 0 }, 5],
  ])('%s', (_name, clock, expected) => {
    expect(drainClockMs(clock)).toBe(expected);
  });
});

describe('drainOutcome', () => {
  const action = { instanceId: 'i-0abc1234def567890', autoScalingGroupName: 'g', lifecycleHookName: 'h', lifecycleActionToken: 't' };
  it.each<[string, Partial<CompleteInput>, ReturnType<typeof drainOutcome>]>([
    ['drained', { containerInstanceArn: 'arn:ci', phase: 'complete' }, 'drained'],
    ['no instance', { containerInstanceArn: null, phase: 'no-instance' }, 'no-instance'],
    ['timed out', { containerInstanceArn: 'arn:ci', phase: 'timed-out' }, 'timed-out'],
    ['action gone', { containerInstanceArn: 'arn:ci', phase: 'lifecycle-action-gone' }, 'lifecycle-action-gone'],
    ['failure before the instance was found', { failure: { Error: 'AccessDeniedException', Cause: 'no' } }, 'failed'],
    ['failure wins over a timed-out phase', { containerInstanceArn: 'arn:ci', phase: 'timed-out', failure: { Error: 'X' } }, 'failed'],
  ])('%s', (_name, state, expected) => {
    expect(drainOutcome({ ...action, ...state })).toBe(expected);
  });
});
