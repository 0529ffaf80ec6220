// AWS calls: states:StartExecution, dynamodb:GetItem, dynamodb:Scan, sns:Publish
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import type { EventBridgeEvent } from 'aws-lambda';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { type Clock, storeOf } from '../../shared/aws/deps.js';
import { startOnce } from '../../shared/aws/sfn.js';
import { publish } from '../../shared/aws/sns.js';
import type { Store } from '../../shared/aws/store.js';
import { configOf, type Env } from '../../shared/config.js';
import { appsUsingImage, type RedeployRequest, redeployState } from '../../shared/deploy/redeploy.js';
import type { EcrImageActionDetail, RedeployRequestedDetail } from '../../shared/events/types.js';
import { lambda, production } from '../../shared/handler.js';
import { logger } from '../../shared/logger.js';

export interface Deps {
  sfn: SFNClient;
  sns: SNSClient;
  store: Store;
  stateMachineArn: string;
  topicArn: string;
  now: Clock;
}

export function depsFromEnv(env: Env, aws: ClientFactory, now: Clock): Deps {
  const config = configOf(env);
  return { sfn: aws(SFNClient), sns: aws(SNSClient), store: storeOf(config, aws, now), stateMachineArn: config.str('STATE_MACHINE_ARN'), topicArn: config.str('TOPIC_ARN'), now };
}

type Incoming =
  | EventBridgeEvent<'Redeploy Requested', RedeployRequestedDetail>
  | EventBridgeEvent<'ECR Image Action', EcrImageActionDetail>
  // a schedule rule's constant Input: {"app": "shop", "rebuild": true}
  | EventBridgeEvent<'Scheduled Event', Record<string, never>>
  | (RedeployRequestedDetail & { 'detail-type'?: undefined });

async function requests(event: Incoming, deps: Deps): Promise<RedeployRequest[]> {
  const now = new Date(deps.now()).toISOString();
  if (event['detail-type'] === 'ECR Image Action') {
    const detail = event.detail;
    if (detail['action-type'] !== 'PUSH' || detail.result !== 'SUCCESS') return [];
    const apps = appsUsingImage(await deps.store.listApps(), detail);
    return apps.map((app) => ({ app, rebuild: true, trigger: 'base-image' as const, requestId: `${event.id}/${app}`, time: event.time }));
  }
  if (event['detail-type'] === 'Redeploy Requested') {
    return [{ ...event.detail, trigger: event.detail.rebuild ? 'rebuild' : 'redeploy', requestId: event.id, time: event.time }];
  }
  // a schedule rule without a target input delivers the bare Scheduled Event: no app in it
  const scheduled = (event['detail-type'] === 'Scheduled Event' ? {} : event) as RedeployRequestedDetail;
  // a schedule fires once per period: the minute names the request, so a retried delivery dedupes
  return [{ ...scheduled, trigger: 'schedule', requestId: `schedule/${now.slice(0, 16)}`, time: now }];
}

/** Redeploy requests (custom event, schedule, base-image push) → the deploy workflow. */
export function makeHandler(deps: Deps) {
  const reject = async (app: string, reason: string, releaseId?: string) => {
    logger.warn('redeploy rejected', { app, reason });
    await publish(deps.sns, deps.topicArn, { kind: 'redeploy-rejected', app, reason, ...(releaseId ? { releaseId } : {}) });
    return { app, status: 'rejected', reason };
  };
  return lambda('redeploy', async (event: Incoming) => {
    const results = [];
    for (const request of await requests(event, deps)) {
      const decision = redeployState(request, await deps.store.getApp(request.app));
      if (decision.accept && decision.state.redeployRelease && !(await deps.store.getRelease(request.app, decision.state.redeployRelease))) {
        results.push(await reject(request.app, `release ${decision.state.redeployRelease} of app ${request.app} does not exist`, decision.state.redeployRelease));
        continue;
      }
      if (!decision.accept) {
        results.push(await reject(decision.app ?? request.app ?? '(no app named)', decision.reason, request.release));
        continue;
      }
      const started = await startOnce(deps.sfn, deps.stateMachineArn, decision.state.execution, decision.state);
      logger.info('redeploy started', { app: request.app, trigger: request.trigger, execution: decision.state.execution, duplicate: started.duplicate });
      results.push({ app: request.app, status: started.duplicate ? 'duplicate' : 'started', execution: decision.state.execution });
    }
    return results;
  });
}

export const handler = production({ depsFromEnv, makeHandler });
