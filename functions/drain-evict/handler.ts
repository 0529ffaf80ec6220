// AWS calls: ecs:UpdateContainerInstancesState, ecs:ListTasks, ecs:DescribeTasks, ecs:StopTask
import { ECSClient } from '@aws-sdk/client-ecs';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { configOf, type Env } from '../../shared/config.js';
import { startDraining } from '../../shared/drain/evict.js';
import type { DrainState } from '../../shared/drain/types.js';
import { lambda, production } from '../../shared/handler.js';

export interface Deps {
  ecs: ECSClient;
  cluster: string;
}

export function depsFromEnv(env: Env, aws: ClientFactory): Deps {
  return { ecs: aws(ECSClient), cluster: configOf(env).str('CLUSTER') };
}

export function makeHandler(deps: Deps) {
  return lambda('drain-evict', async (state: DrainState): Promise<DrainState> => startDraining(deps.ecs, deps.cluster, state));
}

export const handler = production({ depsFromEnv, makeHandler });
