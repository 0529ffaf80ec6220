// AWS calls: ecs:DescribeContainerInstances, autoscaling:RecordLifecycleActionHeartbeat
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import type { ClientFactory } from '../../shared/aws/clients.js';
import type { Clock } from '../../shared/aws/deps.js';
import { configOf, type Env } from '../../shared/config.js';
import { checkDrain } from '../../shared/drain/check.js';
import type { DrainState } from '../../shared/drain/types.js';
import { lambda, production } from '../../shared/handler.js';

export interface Deps {
  ecs: ECSClient;
  asg: AutoScalingClient;
  cluster: string;
  now: Clock;
}

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): Deps {
  return { ecs: aws(ECSClient), asg: aws(AutoScalingClient), cluster: configOf(env).str('CLUSTER'), now };
}

export function makeHandler(deps: Deps) {
  return lambda('drain-check', async (state: DrainState): Promise<DrainState> => checkDrain(deps, deps.cluster, state, deps.now()));
}

export const handler = production({ depsFromEnv, makeHandler });
