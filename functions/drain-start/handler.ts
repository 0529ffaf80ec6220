// AWS calls: states:StartExecution
import middy from '@middy/core';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { EventBridgeEvent } from 'aws-lambda';
import { makeClient } from '../../shared/aws/clients.js';
import { requireEnv } from '../../shared/config.js';
import { toTransient } from '../../shared/errors.js';
import { startDrain, type DrainStart } from '../../shared/drain/start.js';

// The EventBridge rule invokes this instead of the state machine, because only a starter can name the execution.
const config = requireEnv('DRAIN_STATE_MACHINE_ARN');
const sfn = makeClient(SFNClient);

export const handler = middy<EventBridgeEvent<string, unknown>, DrainStart>().handler(async (event) => {
  try {
    return await startDrain(sfn, config.DRAIN_STATE_MACHINE_ARN, event);
  } catch (error) {
    throw toTransient(error);
  }
});
