import {
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  ListTagsForResourceCommand,
  PutMetricAlarmCommand,
  type CloudWatchClient,
  type PutMetricAlarmCommandInput,
} from '@aws-sdk/client-cloudwatch';
import type { PromotedService } from '../deploy/state.js';
import type { Manifest } from '../manifest/types.js';
import { ALARM_METRICS, ownerTags } from '../names.js';
import { alarmDescription, alarmName } from '../notify/alarm.js';
import type { Rack } from '../rack.js';
import { assertOwned, tagMap } from './owner.js';

/** `arn:…:listener/app/NAME/ID/LID` → `app/NAME/ID`, the LoadBalancer dimension of ALB metrics. */
export function loadBalancerDimension(listenerArn: string): string | undefined {
  return /:listener\/(app\/[^/]+\/[^/]+)\//.exec(listenerArn)?.[1];
}

/** `arn:…:targetgroup/NAME/ID` → `targetgroup/NAME/ID`. */
export function targetGroupDimension(targetGroupArn: string): string | undefined {
  return /:(targetgroup\/[^/]+\/[^/]+)$/.exec(targetGroupArn)?.[1];
}

/** Pure: the CloudWatch alarms of one service, thresholds from its manifest. */
export function serviceAlarms(args: { rack: Rack; app: string; service: PromotedService; manifest: Manifest; alarmTopicArn: string }): PutMetricAlarmCommandInput[] {
  const spec = args.manifest.services.find((s) => s.name === args.service.service)!;
  const owner = (metric: string) => ({ rack: args.rack.name, app: args.app, service: spec.name, metric });
  const common = (metric: string, text: string) => ({
    AlarmName: alarmName(args.rack.name, args.app, spec.name, metric),
    AlarmDescription: alarmDescription(owner(metric), text),
    AlarmActions: [args.alarmTopicArn],
    OKActions: [args.alarmTopicArn],
    TreatMissingData: 'notBreaching' as const,
    Tags: Object.entries(ownerTags(args.rack.name, args.app, spec.name)).map(([Key, Value]) => ({ Key, Value })),
  });
  const ecsDimensions = [
    { Name: 'ClusterName', Value: args.rack.cluster.split('/').pop()! },
    { Name: 'ServiceName', Value: args.service.serviceName },
  ];
  const alarms: PutMetricAlarmCommandInput[] = [
    {
      ...common('cpu', `CPU of ${args.app}/${spec.name} above ${spec.alarms.cpu}% for 10 minutes`),
      Namespace: 'AWS/ECS',
      MetricName: 'CPUUtilization',
      Dimensions: ecsDimensions,
      Statistic: 'Average',
      Period: 300,
      EvaluationPeriods: 2,
      Threshold: spec.alarms.cpu,
      ComparisonOperator: 'GreaterThanThreshold',
    },
    {
      ...common('memory', `memory of ${args.app}/${spec.name} above ${spec.alarms.memory}% for 10 minutes`),
      Namespace: 'AWS/ECS',
      MetricName: 'MemoryUtilization',
      Dimensions: ecsDimensions,
      Statistic: 'Average',
      Period: 300,
      EvaluationPeriods: 2,
      Threshold: spec.alarms.memory,
      ComparisonOperator: 'GreaterThanThreshold',
    },
  ];
  const lb = loadBalancerDimension(args.rack.listenerArn);
  const tg = args.service.targetGroupArn && targetGroupDimension(args.service.targetGroupArn);
  if (lb && tg) {
    const albDimensions = [
      { Name: 'TargetGroup', Value: tg },
      { Name: 'LoadBalancer', Value: lb },
    ];
    alarms.push(
      {
        ...common('unhealthy', `${args.app}/${spec.name} has ${spec.alarms.unhealthy} or more unhealthy targets`),
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'UnHealthyHostCount',
        Dimensions: albDimensions,
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 3,
        Threshold: spec.alarms.unhealthy,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        ...common('5xx', `${args.app}/${spec.name} answered more than ${spec.alarms.http5xx} 5XX per minute`),
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'HTTPCode_Target_5XX_Count',
        Dimensions: albDimensions,
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 2,
        Threshold: spec.alarms.http5xx,
        ComparisonOperator: 'GreaterThanThreshold',
      },
    );
  }
  return alarms;
}

/** The names of a service's alarms (every metric, whether or not it has one). */
export function serviceAlarmNames(rack: string, app: string, service: string): string[] {
  return ALARM_METRICS.map((metric) => alarmName(rack, app, service, metric));
}

/** Throws NotOwned when an alarm of these names exists and is tagged for another app or rack. */
export async function assertAlarmsOwned(cloudwatch: CloudWatchClient, names: string[], rack: string, app: string): Promise<void> {
  // DescribeAlarms takes at most 100 names
  for (let i = 0; i < names.length; i += 100) {
    const found = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: names.slice(i, i + 100), AlarmTypes: ['MetricAlarm'] }));
    for (const alarm of found.MetricAlarms ?? []) {
      const tags = await cloudwatch.send(new ListTagsForResourceCommand({ ResourceARN: alarm.AlarmArn }));
      assertOwned('CloudWatch alarm', alarm.AlarmName ?? '', tagMap(tags.Tags), rack, app);
    }
  }
}

export async function putServiceAlarms(cloudwatch: CloudWatchClient, args: Parameters<typeof serviceAlarms>[0]): Promise<void> {
  await assertAlarmsOwned(cloudwatch, serviceAlarmNames(args.rack.name, args.app, args.service.service), args.rack.name, args.app);
  const alarms = serviceAlarms(args);
  for (const alarm of alarms) await cloudwatch.send(new PutMetricAlarmCommand(alarm));
  // a service that lost its port loses its load balancer alarms
  if (!alarms.some((a) => a.MetricName === 'UnHealthyHostCount')) {
    const names = ['unhealthy', '5xx'].map((m) => alarmName(args.rack.name, args.app, args.service.service, m));
    await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: names }));
  }
}
