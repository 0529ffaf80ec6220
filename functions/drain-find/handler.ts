// AWS calls: ecs:ListContainerInstances, ecs:DescribeContainerInstances, autoscaling:DescribeLifecycleHooks
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import type { ClientFactory } from '../../shared/aws/clients.js';
import type { Clock } from '../../shared/aws/deps.js';
import { configOf, type Env } from '../../shared/config.js';
import { findDrain } from '../../shared/drain/find.js';
import type { DrainState, LifecycleAction } from '../../shared/drain/types.js';
import { lambda, production } from '../../shared/handler.js';

export interface Deps {
  ecs: ECSClient;
  asg: AutoScalingClient;
  cluster: string;
  maxSeconds: number;
  now: Clock;
}

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): Deps {
  const config = configOf(env);
  return { ecs: aws(ECSClient), asg: aws(AutoScalingClient), cluster: config.str('CLUSTER'), maxSeconds: config.int('DRAIN_MAX_SECONDS', 900), now };
}

export function makeHandler(deps: Deps) {
  return lambda(
    'drain-find',
    async (action: LifecycleAction): Promise<DrainState> => findDrain(deps, action, { cluster: deps.cluster, maxSeconds: deps.maxSeconds, nowMs: deps.now() }),
  );
}

export const handler = production({ depsFromEnv, makeHandler });
