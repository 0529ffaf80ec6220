// AWS calls: s3:GetObject, s3:GetObjectVersion, s3:PutObject, s3:AbortMultipartUpload, s3:DeleteObject, s3:DeleteObjectVersion, ecr:DescribeRepositories, ecr:CreateRepository, ecr:PutLifecyclePolicy, ecr:TagResource, ecr:ListTagsForResource, ecr:PutImageTagMutability, ecr:DescribeImages, elasticloadbalancing:DescribeRules, elasticloadbalancing:DescribeAccountLimits, iam:GetPolicy, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:Query
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { S3Client } from '@aws-sdk/client-s3';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, storeOf } from '../../shared/aws/deps.js';
import { configOf, type Env } from '../../shared/config.js';
import { type PrepareDeps, prepare } from '../../shared/deploy/prepare.js';
import { type DeployState, withTiming } from '../../shared/deploy/state.js';
import { production } from '../../shared/handler.js';
import { deployStep } from '../../shared/queue/lease.js';
import { accountOf, partitionOf, rackOf } from '../../shared/rack.js';
import { imageResolver } from '../../shared/images/resolve.js';
import type { Context } from 'aws-lambda';
import { DEFAULT_LIMITS } from '../../shared/tarball/scan.js';

export type Deps = PrepareDeps & { now: Clock };

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): Deps {
  const config = configOf(env);
  return {
    s3: aws(S3Client),
    iam: aws(IAMClient),
    ecr: aws(ECRClient),
    images: imageResolver({ ecr: aws(ECRClient), region: config.str('AWS_REGION', 'us-east-1') }),
    elb: aws(ElasticLoadBalancingV2Client),
    store: storeOf(config, aws, now),
    rack: rackOf(config),
    codebuildProject: config.str('CODEBUILD_PROJECT'),
    limits: {
      maxEntries: config.int('TARBALL_MAX_ENTRIES', DEFAULT_LIMITS.maxEntries),
      maxBytes: config.int('TARBALL_MAX_BYTES', DEFAULT_LIMITS.maxBytes),
      maxRatio: config.int('TARBALL_MAX_RATIO', DEFAULT_LIMITS.maxRatio),
    },
    now,
  };
}

export function makeHandler(deps: Deps) {
  return deployStep('prepare', deps, async (state: DeployState, context: Context) => {
    const started = deps.now();
    return withTiming(
      await prepare(state, {
        ...deps,
        accountId: accountOf(context?.invokedFunctionArn),
        partition: partitionOf(context?.invokedFunctionArn),
        // the tarball must be read with time to spare for the rest of Prepare (and its error)
        ...(typeof context?.getRemainingTimeInMillis === 'function' ? { deadline: deps.now() + context.getRemainingTimeInMillis() - 30_000 } : {}),
      }),
      'Prepare',
      started,
      deps.now(),
    );
  });
}

export const handler = production({ depsFromEnv, makeHandler });
