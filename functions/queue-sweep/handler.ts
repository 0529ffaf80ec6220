// AWS calls: dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:Query, states:SendTaskSuccess, states:SendTaskFailure, states:DescribeExecution
import { SFNClient } from '@aws-sdk/client-sfn';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, senderOf, storeOf } from '../../shared/aws/deps.js';
import { executionStatuses } from '../../shared/aws/executions.js';
import { configOf, type Env } from '../../shared/config.js';
import { lambda, production } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';
import type { HandoverDeps } from '../../shared/queue/queue.js';
import { sweep } from '../../shared/queue/sweep.js';

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): HandoverDeps {
  return { store: storeOf(configOf(env), aws, now), sender: senderOf(aws), executions: executionStatuses(aws(SFNClient)), now };
}

/**
 * Scheduled (serverless.yml: the queue-sweep rule): one look at every app with a held lock or a
 * waiting deploy (shared/queue/sweep.ts). Logs only what it changed or could not do.
 */
export function makeHandler(deps: HandoverDeps) {
  return lambda('queue-sweep', async () => {
    const report = await sweep(deps);
    if (report.healed.length) logger.info('queue sweep healed', { healed: report.healed });
    if (report.failed.length) logger.error('queue sweep could not look at some apps', { failed: report.failed });
    return report;
  });
}

export const handler = production({ depsFromEnv, makeHandler });
