// AWS calls: ecs:DescribeServices, ecs:UpdateService, ecs:DeleteService, ecs:DescribeTaskDefinition, ecs:RegisterTaskDefinition, ecs:TagResource, iam:PassRole, elasticloadbalancing:DescribeTargetGroups, elasticloadbalancing:DescribeTags, elasticloadbalancing:DescribeRules, elasticloadbalancing:DeleteRule, elasticloadbalancing:CreateRule, elasticloadbalancing:AddTags, elasticloadbalancing:ModifyTargetGroup, elasticloadbalancing:ModifyTargetGroupAttributes, elasticloadbalancing:DeleteTargetGroup, cloudwatch:DescribeAlarms, cloudwatch:PutMetricAlarm, cloudwatch:DeleteAlarms, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:Query
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, storeOf } from '../../shared/aws/deps.js';
import { configOf, type Env } from '../../shared/config.js';
import { type RollbackDeps, rollback } from '../../shared/deploy/rollback.js';
import { type DeployState, withTiming } from '../../shared/deploy/state.js';
import { production } from '../../shared/handler.js';
import { deployStep } from '../../shared/queue/lease.js';
import { rackOf } from '../../shared/rack.js';

export type Deps = RollbackDeps & { now: Clock };

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): Deps {
  const config = configOf(env);
  return { ecs: aws(ECSClient), elb: aws(ElasticLoadBalancingV2Client), cloudwatch: aws(CloudWatchClient), store: storeOf(config, aws, now), rack: rackOf(config), now };
}

export function makeHandler(deps: Deps) {
  return deployStep('rollback', deps, async (state: DeployState) => {
    const started = deps.now();
    return withTiming(await rollback(state, deps), 'Rollback', started, deps.now());
  });
}

export const handler = production({ depsFromEnv, makeHandler });
