import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DescribeContainerInstancesCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { drainClockMs, drainDecision } from './decision.js';
import { recordHeartbeat } from './lifecycle.js';
import type { DrainState } from './types.js';

/** Tasks still on the instance; a container instance that has left the cluster has none. */
export async function runningTasksOn(ecs: ECSClient, cluster: string, containerInstanceArn: string): Promise<number> {
  const described = await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: [containerInstanceArn] }));
  const instance = described.containerInstances?.find((ci) => ci.containerInstanceArn === containerInstanceArn);
  return instance ? (instance.runningTasksCount ?? 0) + (instance.pendingTasksCount ?? 0) : 0;
}

/**
 * One pass of the drain loop, run after each Wait: count the tasks left, decide, and record the
 * heartbeat here rather than in a state of its own (each state transition is billed).
 */
export async function checkDrain(clients: { ecs: ECSClient; asg: AutoScalingClient }, cluster: string, state: DrainState, wallMs: number): Promise<DrainState> {
  const waitedSeconds = state.waitedSeconds + state.waitSeconds;
  const nowMs = drainClockMs({ wallMs, startedAtMs: state.startedAtMs, waitedSeconds });
  const runningTasks = state.containerInstanceArn ? await runningTasksOn(clients.ecs, cluster, state.containerInstanceArn) : 0;
  const elapsedSeconds = Math.floor((nowMs - state.startedAtMs) / 1000);
  const decision = drainDecision({
    runningTasks,
    elapsedSeconds,
    maxSeconds: state.maxSeconds,
    sinceHeartbeatSeconds: (nowMs - state.lastHeartbeatAtMs) / 1000,
    heartbeatTimeout: state.heartbeatTimeout,
  });
  const next: DrainState = { ...state, waitedSeconds, elapsedSeconds, runningTasks, checks: state.checks + 1, phase: decision };
  if (decision !== 'heartbeat-and-wait') return next;
  if ((await recordHeartbeat(clients.asg, state)) === 'gone') return { ...next, phase: 'lifecycle-action-gone' };
  return { ...next, lastHeartbeatAtMs: nowMs, heartbeats: state.heartbeats + 1 };
}
