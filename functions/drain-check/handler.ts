// AWS calls: ecs:DescribeContainerInstances, autoscaling:RecordLifecycleActionHeartbeat
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { makeClient } from '../../shared/aws/clients.js';
import { env } from '../../shared/config.js';
import { checkDrain } from '../../shared/drain/check.js';
import type { DrainState } from '../../shared/drain/types.js';
import { lambda } from '../../shared/handler.js';

const cluster = env('CLUSTER');
const clients = { ecs: makeClient(ECSClient), asg: makeClient(AutoScalingClient) };

export const handler = lambda('drain-check', async (state: DrainState): Promise<DrainState> => checkDrain(clients, cluster, state, Date.now()));
