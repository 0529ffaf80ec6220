// AWS calls: ecs:DescribeServices, dynamodb:GetItem, dynamodb:UpdateItem, dynamodb:BatchGetItem, dynamodb:BatchWriteItem, states:SendTaskSuccess, states:SendTaskFailure
import { ECSClient } from '@aws-sdk/client-ecs';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, senderOf, storeOf } from '../../shared/aws/deps.js';
import { configOf, type Env } from '../../shared/config.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { startWatch, type WatchDeps } from '../../shared/deploy/watch.js';
import { production } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';
import { deployStep } from '../../shared/queue/lease.js';
import { rackOf } from '../../shared/rack.js';

export type Deps = WatchDeps & { now: Clock };

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): Deps {
  const config = configOf(env);
  return { ecs: aws(ECSClient), store: storeOf(config, aws, now), sender: senderOf(aws), rack: rackOf(config), now };
}

/**
 * Watch step (waitForTaskToken): park the token where ECS events will find it, then re-check once.
 * Its lease is renewed here, and by the queue sweep for as long as the execution waits on the token.
 */
export function makeHandler(deps: Deps) {
  return deployStep(
    'watch',
    deps,
    async (event: { token: string; state: DeployState }) => {
      const verdict = await startWatch(event.state, event.token, deps);
      logger.info('watch registered', { app: event.state.app, execution: event.state.execution, verdict: verdict.status });
      return { verdict: verdict.status };
    },
    (event) => event.state,
  );
}

export const handler = production({ depsFromEnv, makeHandler });
