// AWS calls: s3:GetObject, s3:GetObjectVersion, ecr:DescribeRepositories, ecr:CreateRepository, ecr:PutLifecyclePolicy, ecr:TagResource, elasticloadbalancing:DescribeRules, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:Query
import { ECRClient } from '@aws-sdk/client-ecr';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { S3Client } from '@aws-sdk/client-s3';
import { makeClient } from '../../shared/aws/clients.js';
import { storeFromEnv } from '../../shared/aws/deps.js';
import { env, envInt } from '../../shared/config.js';
import { prepare } from '../../shared/deploy/prepare.js';
import { withTiming, type DeployState } from '../../shared/deploy/state.js';
import { lambda } from '../../shared/handler.js';
import { rackFromEnv } from '../../shared/rack.js';
import { DEFAULT_LIMITS } from '../../shared/tarball/scan.js';

const deps = {
  s3: makeClient(S3Client),
  ecr: makeClient(ECRClient),
  elb: makeClient(ElasticLoadBalancingV2Client),
  store: storeFromEnv(),
  rack: rackFromEnv(),
  codebuildProject: env('CODEBUILD_PROJECT'),
  limits: {
    maxEntries: envInt('TARBALL_MAX_ENTRIES', DEFAULT_LIMITS.maxEntries),
    maxBytes: envInt('TARBALL_MAX_BYTES', DEFAULT_LIMITS.maxBytes),
    maxRatio: envInt('TARBALL_MAX_RATIO', DEFAULT_LIMITS.maxRatio),
  },
};

export const handler = lambda('prepare', async (state: DeployState) => {
  const started = Date.now();
  return withTiming(await prepare(state, deps), 'Prepare', started);
});
