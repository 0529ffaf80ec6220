import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { SNSClient } from '@aws-sdk/client-sns';
import { publish } from '../aws/sns.js';
import { parseFailure } from '../errors.js';
import type { Notification } from '../notify/types.js';
import { drainOutcome } from './decision.js';
import { continueLifecycleAction } from './lifecycle.js';
import type { CompleteInput, DrainOutcome } from './types.js';

export type DrainResult = CompleteInput & {
  outcome: DrainOutcome;
  lifecycleActionResult: 'CONTINUE';
  /** 'gone': Auto Scaling had already completed or expired the action */
  lifecycleAction: 'completed' | 'gone';
  notificationMessageId?: string;
};

/** The warning for a drain that ran out of time with tasks still on the instance, or whose steps failed. */
export function drainWarning(state: CompleteInput, status: 'timed-out' | 'failed'): Notification {
  const failure = status === 'failed' ? parseFailure(state.failure) : undefined;
  return {
    kind: 'drain',
    status,
    instanceId: state.instanceId,
    autoScalingGroup: state.autoScalingGroupName,
    tasksLeft: state.runningTasks ?? 0,
    waitedSeconds: state.elapsedSeconds ?? 0,
    ...(failure ? { reason: `${failure.error}: ${failure.message}` } : {}),
  };
}

/**
 * Every path of the drain ends here: CONTINUE first (the instance matters more than the message),
 * then the warning when the drain timed out or a step failed. A retry finds the action gone and only publishes.
 */
export async function completeDrain(clients: { asg: AutoScalingClient; sns: SNSClient }, topicArn: string, state: CompleteInput): Promise<DrainResult> {
  const outcome = drainOutcome(state);
  const lifecycleAction = outcome === 'lifecycle-action-gone' ? 'gone' : await continueLifecycleAction(clients.asg, state);
  const result: DrainResult = { ...state, outcome, lifecycleActionResult: 'CONTINUE', lifecycleAction: lifecycleAction === 'done' ? 'completed' : 'gone' };
  if (outcome !== 'timed-out' && outcome !== 'failed') return result;
  const published = await publish(clients.sns, topicArn, drainWarning(state, outcome));
  return { ...result, ...(published.messageId ? { notificationMessageId: published.messageId } : {}) };
}
