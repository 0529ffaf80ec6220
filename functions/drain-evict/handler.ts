// AWS calls: ecs:UpdateContainerInstancesState, ecs:ListTasks, ecs:DescribeTasks, ecs:StopTask
import middy from '@middy/core';
import { ECSClient } from '@aws-sdk/client-ecs';
import { makeClient } from '../../shared/aws/clients.js';
import { env } from '../../shared/config.js';
import { toTransient } from '../../shared/errors.js';
import { startDraining } from '../../shared/drain/evict.js';
import type { DrainState } from '../../shared/drain/types.js';

const cluster = env('CLUSTER');
const ecs = makeClient(ECSClient);

export const handler = middy<DrainState, DrainState>().handler(async (state) => {
  try {
    return await startDraining(ecs, cluster, state);
  } catch (error) {
    throw toTransient(error);
  }
});
