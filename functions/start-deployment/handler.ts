// AWS calls: states:StartExecution
import type { EventBridgeEvent } from 'aws-lambda';
import { sfnFromEnv } from '../../shared/aws/deps.js';
import { startOnce } from '../../shared/aws/sfn.js';
import { requireEnv } from '../../shared/config.js';
import { deployRequestFromS3, type S3ObjectCreatedDetail } from '../../shared/deploy/request.js';
import { lambda } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';

const config = requireEnv('STATE_MACHINE_ARN');
const { sfn } = sfnFromEnv();

/** S3 Object Created → one deploy execution per object version; anything else is ignored with a reason. */
export const handler = lambda('start-deployment', async (event: EventBridgeEvent<'Object Created', S3ObjectCreatedDetail>) => {
  const request = deployRequestFromS3(event);
  if (!request.accept) {
    logger.info('ignored S3 object', { reason: request.reason, key: event.detail?.object?.key });
    return { status: 'ignored', reason: request.reason };
  }
  const started = await startOnce(sfn, config.STATE_MACHINE_ARN, request.state.execution, request.state);
  logger.info(started.duplicate ? 'duplicate event: deploy already started' : 'deploy started', { app: request.state.app, execution: request.state.execution });
  return { status: started.duplicate ? 'duplicate' : 'started', execution: request.state.execution, app: request.state.app };
});
