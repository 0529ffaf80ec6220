// AWS calls: ecs:UpdateContainerInstancesState, ecs:ListTasks, ecs:DescribeTasks, ecs:StopTask
import { ECSClient } from '@aws-sdk/client-ecs';
import { makeClient } from '../../shared/aws/clients.js';
import { env } from '../../shared/config.js';
import { startDraining } from '../../shared/drain/evict.js';
import type { DrainState } from '../../shared/drain/types.js';
import { lambda } from '../../shared/handler.js';

const cluster = env('CLUSTER');
const ecs = makeClient(ECSClient);

export const handler = lambda('drain-evict', async (state: DrainState): Promise<DrainState> => startDraining(ecs, cluster, state));
