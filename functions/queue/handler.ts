// AWS calls: dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:Query, states:SendTaskSuccess, states:SendTaskFailure, states:DescribeExecution
import { SFNClient } from '@aws-sdk/client-sfn';
import type { EventBridgeEvent } from 'aws-lambda';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, senderOf, storeOf } from '../../shared/aws/deps.js';
import { executionStatuses } from '../../shared/aws/executions.js';
import { configOf, type Env } from '../../shared/config.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { lambda, production } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';
import { enqueue, type HandoverDeps, handover } from '../../shared/queue/queue.js';

type EnqueueRequest = { action: 'enqueue'; token: string; executionArn?: string; state: DeployState };
type HandoverRequest = { action: 'handover'; app: string; execution: string };
type ExecutionEnded = EventBridgeEvent<'Step Functions Execution Status Change', { executionArn: string; name: string; status: string; input?: string }>;

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): HandoverDeps {
  return { store: storeOf(configOf(env), aws, now), sender: senderOf(aws), executions: executionStatuses(aws(SFNClient)), now };
}

/**
 * Queue step (waitForTaskToken): runs the deploy now or parks its token until the app's lock frees.
 * Hand over step: the deploy ended; its lock goes to the newest waiting deploy that still runs.
 * Step Functions status changes: an execution that ended without handing over (it died, or its Hand
 * over failed) hands over now. The sweep (functions/queue-sweep) catches what events miss.
 */
export function makeHandler(deps: HandoverDeps) {
  return lambda('queue', async (event: EnqueueRequest | HandoverRequest | ExecutionEnded) => {
    if ('action' in event && event.action === 'enqueue') {
      const status = await enqueue(event.state, event.token, deps, event.executionArn);
      logger.info('queued', { app: event.state.app, execution: event.state.execution, status });
      return { status };
    }
    if ('action' in event && event.action === 'handover') {
      const next = await handover(event.app, event.execution, deps);
      logger.info('handed over', { app: event.app, execution: event.execution, next });
      return { status: 'handed-over', next };
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
