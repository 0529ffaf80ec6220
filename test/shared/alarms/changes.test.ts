import type { MetricAlarm, PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';
import type { TargetGroup } from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import { alarmChanges, alarmDiffers } from '../../../shared/aws/alarms.js';
import { attributeChanges, healthCheckChanges } from '../../../shared/aws/elb.js';
import type { HealthCheck } from '../../../shared/manifest/types.js';

/** What Promote writes: only the alarms, health check fields and attributes that differ from what is there. */
const wanted: PutMetricAlarmCommandInput = {
  AlarmName: 'r--shop--web--cpu',
  AlarmDescription: 'CPU of shop/web above 80% for 10 minutes',
  AlarmActions: ['arn:topic'],
  OKActions: ['arn:topic'],
  TreatMissingData: 'notBreaching',
  Namespace: 'AWS/ECS',
  MetricName: 'CPUUtilization',
  Dimensions: [
    { Name: 'ClusterName', Value: 'r' },
    { Name: 'ServiceName', Value: 'r--shop--web' },
  ],
  Statistic: 'Average',
  Period: 300,
  EvaluationPeriods: 2,
  Threshold: 80,
  ComparisonOperator: 'GreaterThanThreshold',
  Tags: [{ Key: 'rackless:app', Value: 'shop' }],
};
// as DescribeAlarms answers: no tags, lists in any order, the state fields of its own
const { Tags: _tags, ...described } = wanted;
const current: MetricAlarm = {
  ...(described as MetricAlarm),
  AlarmArn: 'arn:alarm',
  Dimensions: [...wanted.Dimensions!].reverse(),
  InsufficientDataActions: [],
  ActionsEnabled: true,
  StateValue: 'OK',
};

describe('alarmDiffers: whether PutMetricAlarm would change the alarm', () => {
  it.each<[string, Partial<MetricAlarm>, boolean]>([
    ['as it is (dimensions in another order, tags not compared)', {}, false],
    ['another threshold', { Threshold: 50 }, true],
    ['another description', { AlarmDescription: 'CPU above 50%' }, true],
    ['another topic', { AlarmActions: ['arn:other'] }, true],
    ['another dimension', { Dimensions: [{ Name: 'ClusterName', Value: 'other' }] }, true],
    ['another period', { Period: 60 }, true],
    ['actions switched off by hand', { ActionsEnabled: false }, true],
    ['a datapoints-to-alarm set by hand', { DatapointsToAlarm: 1 }, true],
  ])('%s', (_name, change, differs) => {
    expect(alarmDiffers({ ...current, ...change }, wanted)).toBe(differs);
  });
});

describe('alarmChanges: put what is new or different, delete what the service no longer has', () => {
  const memory = { ...wanted, AlarmName: 'r--shop--web--memory' };
  const names = ['r--shop--web--cpu', 'r--shop--web--memory', 'r--shop--web--unhealthy', 'r--shop--web--5xx'];
  it.each<[string, MetricAlarm[], string[], string[]]>([
    ['nothing there yet', [], ['r--shop--web--cpu', 'r--shop--web--memory'], []],
    ['both as wanted', [current, { ...current, AlarmName: 'r--shop--web--memory' }], [], []],
    [
      'one changed',
      [
        { ...current, Threshold: 90 },
        { ...current, AlarmName: 'r--shop--web--memory' },
      ],
      ['r--shop--web--cpu'],
      [],
    ],
    [
      'the load balancer alarms of a port the service dropped',
      [current, { ...current, AlarmName: 'r--shop--web--memory' }, { ...current, AlarmName: 'r--shop--web--5xx' }],
      [],
      ['r--shop--web--5xx'],
    ],
  ])('%s', (_name, there, put, remove) => {
    const changes = alarmChanges([wanted, memory], there, names);
    expect(changes.put.map((p) => p.AlarmName)).toEqual(put);
    expect(changes.remove).toEqual(remove);
  });
});

describe('healthCheckChanges and attributeChanges: the target group fields that differ', () => {
  const health: HealthCheck = { path: '/', interval: 5, timeout: 4, grace: 30, healthy: 2, unhealthy: 2, codes: '200-399' };
  const group: TargetGroup = {
    TargetGroupArn: 'arn:tg',
    HealthCheckProtocol: 'HTTP',
    HealthCheckPath: '/',
    HealthCheckIntervalSeconds: 5,
    HealthCheckTimeoutSeconds: 4,
    HealthyThresholdCount: 2,
    UnhealthyThresholdCount: 2,
    Matcher: { HttpCode: '200-399' },
  };
  it.each<[string, Partial<HealthCheck>, object | undefined]>([
    ['as it is', {}, undefined],
    ['another path', { path: '/health' }, { HealthCheckPath: '/health' }],
    ['a slower check', { interval: 30, timeout: 10 }, { HealthCheckIntervalSeconds: 30, HealthCheckTimeoutSeconds: 10 }],
    ['other codes', { codes: '200' }, { Matcher: { HttpCode: '200' } }],
    ['other thresholds', { healthy: 3, unhealthy: 5 }, { HealthyThresholdCount: 3, UnhealthyThresholdCount: 5 }],
  ])('health check %s', (_name, change, expected) => {
    expect(healthCheckChanges(group, { ...health, ...change })).toEqual(expected);
  });

  it.each<[string, Array<{ Key: string; Value: string }>, number, Array<{ Key: string; Value: string }>]>([
    ['the same delay', [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }], 30, []],
    ['another delay', [{ Key: 'deregistration_delay.timeout_seconds', Value: '300' }], 30, [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]],
    ['no delay read (a new target group)', [], 30, [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]],
  ])('attributes: %s', (_name, attributes, delay, expected) => {
    expect(attributeChanges(attributes, delay)).toEqual(expected);
  });
});
