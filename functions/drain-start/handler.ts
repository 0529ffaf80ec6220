// AWS calls: states:StartExecution
import { SFNClient } from '@aws-sdk/client-sfn';
import type { EventBridgeEvent } from 'aws-lambda';
import { makeClient } from '../../shared/aws/clients.js';
import { requireEnv } from '../../shared/config.js';
import { startDrain, type DrainStart } from '../../shared/drain/start.js';
import { lambda } from '../../shared/handler.js';

// The EventBridge rule invokes this instead of the state machine, because only a starter can name the execution.
const config = requireEnv('DRAIN_STATE_MACHINE_ARN');
const sfn = makeClient(SFNClient);

export const handler = lambda('drain-start', async (event: EventBridgeEvent<string, unknown>): Promise<DrainStart> => startDrain(sfn, config.DRAIN_STATE_MACHINE_ARN, event));
