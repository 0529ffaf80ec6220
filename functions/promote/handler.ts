// AWS calls: ecs:DescribeServices, ecs:CreateService, ecs:UpdateService, ecs:TagResource, elasticloadbalancing:DescribeTargetGroups, elasticloadbalancing:CreateTargetGroup, elasticloadbalancing:ModifyTargetGroup, elasticloadbalancing:ModifyTargetGroupAttributes, elasticloadbalancing:DescribeRules, elasticloadbalancing:CreateRule, elasticloadbalancing:DeleteRule, elasticloadbalancing:AddTags, cloudwatch:PutMetricAlarm, cloudwatch:DeleteAlarms, cloudwatch:TagResource, dynamodb:UpdateItem
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { putServiceAlarms } from '../../shared/aws/alarms.js';
import { makeClient } from '../../shared/aws/clients.js';
import { storeFromEnv } from '../../shared/aws/deps.js';
import { env } from '../../shared/config.js';
import { promote } from '../../shared/deploy/promote.js';
import { withTiming, type DeployState } from '../../shared/deploy/state.js';
import { lambda } from '../../shared/handler.js';
import { rackFromEnv } from '../../shared/rack.js';

const ecs = makeClient(ECSClient);
const elb = makeClient(ElasticLoadBalancingV2Client);
const cloudwatch = makeClient(CloudWatchClient);
const store = storeFromEnv();
const rack = rackFromEnv();
const alarmTopicArn = env('ALARM_TOPIC_ARN');

export const handler = lambda('promote', async (state: DeployState) => {
  const started = Date.now();
  const promoted = await promote(state, {
    ecs,
    elb,
    store,
    rack,
    afterService: (service, current) => putServiceAlarms(cloudwatch, { rack, app: current.app, service, manifest: current.manifest!, alarmTopicArn }),
  });
  return withTiming(promoted, 'Promote', started);
});
