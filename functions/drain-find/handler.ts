// AWS calls: ecs:ListContainerInstances, ecs:DescribeContainerInstances, autoscaling:DescribeLifecycleHooks
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { makeClient } from '../../shared/aws/clients.js';
import { env, envInt } from '../../shared/config.js';
import { findDrain } from '../../shared/drain/find.js';
import type { DrainState, LifecycleAction } from '../../shared/drain/types.js';
import { lambda } from '../../shared/handler.js';

const cluster = env('CLUSTER');
const maxSeconds = envInt('DRAIN_MAX_SECONDS', 900);
const clients = { ecs: makeClient(ECSClient), asg: makeClient(AutoScalingClient) };

export const handler = lambda('drain-find', async (action: LifecycleAction): Promise<DrainState> => findDrain(clients, action, { cluster, maxSeconds, nowMs: Date.now() }));
