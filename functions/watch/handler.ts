// AWS calls: ecs:DescribeServices, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, states:SendTaskSuccess, states:SendTaskFailure
import { ECSClient } from '@aws-sdk/client-ecs';
import { makeClient } from '../../shared/aws/clients.js';
import { sfnFromEnv, storeFromEnv } from '../../shared/aws/deps.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { startWatch } from '../../shared/deploy/watch.js';
import { lambda } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';
import { rackFromEnv } from '../../shared/rack.js';

const deps = { ecs: makeClient(ECSClient), store: storeFromEnv(), sender: sfnFromEnv().sender, rack: rackFromEnv() };

/** Watch step (waitForTaskToken): park the token where ECS events will find it, then re-check once. */
export const handler = lambda('watch', async (event: { token: string; state: DeployState }) => {
  const verdict = await startWatch(event.state, event.token, deps);
  logger.info('watch registered', { app: event.state.app, execution: event.state.execution, verdict: verdict.status });
  return { verdict: verdict.status };
});
