// AWS calls: autoscaling:CompleteLifecycleAction, sns:Publish
import middy from '@middy/core';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { SNSClient } from '@aws-sdk/client-sns';
import { makeClient } from '../../shared/aws/clients.js';
import { env } from '../../shared/config.js';
import { toTransient } from '../../shared/errors.js';
import { completeDrain, type DrainResult } from '../../shared/drain/complete.js';
import type { CompleteInput } from '../../shared/drain/types.js';

const topicArn = env('TOPIC_ARN');
const clients = { asg: makeClient(AutoScalingClient), sns: makeClient(SNSClient) };

export const handler = middy<CompleteInput, DrainResult>().handler(async (state) => {
  try {
    return await completeDrain(clients, topicArn, state);
  } catch (error) {
    throw toTransient(error);
  }
});
