// AWS calls: ecs:RegisterTaskDefinition, ecs:TagResource, iam:PassRole, logs:CreateLogGroup, logs:PutRetentionPolicy, logs:TagResource, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:Query
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import type { Context } from 'aws-lambda';
import { makeClient } from '../../shared/aws/clients.js';
import { storeFromEnv } from '../../shared/aws/deps.js';
import { env } from '../../shared/config.js';
import { release } from '../../shared/deploy/release.js';
import { withTiming, type DeployState } from '../../shared/deploy/state.js';
import { lambda } from '../../shared/handler.js';
import { accountOf, rackFromEnv } from '../../shared/rack.js';

const ecs = makeClient(ECSClient);
const logs = makeClient(CloudWatchLogsClient);
const store = storeFromEnv();
const rack = rackFromEnv();
const executionRoleArn = env('EXECUTION_ROLE_ARN');
const taskRoleArn = env('TASK_ROLE_ARN', '');

export const handler = lambda('release', async (state: DeployState, context: Context) => {
  const started = Date.now();
  // the build ran between Prepare's end and now
  const prepared = state.timings.at(-1);
  const timed = state.build?.result && prepared ? withTiming(state, 'Build', Date.parse(prepared.startedAt) + prepared.durationMs) : state;
  const released = await release(timed, {
    ecs,
    logs,
    store,
    rack,
    accountId: accountOf(context?.invokedFunctionArn),
    executionRoleArn,
    ...(taskRoleArn ? { taskRoleArn } : {}),
  });
  return withTiming(released, 'Release', started);
});
