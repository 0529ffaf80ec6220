// AWS calls: ecs:DescribeServices, dynamodb:GetItem, dynamodb:UpdateItem, dynamodb:BatchGetItem
import { ECSClient } from '@aws-sdk/client-ecs';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, senderOf, storeOf } from '../../shared/aws/deps.js';
import { configOf, type Env } from '../../shared/config.js';
import { type DeployState, withTiming } from '../../shared/deploy/state.js';
import { verifyAtDeadline, type WatchDeps } from '../../shared/deploy/watch.js';
import { production } from '../../shared/handler.js';
import { deployStep } from '../../shared/queue/lease.js';
import { rackOf } from '../../shared/rack.js';

export type Deps = WatchDeps & { now: Clock };

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): Deps {
  const config = configOf(env);
  return { ecs: aws(ECSClient), store: storeOf(config, aws, now), sender: senderOf(aws), rack: rackOf(config), now };
}

/** Verify: the rollout deadline passed; one DescribeServices decides instead of failing blind. */
export function makeHandler(deps: Deps) {
  return deployStep('verify', deps, async (state: DeployState) => {
    const { failure: _timeout, ...rest } = state;
    const started = deps.now();
    return withTiming(await verifyAtDeadline(rest, deps), 'Verify', started, deps.now());
  });
}

export const handler = production({ depsFromEnv, makeHandler });
