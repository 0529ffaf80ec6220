// AWS calls: dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:Query, states:SendTaskSuccess, states:SendTaskFailure
import type { EventBridgeEvent } from 'aws-lambda';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, senderOf, storeOf } from '../../shared/aws/deps.js';
import { configOf, type Env } from '../../shared/config.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { lambda, production } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';
import { enqueue, handover, type QueueDeps } from '../../shared/queue/queue.js';

type EnqueueRequest = { action: 'enqueue'; token: string; state: DeployState };
type ExecutionEnded = EventBridgeEvent<'Step Functions Execution Status Change', { executionArn: string; name: string; status: string; input?: string }>;

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): QueueDeps {
  return { store: storeOf(configOf(env), aws, now), sender: senderOf(aws), now };
}

/**
 * Queue step (waitForTaskToken): runs the deploy now or parks its token until the app's lock frees.
 * Also receives Step Functions status changes, so an execution that died holding the lock hands over.
 */
export function makeHandler(deps: QueueDeps) {
  return lambda('queue', async (event: EnqueueRequest | ExecutionEnded) => {
    if ('action' in event && event.action === 'enqueue') {
      const status = await enqueue(event.state, event.token, deps);
      logger.info('queued', { app: event.state.app, execution: event.state.execution, status });
      return { status };
    }
    const ended = event as ExecutionEnded;
    const input = ended.detail?.input ? (JSON.parse(ended.detail.input) as Partial<DeployState>) : {};
    if (!input.app || !ended.detail?.name) return { status: 'ignored' };
    const next = await handover(input.app, ended.detail.name, deps);
    logger.info('execution ended', { app: input.app, execution: ended.detail.name, status: ended.detail.status, next });
    return { status: 'handed-over', next };
  });
}

export const handler = production({ depsFromEnv, makeHandler });
