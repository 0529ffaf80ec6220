// AWS calls: ecr:DescribeImages, ecs:RegisterTaskDefinition, ecs:TagResource, iam:GetRole, iam:CreateRole, iam:TagRole, iam:PutRolePolicy, iam:ListAttachedRolePolicies, iam:AttachRolePolicy, iam:DetachRolePolicy, iam:PassRole, logs:CreateLogGroup, logs:ListTagsForResource, logs:PutRetentionPolicy, logs:TagResource, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:Query
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { IAMClient } from '@aws-sdk/client-iam';
import type { Context } from 'aws-lambda';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, storeOf } from '../../shared/aws/deps.js';
import { configOf, type Env } from '../../shared/config.js';
import { type ReleaseDeps, release } from '../../shared/deploy/release.js';
import { imageResolver } from '../../shared/images/resolve.js';
import { type DeployState, withTiming } from '../../shared/deploy/state.js';
import { production } from '../../shared/handler.js';
import { deployStep } from '../../shared/queue/lease.js';
import { accountOf, partitionOf, rackOf } from '../../shared/rack.js';

/** Release's dependencies but the account and partition, which come from the invocation's ARN. */
export type Deps = Omit<ReleaseDeps, 'accountId' | 'partition'>;

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): Deps {
  const config = configOf(env);
  return {
    ecs: aws(ECSClient),
    logs: aws(CloudWatchLogsClient),
    store: storeOf(config, aws, now),
    rack: rackOf(config),
    iam: aws(IAMClient),
    images: imageResolver({ ecr: aws(ECRClient), region: config.str('AWS_REGION', 'us-east-1') }),
    boundaryArn: config.str('APP_BOUNDARY_ARN'),
    now,
  };
}

export function makeHandler(deps: Deps) {
  return deployStep('release', deps, async (state: DeployState, context: Context) => {
    const started = deps.now();
    // the build ran between Prepare's end and now
    const prepared = state.timings.at(-1);
    const timed = state.build?.result && prepared ? withTiming(state, 'Build', Date.parse(prepared.startedAt) + prepared.durationMs, started) : state;
    const released = await release(timed, { ...deps, accountId: accountOf(context?.invokedFunctionArn), partition: partitionOf(context?.invokedFunctionArn) });
    return withTiming(released, 'Release', started, deps.now());
  });
}

export const handler = production({ depsFromEnv, makeHandler });
