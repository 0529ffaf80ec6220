import { PublishCommand } from '@aws-sdk/client-sns';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { loadEvent } from '../support/fixtures.js';
import { localRack } from '../support/local-rack.js';

// The sample alarm belongs to rack rackless-demo: rackless-demo--shop--web--unhealthy.
let rack: LocalRack;

beforeAll(async () => {
  rack = await localRack();
});
beforeEach(async () => {
  await rack.notifications();
});

/** What CloudWatch does: publish the alarm's JSON on the alarms topic; the subscription hands it to alarm-notify. */
async function publish(...messages: string[]) {
  const before = rack.functions.invocationsOf('alarm-notify').length;
  for (const message of messages) await rack.aws.sns.send(new PublishCommand({ TopicArn: rack.resources.alarmTopicArn, Message: message, Subject: 'ALARM' }));
  await rack.events.pump();
  await rack.settled();
  return rack.functions
    .invocationsOf('alarm-notify')
    .slice(before)
    .flatMap((i) => i.result as Array<{ status: string; reason?: string; alarm?: string }>);
}

describe('alarm-notify', () => {
  it('renders a CloudWatch alarm from the alarms topic onto the notification topic', async () => {
    const alarm = loadEvent('sns-cloudwatch-alarm').Records[0].Sns.Message;

    const results = await publish(alarm);

    expect(results).toEqual([{ messageId: expect.any(String), status: 'published', alarm: 'rackless-demo--shop--web--unhealthy', app: 'shop', service: 'web' }]);
    const notes = await rack.notifications();
    expect(notes).toHaveLength(1);
    expect(notes[0]!.subject).toBe('ALARM: rackless-demo--shop--web--unhealthy');
    expect(notes[0]!.attributes).toEqual({ kind: 'cloudwatch-alarm', severity: 'critical', app: 'shop', service: 'web', status: 'ALARM' });
    expect(notes[0]!.message).toContain('Alarm rackless-demo--shop--web--unhealthy is ALARM (was OK) for service web of shop.');
    expect(notes[0]!.message).toContain('Metric: UnHealthyHostCount');
  });

  it('drops a message that is not an alarm with its reason, and still sends the alarms next to it', async () => {
    const alarm = loadEvent('sns-cloudwatch-alarm').Records[0].Sns.Message;

    const results = await publish('{"hello":"world"}', alarm, 'Test message from the console');

    expect(results.map((r) => r.status)).toEqual(['dropped', 'published', 'dropped']);
    expect(results[0]!.reason).toMatch(/^ALARM_MESSAGE_INVALID: .*AlarmName and NewStateValue are required \(got hello\)/);
    expect(results[2]!.reason).toMatch(/^ALARM_MESSAGE_INVALID: SNS message is not JSON/);
    expect(await rack.notifications()).toHaveLength(1);
  });
});
