import { readdirSync } from 'node:fs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { loadEvent } from '../support/fixtures.js';
import { localRack } from '../support/local-rack.js';

/**
 * Every sample under events/ reaches the function its rule targets the way AWS delivers it — put on
 * EventBridge (or published on the alarms topic), matched by the template's rule, handed over as an
 * asynchronous invocation — and the function handles it without an error.
 */
const samples = readdirSync(new URL('../../events/', import.meta.url))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''));
let rack: LocalRack;

beforeAll(async () => {
  rack = await localRack();
});

const TARGETS: Record<string, string> = {
  'aws.s3': 'start-deployment',
  'aws.ecs': 'task-events',
  'aws.autoscaling': 'drain-start',
  rackless: 'redeploy',
  'aws.ecr': 'redeploy',
};

describe('sample events', () => {
  it.each(samples)('%s is handled by the function its rule targets', async (name) => {
    const event = loadEvent(name);
    let target: string;
    const before = rack.functions.invocations.length;
    if (event.Records?.[0]?.Sns) {
      // a CloudWatch alarm publishes its JSON on the alarms topic; the topic's subscription is alarm-notify
      target = 'alarm-notify';
      await rack.aws.sns.send(new PublishCommand({ TopicArn: rack.resources.alarmTopicArn, Message: event.Records[0].Sns.Message, Subject: event.Records[0].Sns.Subject }));
      await rack.events.pump();
    } else if (event.source === 'aws.events') {
      // the schedule rule is an example in serverless.yml, not in the rack: invoked as its target would be
      target = 'redeploy';
      await rack.functions.invokeAsync('redeploy', event);
    } else {
      target = TARGETS[event.source]!;
      if (event.source === 'aws.s3') {
        // the sample's bucket name is a placeholder for the rack's own
        event.detail.bucket.name = rack.resources.bucket;
        event.resources = [`arn:aws:s3:::${rack.resources.bucket}`];
      }
      await rack.sendEvent(event);
    }
    await rack.settled();
    const handled = rack.functions.invocations.slice(before).filter((i) => i.function.endsWith(`-${target}`));
    if (name === 's3-object-created-ignored') {
      // uploads outside apps/ never reach the function: the rule's pattern keeps them out
      expect(handled).toEqual([]);
      return;
    }
    expect(handled.length, `${name} reached ${target}`).toBeGreaterThan(0);
    expect(handled.map((i) => i.error)).toEqual(handled.map(() => undefined));
  });
});
