// AWS calls: sns:Publish, logs:GetLogEvents, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:BatchGetItem
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, senderOf, storeOf } from '../../shared/aws/deps.js';
import { dynamoIdempotency } from '../../shared/aws/idempotency.js';
import { configOf, type Env } from '../../shared/config.js';
import { type NotifyDeps, notify } from '../../shared/deploy/notify.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { production } from '../../shared/handler.js';
import { deployStep } from '../../shared/queue/lease.js';
import { rackOf } from '../../shared/rack.js';

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): NotifyDeps {
  const config = configOf(env);
  return {
    sns: aws(SNSClient),
    logs: aws(CloudWatchLogsClient),
    store: storeOf(config, aws, now),
    sender: senderOf(aws),
    rack: rackOf(config),
    topicArn: config.str('TOPIC_ARN'),
    idempotency: dynamoIdempotency(aws(DynamoDBClient), config.str('TABLE_NAME')),
    now,
  };
}

/** Notify: record the outcome and publish it, once per outcome however often it is retried. */
export function makeHandler(deps: NotifyDeps) {
  return deployStep('notify', deps, async (state: DeployState) => notify(state, deps));
}

export const handler = production({ depsFromEnv, makeHandler });
