// AWS calls: autoscaling:CompleteLifecycleAction, sns:Publish
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { SNSClient } from '@aws-sdk/client-sns';
import type { ClientFactory } from '../../shared/aws/clients.js';
import { configOf, type Env } from '../../shared/config.js';
import { completeDrain, type DrainResult } from '../../shared/drain/complete.js';
import type { CompleteInput } from '../../shared/drain/types.js';
import { lambda, production } from '../../shared/handler.js';

export interface Deps {
  asg: AutoScalingClient;
  sns: SNSClient;
  topicArn: string;
}

export function depsFromEnv(env: Env, aws: ClientFactory): Deps {
  return { asg: aws(AutoScalingClient), sns: aws(SNSClient), topicArn: configOf(env).str('TOPIC_ARN') };
}

export function makeHandler(deps: Deps) {
  return lambda('drain-complete', async (state: CompleteInput): Promise<DrainResult> => completeDrain(deps, deps.topicArn, state));
}

export const handler = production({ depsFromEnv, makeHandler });
