import { DescribeLifecycleHooksCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DescribeContainerInstancesCommand, type ECSClient, paginateListContainerInstances } from '@aws-sdk/client-ecs';
import { waitSecondsFor } from './decision.js';
import type { DrainState, LifecycleAction } from './types.js';

/** AWS's default heartbeat timeout, used when the hook does not say. */
export const DEFAULT_HEARTBEAT_TIMEOUT = 3600;
/** AWS's minimum: a hook we cannot read gets the most frequent heartbeats. */
export const MIN_HEARTBEAT_TIMEOUT = 30;

/**
 * The container instance on this EC2 instance, or null. The filter narrows the list; the describe
 * confirms the match, since a wrong filter result would drain the wrong instance.
 */
export async function findContainerInstance(ecs: ECSClient, cluster: string, instanceId: string): Promise<string | null> {
  for await (const page of paginateListContainerInstances({ client: ecs, pageSize: 100 }, { cluster, filter: `ec2InstanceId == ${instanceId}` })) {
    const arns = page.containerInstanceArns ?? [];
    if (arns.length > 0) {
      const described = await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }));
      const match = described.containerInstances?.find((ci) => ci.ec2InstanceId === instanceId && ci.status !== 'INACTIVE');
      if (match?.containerInstanceArn) return match.containerInstanceArn;
    }
  }
  return null;
}

export async function heartbeatTimeoutOf(asg: AutoScalingClient, action: LifecycleAction): Promise<number> {
  const hooks = await asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: action.autoScalingGroupName, LifecycleHookNames: [action.lifecycleHookName] }));
  const hook = hooks.LifecycleHooks?.find((h) => h.LifecycleHookName === action.lifecycleHookName);
  if (!hook) return MIN_HEARTBEAT_TIMEOUT;
  return hook.HeartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
}

export interface FindOptions {
  cluster: string;
  maxSeconds: number;
  nowMs: number;
}

/** First step: the container instance to drain and the drain's timing, as a fresh DrainState. */
export async function findDrain(clients: { ecs: ECSClient; asg: AutoScalingClient }, action: LifecycleAction, options: FindOptions): Promise<DrainState> {
  const containerInstanceArn = await findContainerInstance(clients.ecs, options.cluster, action.instanceId);
  const heartbeatTimeout = containerInstanceArn ? await heartbeatTimeoutOf(clients.asg, action) : DEFAULT_HEARTBEAT_TIMEOUT;
  return {
    instanceId: action.instanceId,
    autoScalingGroupName: action.autoScalingGroupName,
    lifecycleHookName: action.lifecycleHookName,
    lifecycleActionToken: action.lifecycleActionToken,
    containerInstanceArn,
    heartbeatTimeout,
    waitSeconds: waitSecondsFor(heartbeatTimeout),
    maxSeconds: options.maxSeconds,
    startedAtMs: options.nowMs,
    lastHeartbeatAtMs: options.nowMs,
    waitedSeconds: 0,
    elapsedSeconds: 0,
    checks: 0,
    heartbeats: 0,
    runningTasks: 0,
    standaloneTasksStopped: 0,
    phase: containerInstanceArn ? 'draining' : 'no-instance',
  };
}
