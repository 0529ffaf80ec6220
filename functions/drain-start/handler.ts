// AWS calls: states:StartExecution
import { SFNClient } from '@aws-sdk/client-sfn';
import type { EventBridgeEvent } from 'aws-lambda';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { configOf, type Env } from '../../shared/config.js';
import { type DrainStart, startDrain } from '../../shared/drain/start.js';
import { lambda, production } from '../../shared/handler.js';

export interface Deps {
  sfn: SFNClient;
  stateMachineArn: string;
}

export function depsFromEnv(env: Env, aws: ClientFactory): Deps {
  return { sfn: aws(SFNClient), stateMachineArn: configOf(env).str('DRAIN_STATE_MACHINE_ARN') };
}

// The EventBridge rule invokes this instead of the state machine, because only a starter can name the execution.
export function makeHandler(deps: Deps) {
  return lambda('drain-start', async (event: EventBridgeEvent<string, unknown>): Promise<DrainStart> => startDrain(deps.sfn, deps.stateMachineArn, event));
}

export const handler = production({ depsFromEnv, makeHandler });
