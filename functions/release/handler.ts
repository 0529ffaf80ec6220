// AWS calls: ecs:RegisterTaskDefinition, ecs:TagResource, iam:PassRole, logs:CreateLogGroup, logs:ListTagsForResource, logs:PutRetentionPolicy, logs:TagResource, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:Query
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import type { Context } from 'aws-lambda';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, storeOf } from '../../shared/aws/deps.js';
import type { Store } from '../../shared/aws/store.js';
import { configOf, type Env } from '../../shared/config.js';
import { release } from '../../shared/deploy/release.js';
import { type DeployState, withTiming } from '../../shared/deploy/state.js';
import { lambda, production } from '../../shared/handler.js';
import { accountOf, partitionOf, type Rack, rackOf } from '../../shared/rack.js';

export interface Deps {
  ecs: ECSClient;
  logs: CloudWatchLogsClient;
  store: Store;
  rack: Rack;
  executionRoleArn: string;
  taskRoleArn: string;
  now: Clock;
}

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): Deps {
  const config = configOf(env);
  return {
    ecs: aws(ECSClient),
    logs: aws(CloudWatchLogsClient),
    store: storeOf(config, aws, now),
    rack: rackOf(config),
    executionRoleArn: config.str('EXECUTION_ROLE_ARN'),
    taskRoleArn: config.str('TASK_ROLE_ARN', ''),
    now,
  };
}

export function makeHandler(deps: Deps) {
  return lambda('release', async (state: DeployState, context: Context) => {
    const started = deps.now();
    // the build ran between Prepare's end and now
    const prepared = state.timings.at(-1);
    const timed = state.build?.result && prepared ? withTiming(state, 'Build', Date.parse(prepared.startedAt) + prepared.durationMs, started) : state;
    const { taskRoleArn, ...rest } = deps;
    const released = await release(timed, {
      ...rest,
      accountId: accountOf(context?.invokedFunctionArn),
      partition: partitionOf(context?.invokedFunctionArn),
      ...(taskRoleArn ? { taskRoleArn } : {}),
    });
    return withTiming(released, 'Release', started, deps.now());
  });
}

export const handler = production({ depsFromEnv, makeHandler });
