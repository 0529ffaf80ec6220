// AWS calls: s3:GetObject, s3:GetObjectVersion, ecr:DescribeRepositories, ecr:CreateRepository, ecr:PutLifecyclePolicy, ecr:TagResource, elasticloadbalancing:DescribeRules, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem
import { ECRClient } from '@aws-sdk/client-ecr';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { S3Client } from '@aws-sdk/client-s3';
import { makeClient } from '../../shared/aws/clients.js';
import { storeFromEnv } from '../../shared/aws/deps.js';
import { env } from '../../shared/config.js';
import { prepare } from '../../shared/deploy/prepare.js';
import { withTiming, type DeployState } from '../../shared/deploy/state.js';
import { lambda } from '../../shared/handler.js';
import { rackFromEnv } from '../../shared/rack.js';

const deps = {
  s3: makeClient(S3Client),
  ecr: makeClient(ECRClient),
  elb: makeClient(ElasticLoadBalancingV2Client),
  store: storeFromEnv(),
  rack: rackFromEnv(),
  codebuildProject: env('CODEBUILD_PROJECT'),
};

export const handler = lambda('prepare', async (state: DeployState) => {
  const started = Date.now();
  return withTiming(await prepare(state, deps), 'Prepare', started);
});
