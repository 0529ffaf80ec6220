// AWS calls: dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:Query, states:SendTaskSuccess, states:SendTaskFailure
import type { EventBridgeEvent } from 'aws-lambda';
import { sfnFromEnv, storeFromEnv } from '../../shared/aws/deps.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { lambda } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';
import { enqueue, handover } from '../../shared/queue/queue.js';

const store = storeFromEnv();
const { sender } = sfnFromEnv();

type EnqueueRequest = { action: 'enqueue'; token: string; state: DeployState };
type ExecutionEnded = EventBridgeEvent<'Step Functions Execution Status Change', { executionArn: string; name: string; status: string; input?: string }>;

/**
 * Queue step (waitForTaskToken): runs the deploy now or parks its token until the app's lock frees.
 * Also receives Step Functions status changes, so an execution that died holding the lock hands over.
 */
export const handler = lambda('queue', async (event: EnqueueRequest | ExecutionEnded) => {
  if ('action' in event && event.action === 'enqueue') {
    const status = await enqueue(event.state, event.token, { store, sender });
    logger.info('queued', { app: event.state.app, execution: event.state.execution, status });
    return { status };
  }
  const ended = event as ExecutionEnded;
  const input = ended.detail?.input ? (JSON.parse(ended.detail.input) as Partial<DeployState>) : {};
  if (!input.app || !ended.detail?.name) return { status: 'ignored' };
  const next = await handover(input.app, ended.detail.name, { store, sender });
  logger.info('execution ended', { app: input.app, execution: ended.detail.name, status: ended.detail.status, next });
  return { status: 'handed-over', next };
});
