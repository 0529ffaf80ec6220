import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetMoto } from '../../local/moto.js';
import { LocalRack } from '../../local/rack.js';
import { loadEvent } from '../support/fixtures.js';

// The sample alarm belongs to rack rackless-demo: rackless-demo-shop-web-unhealthy.
let rack: LocalRack;
let handler: (event: unknown, context: unknown) => Promise<any>;

beforeAll(async () => {
  await resetMoto(process.env.MOTO_URL!);
  rack = await new LocalRack({ endpoint: process.env.MOTO_URL!, name: 'rackless-demo' }).create();
  Object.assign(process.env, rack.env);
  ({ handler } = (await import('../../functions/alarm-notify/handler.js')) as { handler: typeof handler });
});
beforeEach(async () => {
  await rack.notifications();
});

describe('alarm-notify', () => {
  it('renders a CloudWatch alarm from the alarms topic onto the notification topic', async () => {
    const event = loadEvent('sns-cloudwatch-alarm');

    const results = await handler(event, {});

    expect(results).toEqual([{ messageId: event.Records[0].Sns.MessageId, status: 'published', alarm: 'rackless-demo-shop-web-unhealthy', app: 'shop', service: 'web' }]);
    const notes = await rack.notifications();
    expect(notes).toHaveLength(1);
    expect(notes[0]!.subject).toBe('ALARM: rackless-demo-shop-web-unhealthy');
    expect(notes[0]!.attributes).toEqual({ kind: 'cloudwatch-alarm', severity: 'critical', app: 'shop', service: 'web', status: 'ALARM' });
    expect(notes[0]!.message).toContain('Alarm rackless-demo-shop-web-unhealthy is ALARM (was OK) for service web of shop.');
    expect(notes[0]!.message).toContain('Metric: UnHealthyHostCount');
  });

  it('drops a message that is not an alarm with its reason, and still sends the alarms next to it', async () => {
    const event = loadEvent('sns-cloudwatch-alarm');
    const alarm = event.Records[0];
    const stray = { ...structuredClone(alarm), Sns: { ...alarm.Sns, MessageId: 'stray', Message: '{"hello":"world"}' } };
    const text = { ...structuredClone(alarm), Sns: { ...alarm.Sns, MessageId: 'text', Message: 'Test message from the console' } };
    event.Records = [stray, alarm, text];

    const results = await handler(event, {});

    expect(results.map((r: { status: string }) => r.status)).toEqual(['dropped', 'published', 'dropped']);
    expect(results[0].reason).toMatch(/^ALARM_MESSAGE_INVALID: .*AlarmName and NewStateValue are required \(got hello\)/);
    expect(results[2].reason).toMatch(/^ALARM_MESSAGE_INVALID: SNS message is not JSON/);
    expect(await rack.notifications()).toHaveLength(1);
  });
});
