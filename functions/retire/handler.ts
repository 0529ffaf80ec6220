// AWS calls: ecs:DescribeServices, ecs:UpdateService, ecs:DeleteService, elasticloadbalancing:DescribeTargetGroups, elasticloadbalancing:DescribeRules, elasticloadbalancing:DeleteRule, elasticloadbalancing:DeleteTargetGroup, cloudwatch:DeleteAlarms, dynamodb:GetItem
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { makeClient } from '../../shared/aws/clients.js';
import { storeFromEnv } from '../../shared/aws/deps.js';
import { retire } from '../../shared/deploy/retire.js';
import { withTiming, type DeployState } from '../../shared/deploy/state.js';
import { lambda } from '../../shared/handler.js';
import { rackFromEnv } from '../../shared/rack.js';

const deps = {
  ecs: makeClient(ECSClient),
  elb: makeClient(ElasticLoadBalancingV2Client),
  cloudwatch: makeClient(CloudWatchClient),
  store: storeFromEnv(),
  rack: rackFromEnv(),
};

/** Retire: delete the services the new manifest dropped, once the new release is serving. */
export const handler = lambda('retire', async (state: DeployState) => {
  const started = Date.now();
  const retired = await retire(state, deps);
  return retired.retired?.length ? withTiming(retired, 'Retire', started) : retired;
});
