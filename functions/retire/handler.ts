// AWS calls: ecs:DescribeServices, ecs:UpdateService, ecs:DeleteService, elasticloadbalancing:DescribeTargetGroups, elasticloadbalancing:DescribeTags, elasticloadbalancing:DescribeRules, elasticloadbalancing:DeleteRule, elasticloadbalancing:DeleteTargetGroup, cloudwatch:DescribeAlarms, cloudwatch:ListTagsForResource, cloudwatch:DeleteAlarms, dynamodb:GetItem, dynamodb:UpdateItem
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, storeOf } from '../../shared/aws/deps.js';
import { configOf, type Env } from '../../shared/config.js';
import { type RetireDeps, retire } from '../../shared/deploy/retire.js';
import { type DeployState, withTiming } from '../../shared/deploy/state.js';
import { production } from '../../shared/handler.js';
import { deployStep } from '../../shared/queue/lease.js';
import { rackOf } from '../../shared/rack.js';

export type Deps = RetireDeps & { now: Clock };

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): Deps {
  const config = configOf(env);
  return {
    ecs: aws(ECSClient),
    elb: aws(ElasticLoadBalancingV2Client),
    cloudwatch: aws(CloudWatchClient),
    store: storeOf(config, aws, now),
    rack: rackOf(config),
    now,
  };
}

/** Retire: delete the services the new manifest dropped, once the new release is serving. */
export function makeHandler(deps: Deps) {
  return deployStep('retire', deps, async (state: DeployState) => {
    const started = deps.now();
    const retired = await retire(state, deps);
    return retired.retired?.length ? withTiming(retired, 'Retire', started, deps.now()) : retired;
  });
}

export const handler = production({ depsFromEnv, makeHandler });
