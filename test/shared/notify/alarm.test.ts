import { describe, expect, it } from 'vitest';
import { alarmDescription, alarmName, parseAlarmName, parseCloudWatchAlarm, splitServiceName } from '../../../shared/notify/alarm.js';
import type { CloudWatchAlarmMessage } from '../../../shared/events/types.js';
import { loadEvent } from '../../support/fixtures.js';

function sampleAlarm(): CloudWatchAlarmMessage {
  return JSON.parse(loadEvent('sns-cloudwatch-alarm').Records[0].Sns.Message);
}

describe('alarmName', () => {
  it('builds <rack>--<app>--<service>--<metric>', () => {
    expect(alarmName('rackless-demo', 'shop', 'web', 'unhealthy')).toBe('rackless-demo--shop--web--unhealthy');
  });

  it('round-trips through parseAlarmName', () => {
    const name = alarmName('rackless-demo', 'shop', 'web', '5xx');
    expect(parseAlarmName(name)).toEqual({ rack: 'rackless-demo', app: 'shop', service: 'web', metric: '5xx' });
    expect(parseAlarmName(name, 'rackless-demo')).toEqual({ rack: 'rackless-demo', app: 'shop', service: 'web', metric: '5xx' });
  });

  it.each([
    ['a metric with a hyphen', ['r', 'ab', 's', 'high-cpu'], /metric "high-cpu"/],
    ['an empty app', ['r', '', 's', 'cpu'], /app name ""/],
    ['a space in the service', ['r', 'ab', 'my service', 'cpu'], /service name "my service"/],
    ['an app holding the separator', ['r', 'my--shop', 's', 'cpu'], /app name "my--shop"/],
  ])('rejects %s', (_label, [rack, app, service, metric], message) => {
    expect(() => alarmName(rack!, app!, service!, metric!)).toThrow(message);
  });
});

describe('parseAlarmName', () => {
  it('keeps hyphenated apps and services whole: the separator is --', () => {
    expect(parseAlarmName('rackless-demo--my-shop--web-v2--cpu', 'rackless-demo')).toMatchObject({ app: 'my-shop', service: 'web-v2', metric: 'cpu' });
    expect(parseAlarmName('rackless-demo--my-shop--web-v2--cpu')).toMatchObject({ rack: 'rackless-demo', app: 'my-shop', service: 'web-v2' });
  });

  it('does not claim an alarm of another rack, even one whose name starts like this one', () => {
    expect(parseAlarmName('other-rack--shop--web--cpu', 'rackless-demo')).toBeUndefined();
    expect(parseAlarmName('rackless-demo-x--shop--web--cpu', 'rackless-demo')).toBeUndefined();
  });

  it('does not claim a name too short for the convention', () => {
    expect(parseAlarmName('HighCPU')).toBeUndefined();
    expect(parseAlarmName('shop-web-cpu')).toBeUndefined();
    expect(parseAlarmName('shop--web--cpu')).toBeUndefined();
  });

  it('splits ECS service names the same way', () => {
    expect(splitServiceName('rackless-demo--shop--web')).toEqual({ rack: 'rackless-demo', app: 'shop', service: 'web' });
  });
});

describe('parseCloudWatchAlarm', () => {
  it('prefers the description marker, which survives hyphens everywhere', () => {
    const alarm = sampleAlarm();
    alarm.AlarmName = alarmName('rackless-demo', 'my-shop', 'api-v2', 'unhealthy');
    alarm.AlarmDescription = alarmDescription({ rack: 'rackless-demo', app: 'my-shop', service: 'api-v2', metric: 'unhealthy' }, 'Unhealthy targets');
    expect(parseCloudWatchAlarm(JSON.stringify(alarm))).toMatchObject({ app: 'my-shop', service: 'api-v2' });
  });

  it('does not guess an owner from a target group dimension (its name is a prefix and a hash)', () => {
    const alarm = sampleAlarm();
    alarm.AlarmName = 'HighUnhealthyHosts';
    alarm.AlarmDescription = null;
    const parsed = parseCloudWatchAlarm(JSON.stringify(alarm));
    expect(parsed).not.toHaveProperty('app');
    expect(parsed).not.toHaveProperty('service');
  });

  it('falls back to the ECS ServiceName dimension', () => {
    const alarm = sampleAlarm();
    alarm.AlarmName = 'HighCPU';
    alarm.Trigger = {
      MetricName: 'CPUUtilization',
      Namespace: 'AWS/ECS',
      Dimensions: [
        { name: 'ClusterName', value: 'rackless-demo' },
        { name: 'ServiceName', value: 'rackless-demo--shop--worker' },
      ],
    };
    expect(parseCloudWatchAlarm(JSON.stringify(alarm), { rack: 'rackless-demo' })).toMatchObject({ app: 'shop', service: 'worker', metric: 'CPUUtilization' });
  });

  it('leaves app and service out when nothing names them', () => {
    const alarm = sampleAlarm();
    alarm.AlarmName = 'HighCPU';
    alarm.Trigger = { MetricName: 'CPUUtilization', Dimensions: [] };
    const parsed = parseCloudWatchAlarm(JSON.stringify(alarm));
    expect(parsed).not.toHaveProperty('app');
    expect(parsed).not.toHaveProperty('service');
  });

  it.each([
    ['text that is not JSON', 'hello', /not JSON/],
    ['an ECS event', JSON.stringify(loadEvent('ecs-task-running')), /not a CloudWatch alarm.*got version, id, detail-type/],
    ['a JSON array', '[1]', /not a CloudWatch alarm/],
    ['JSON null', 'null', /not a CloudWatch alarm/],
  ])('throws a clear error for %s', (_label, message, error) => {
    expect(() => parseCloudWatchAlarm(message)).toThrow(error);
  });
});
