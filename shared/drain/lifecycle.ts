import { CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { LifecycleAction } from './types.js';

/**
 * Auto Scaling answers ValidationError "No active Lifecycle Action found" once the action was
 * completed (by a retry of ours, or by hand) or expired: the instance is leaving either way.
 */
export function isLifecycleActionGone(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationError' && /no active lifecycle action/i.test(error.message);
}

export type LifecycleCallResult = 'done' | 'gone';

/** The lifecycle action both calls name. */
function lifecycleTarget(action: LifecycleAction) {
  return {
    AutoScalingGroupName: action.autoScalingGroupName,
    LifecycleHookName: action.lifecycleHookName,
    LifecycleActionToken: action.lifecycleActionToken,
    InstanceId: action.instanceId,
  };
}

export async function recordHeartbeat(asg: AutoScalingClient, action: LifecycleAction): Promise<LifecycleCallResult> {
  try {
    await asg.send(new RecordLifecycleActionHeartbeatCommand(lifecycleTarget(action)));
    return 'done';
  } catch (error) {
    if (isLifecycleActionGone(error)) return 'gone';
    throw error;
  }
}

/** Always CONTINUE: ABANDON would skip the other hooks on the instance, ECS's own draining included. */
export async function continueLifecycleAction(asg: AutoScalingClient, action: LifecycleAction): Promise<LifecycleCallResult> {
  try {
    await asg.send(new CompleteLifecycleActionCommand({ ...lifecycleTarget(action), LifecycleActionResult: 'CONTINUE' }));
    return 'done';
  } catch (error) {
    if (isLifecycleActionGone(error)) return 'gone';
    throw error;
  }
}
