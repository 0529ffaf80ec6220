// AWS calls: states:StartExecution
import { SFNClient } from '@aws-sdk/client-sfn';
import type { EventBridgeEvent } from 'aws-lambda';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { startOnce } from '../../shared/aws/sfn.js';
import { configOf, type Env } from '../../shared/config.js';
import { deployRequestFromS3, type S3ObjectCreatedDetail } from '../../shared/deploy/request.js';
import { lambda, production } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';

export interface Deps {
  sfn: SFNClient;
  stateMachineArn: string;
}

export function depsFromEnv(env: Env, aws: ClientFactory): Deps {
  return { sfn: aws(SFNClient), stateMachineArn: configOf(env).str('STATE_MACHINE_ARN') };
}

/** S3 Object Created → one deploy execution per object version; anything else is ignored with a reason. */
export function makeHandler(deps: Deps) {
  return lambda('start-deployment', async (event: EventBridgeEvent<'Object Created', S3ObjectCreatedDetail>) => {
    const request = deployRequestFromS3(event);
    if (!request.accept) {
      logger.info('ignored S3 object', { reason: request.reason, key: event.detail?.object?.key });
      return { status: 'ignored', reason: request.reason };
    }
    const started = await startOnce(deps.sfn, deps.stateMachineArn, request.state.execution, request.state);
    logger.info(started.duplicate ? 'duplicate event: deploy already started' : 'deploy started', { app: request.state.app, execution: request.state.execution });
    return { status: started.duplicate ? 'duplicate' : 'started', execution: request.state.execution, app: request.state.app };
  });
}

export const handler = production({ depsFromEnv, makeHandler });
