import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { renderNotification, toSnsAttributes } from '../notify/render.js';
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

/** The warning for a drain that ran out of time with tasks still on the instance. */
export function timedOutNotification(state: CompleteInput): Notification {
  return {
    kind: 'drain',
    status: 'timed-out',
    instanceId: state.instanceId,
    autoScalingGroup: state.autoScalingGroupName,
    tasksLeft: state.runningTasks ?? 0,
    waitedSeconds: state.elapsedSeconds ?? 0,
  };
}

/**
 * Every path of the drain ends here: CONTINUE first (the instance matters more than the message),
 * then the warning when the drain timed out. A retry finds the action gone and only publishes.
 */
export async function completeDrain(clients: { asg: AutoScalingClient; sns: SNSClient }, topicArn: string, state: CompleteInput): Promise<DrainResult> {
  const outcome = drainOutcome(state);
  const lifecycleAction = outcome === 'lifecycle-action-gone' ? 'gone' : await continueLifecycleAction(clients.asg, state);
  const result: DrainResult = { ...state, outcome, lifecycleActionResult: 'CONTINUE', lifecycleAction: lifecycleAction === 'done' ? 'completed' : 'gone' };
  if (outcome !== 'timed-out') return result;
  const rendered = renderNotification(timedOutNotification(state));
  const published = await clients.sns.send(new PublishCommand({
    TopicArn: topicArn,
    Subject: rendered.subject,
    Message: rendered.message,
    MessageAttributes: toSnsAttributes(rendered.attributes),
  }));
  return { ...result, notificationMessageId: published.MessageId };
}
