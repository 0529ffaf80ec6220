// AWS calls: dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:Query, states:SendTaskSuccess, states:SendTaskFailure, sns:Publish, logs:GetLogEvents
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SNSClient } from '@aws-sdk/client-sns';
import type { EventBridgeEvent } from 'aws-lambda';
import { ServiceAlarms, type ServiceAlarmsDeps } from '../../shared/alarms/service-alarms.js';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, senderOf, storeOf } from '../../shared/aws/deps.js';
import { configOf, type Env } from '../../shared/config.js';
import { parseEcsEvent } from '../../shared/events/classify.js';
import { lambda, production } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';
import { recordDeploymentEvent, recordTaskStop, type TaskTokenSender } from '../../shared/watch/watch.js';

export type Deps = ServiceAlarmsDeps & { sender: TaskTokenSender };

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): Deps {
  const config = configOf(env);
  return {
    store: storeOf(config, aws, now),
    sender: senderOf(aws),
    sns: aws(SNSClient),
    logs: aws(CloudWatchLogsClient),
    topicArn: config.str('TOPIC_ARN'),
    rack: config.str('RACK_NAME'),
    logGroupPrefix: config.str('LOG_GROUP_PREFIX'),
    windowSeconds: config.int('ALARM_WINDOW_SECONDS', 300),
    now,
  };
}

/**
 * ECS Task State Change / Deployment State Change / Service Action. Outcomes are recorded as they
 * arrive and resume the deploy that watches them (shared/watch: the one mechanism); then the
 * service's alarms are raised or cleared (shared/alarms).
 */
export function makeHandler(deps: Deps) {
  const { store, sender } = deps;
  const alarms = new ServiceAlarms(deps);
  return lambda('task-events', async (event: EventBridgeEvent<string, unknown>) => {
    const parsed = parseEcsEvent(event);
    switch (parsed.type) {
      case 'deployment': {
        const d = parsed.deployment;
        const verdict = await recordDeploymentEvent(store, sender, d.deploymentId, { outcome: d.outcome, ...(d.reason ? { reason: d.reason } : {}) });
        const alarm = d.outcome === 'completed' ? await alarms.onServiceStable(d.service, `deployment ${d.deploymentId} completed`) : undefined;
        return { type: 'deployment', deploymentId: d.deploymentId, outcome: d.outcome, verdict: verdict?.status, ...(alarm ? { alarm: alarm.action } : {}) };
      }
      case 'task': {
        const stop = parsed.stop;
        if (!stop) return { type: 'task', stopped: false };
        // the watch first: a failing deploy must not wait on the alarm's SNS and log reads
        const verdict = stop.expected
          ? undefined
          : await recordTaskStop(store, sender, stop.taskDefinitionArn, {
              taskArn: stop.taskArn,
              cause: stop.cause,
              summary: stop.summary,
              ...(stop.evidence.stoppedReason ? { stoppedReason: stop.evidence.stoppedReason } : {}),
              ...(stop.evidence.exitCode !== undefined ? { exitCode: stop.evidence.exitCode } : {}),
              ...(stop.evidence.oom ? { oom: true } : {}),
              ...(stop.evidence.healthCheck ? { healthCheck: stop.evidence.healthCheck } : {}),
              ...(stop.evidence.container ? { container: stop.evidence.container } : {}),
            });
        const alarm = await alarms.onTaskStop(stop);
        if (alarm.action === 'ignored') logger.debug('no alarm for task stop', { taskArn: stop.taskArn, reason: alarm.reason });
        return { type: 'task', expected: stop.expected, cause: stop.cause, verdict: verdict?.status, alarm: alarm.action };
      }
      case 'service-action': {
        const alarm = await alarms.onServiceAction(parsed.action);
        return { type: 'service-action', event: parsed.action.eventName, alarm: alarm.action };
      }
      default:
        logger.debug('ignored event', { reason: parsed.reason });
        return { type: 'ignored', reason: parsed.reason };
    }
  });
}

export const handler = production({ depsFromEnv, makeHandler });
