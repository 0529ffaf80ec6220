// AWS calls: ecs:DescribeServices, ecs:UpdateService, dynamodb:GetItem, dynamodb:UpdateItem
import { ECSClient } from '@aws-sdk/client-ecs';
import { makeClient } from '../../shared/aws/clients.js';
import { storeFromEnv } from '../../shared/aws/deps.js';
import { rollback } from '../../shared/deploy/rollback.js';
import { withTiming, type DeployState } from '../../shared/deploy/state.js';
import { lambda } from '../../shared/handler.js';
import { rackFromEnv } from '../../shared/rack.js';

const deps = { ecs: makeClient(ECSClient), store: storeFromEnv(), rack: rackFromEnv() };

export const handler = lambda('rollback', async (state: DeployState) => {
  const started = Date.now();
  return withTiming(await rollback(state, deps), 'Rollback', started);
});
