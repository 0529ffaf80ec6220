// AWS calls: ecs:DescribeContainerInstances, autoscaling:RecordLifecycleActionHeartbeat
import middy from '@middy/core';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { makeClient } from '../../shared/aws/clients.js';
import { env } from '../../shared/config.js';
import { toTransient } from '../../shared/errors.js';
import { checkDrain } from '../../shared/drain/check.js';
import type { DrainState } from '../../shared/drain/types.js';

const cluster = env('CLUSTER');
const clients = { ecs: makeClient(ECSClient), asg: makeClient(AutoScalingClient) };

export const handler = middy<DrainState, DrainState>().handler(async (state) => {
  try {
    return await checkDrain(clients, cluster, state, Date.now());
  } catch (error) {
    throw toTransient(error);
  }
});
