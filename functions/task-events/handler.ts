// AWS calls: dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, states:SendTaskSuccess, states:SendTaskFailure
import type { EventBridgeEvent } from 'aws-lambda';
import { sfnFromEnv, storeFromEnv } from '../../shared/aws/deps.js';
import { parseEcsEvent } from '../../shared/events/classify.js';
import { lambda } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';
import { recordDeploymentEvent, recordTaskStop } from '../../shared/watch/watch.js';

const store = storeFromEnv();
const { sender } = sfnFromEnv();

/**
 * ECS Task State Change / Deployment State Change / Service Action. Outcomes are recorded as they
 * arrive and resume the deploy that watches them (shared/watch: the one mechanism).
 */
export const handler = lambda('task-events', async (event: EventBridgeEvent<string, unknown>) => {
  const parsed = parseEcsEvent(event);
  switch (parsed.type) {
    case 'deployment': {
      const d = parsed.deployment;
      const verdict = await recordDeploymentEvent(store, sender, d.deploymentId, { outcome: d.outcome, ...(d.reason ? { reason: d.reason } : {}) });
      return { type: 'deployment', deploymentId: d.deploymentId, outcome: d.outcome, verdict: verdict?.status };
    }
    case 'task': {
      const stop = parsed.stop;
      if (!stop || stop.expected) return { type: 'task', expected: true };
      const verdict = await recordTaskStop(store, sender, stop.taskDefinitionArn, {
        taskArn: stop.taskArn,
        cause: stop.cause,
        summary: stop.summary,
        ...(stop.evidence.stoppedReason ? { stoppedReason: stop.evidence.stoppedReason } : {}),
        ...(stop.evidence.exitCode !== undefined ? { exitCode: stop.evidence.exitCode } : {}),
        ...(stop.evidence.oom ? { oom: true } : {}),
        ...(stop.evidence.healthCheck ? { healthCheck: stop.evidence.healthCheck } : {}),
        ...(stop.evidence.container ? { container: stop.evidence.container } : {}),
      });
      return { type: 'task', cause: stop.cause, verdict: verdict?.status };
    }
    case 'service-action':
      return { type: 'service-action', event: parsed.action.eventName };
    default:
      logger.debug('ignored event', { reason: parsed.reason });
      return { type: 'ignored', reason: parsed.reason };
  }
});
