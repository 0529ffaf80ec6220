// AWS calls: ecs:DescribeServices, ecs:CreateService, ecs:UpdateService, ecs:TagResource, elasticloadbalancing:DescribeTargetGroups, elasticloadbalancing:DescribeTargetGroupAttributes, elasticloadbalancing:DescribeTags, elasticloadbalancing:CreateTargetGroup, elasticloadbalancing:ModifyTargetGroup, elasticloadbalancing:ModifyTargetGroupAttributes, elasticloadbalancing:DescribeRules, elasticloadbalancing:CreateRule, elasticloadbalancing:DeleteRule, elasticloadbalancing:AddTags, cloudwatch:DescribeAlarms, cloudwatch:ListTagsForResource, cloudwatch:PutMetricAlarm, cloudwatch:DeleteAlarms, cloudwatch:TagResource, dynamodb:UpdateItem, dynamodb:PutItem, dynamodb:GetItem
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, storeOf } from '../../shared/aws/deps.js';
import type { Store } from '../../shared/aws/store.js';
import { configOf, type Env } from '../../shared/config.js';
import { promote } from '../../shared/deploy/promote.js';
import { type DeployState, withTiming } from '../../shared/deploy/state.js';
import { production } from '../../shared/handler.js';
import { deployStep } from '../../shared/queue/lease.js';
import { type Rack, rackOf } from '../../shared/rack.js';

export interface Deps {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  cloudwatch: CloudWatchClient;
  store: Store;
  rack: Rack;
  alarmTopicArn: string;
  now: Clock;
}

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): Deps {
  const config = configOf(env);
  return {
    ecs: aws(ECSClient),
    elb: aws(ElasticLoadBalancingV2Client),
    cloudwatch: aws(CloudWatchClient),
    store: storeOf(config, aws, now),
    rack: rackOf(config),
    alarmTopicArn: config.str('ALARM_TOPIC_ARN'),
    now,
  };
}

export function makeHandler(deps: Deps) {
  return deployStep('promote', deps, async (state: DeployState) => {
    const started = deps.now();
    const promoted = await promote(state, deps);
    return withTiming(promoted, 'Promote', started, deps.now());
  });
}

export const handler = production({ depsFromEnv, makeHandler });
