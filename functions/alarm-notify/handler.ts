// AWS calls: sns:Publish
import { SNSClient } from '@aws-sdk/client-sns';
import type { SNSEvent } from 'aws-lambda';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { publish } from '../../shared/aws/sns.js';
import { configOf, type Env } from '../../shared/config.js';
import { lambda, production } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';
import { parseCloudWatchAlarm } from '../../shared/notify/render.js';

export interface Deps {
  sns: SNSClient;
  topicArn: string;
  rack: string;
}

export function depsFromEnv(env: Env, aws: ClientFactory): Deps {
  const config = configOf(env);
  return { sns: aws(SNSClient), topicArn: config.str('TOPIC_ARN'), rack: config.str('RACK_NAME') };
}

export type AlarmNotifyResult =
  | { messageId: string; status: 'published'; alarm: string; app?: string; service?: string }
  | { messageId: string; status: 'dropped'; reason: string };

/**
 * Subscribed to the alarms topic CloudWatch publishes to: each raw alarm is rendered like every other
 * notification and sent on to the notification topic. A message that is not an alarm is dropped with
 * its reason; throwing would only make SNS redeliver it, unchanged, until it gives up.
 */
export function makeHandler(deps: Deps) {
  return lambda('alarm-notify', async (event: SNSEvent): Promise<AlarmNotifyResult[]> => {
    const results: AlarmNotifyResult[] = [];
    for (const record of event.Records ?? []) {
      const messageId = record.Sns?.MessageId ?? 'unknown';
      let notification: ReturnType<typeof parseCloudWatchAlarm>;
      try {
        notification = parseCloudWatchAlarm(record.Sns?.Message ?? '', { rack: deps.rack });
      } catch (error) {
        const reason = (error as Error).message;
        logger.warn('dropped a message that is not a CloudWatch alarm', { messageId, reason, subject: record.Sns?.Subject });
        results.push({ messageId, status: 'dropped', reason });
        continue;
      }
      await publish(deps.sns, deps.topicArn, notification);
      results.push({
        messageId,
        status: 'published',
        alarm: notification.alarmName,
        ...(notification.app ? { app: notification.app } : {}),
        ...(notification.service ? { service: notification.service } : {}),
      });
    }
    return results;
  });
}

export const handler = production({ depsFromEnv, makeHandler });
