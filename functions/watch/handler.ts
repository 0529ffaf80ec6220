// AWS calls: ecs:DescribeServices, dynamodb:GetItem, dynamodb:UpdateItem, dynamodb:BatchGetItem, dynamodb:BatchWriteItem, states:SendTaskSuccess, states:SendTaskFailure
import { ECSClient } from '@aws-sdk/client-ecs';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, senderOf, storeOf } from '../../shared/aws/deps.js';
import { configOf, type Env } from '../../shared/config.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { startWatch, type WatchDeps } from '../../shared/deploy/watch.js';
import { lambda, production } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';
import { rackOf } from '../../shared/rack.js';

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): WatchDeps {
  const config = configOf(env);
  return { ecs: aws(ECSClient), store: storeOf(config, aws, now), sender: senderOf(aws), rack: rackOf(config) };
}

/** Watch step (waitForTaskToken): park the token where ECS events will find it, then re-check once. */
export function makeHandler(deps: WatchDeps) {
  return lambda('watch', async (event: { token: string; state: DeployState }) => {
    const verdict = await startWatch(event.state, event.token, deps);
    logger.info('watch registered', { app: event.state.app, execution: event.state.execution, verdict: verdict.status });
    return { verdict: verdict.status };
  });
}

export const handler = production({ depsFromEnv, makeHandler });
