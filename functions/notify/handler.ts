// AWS calls: sns:Publish, logs:GetLogEvents, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:Query, states:SendTaskSuccess, states:SendTaskFailure
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SNSClient } from '@aws-sdk/client-sns';
import { makeClient } from '../../shared/aws/clients.js';
import { sfnFromEnv, storeFromEnv } from '../../shared/aws/deps.js';
import { env } from '../../shared/config.js';
import { notify } from '../../shared/deploy/notify.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { lambda } from '../../shared/handler.js';
import { rackFromEnv } from '../../shared/rack.js';

const deps = {
  sns: makeClient(SNSClient),
  logs: makeClient(CloudWatchLogsClient),
  store: storeFromEnv(),
  sender: sfnFromEnv().sender,
  rack: rackFromEnv(),
  topicArn: env('TOPIC_ARN'),
};

/** Notify: record the outcome, publish it, hand the app's lock on. */
export const handler = lambda('notify', async (state: DeployState) => notify(state, deps));
