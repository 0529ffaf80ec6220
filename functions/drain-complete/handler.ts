// AWS calls: autoscaling:CompleteLifecycleAction, sns:Publish
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { SNSClient } from '@aws-sdk/client-sns';
import { makeClient } from '../../shared/aws/clients.js';
import { env } from '../../shared/config.js';
import { completeDrain, type DrainResult } from '../../shared/drain/complete.js';
import type { CompleteInput } from '../../shared/drain/types.js';
import { lambda } from '../../shared/handler.js';

const topicArn = env('TOPIC_ARN');
const clients = { asg: makeClient(AutoScalingClient), sns: makeClient(SNSClient) };

export const handler = lambda('drain-complete', async (state: CompleteInput): Promise<DrainResult> => completeDrain(clients, topicArn, state));
