// AWS calls: ecs:DescribeServices, dynamodb:GetItem, dynamodb:UpdateItem
import { ECSClient } from '@aws-sdk/client-ecs';
import { makeClient } from '../../shared/aws/clients.js';
import { sfnFromEnv, storeFromEnv } from '../../shared/aws/deps.js';
import { withTiming, type DeployState } from '../../shared/deploy/state.js';
import { verifyAtDeadline } from '../../shared/deploy/watch.js';
import { lambda } from '../../shared/handler.js';
import { rackFromEnv } from '../../shared/rack.js';

const deps = { ecs: makeClient(ECSClient), store: storeFromEnv(), sender: sfnFromEnv().sender, rack: rackFromEnv() };

/** Verify: the rollout deadline passed; one DescribeServices decides instead of failing blind. */
export const handler = lambda('verify', async (state: DeployState) => {
  const { failure: _timeout, ...rest } = state;
  const started = Date.now();
  return withTiming(await verifyAtDeadline(rest, deps), 'Verify', started);
});
