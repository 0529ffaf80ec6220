import {
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  ListTagsForResourceCommand,
  type MetricAlarm,
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

/** The metric alarms of these names that exist, as DescribeAlarms returns them. */
export async function describeAlarms(cloudwatch: CloudWatchClient, names: string[]): Promise<MetricAlarm[]> {
  const found: MetricAlarm[] = [];
  // DescribeAlarms takes at most 100 names
  for (let i = 0; i < names.length; i += 100) {
    const res = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: names.slice(i, i + 100), AlarmTypes: ['MetricAlarm'] }));
    found.push(...(res.MetricAlarms ?? []));
  }
  return found;
}

/** Throws NotOwned when one of these alarms is tagged for another app or rack. */
async function assertOwnedAlarms(cloudwatch: CloudWatchClient, alarms: MetricAlarm[], rack: string, app: string): Promise<void> {
  for (const alarm of alarms) {
    const tags = await cloudwatch.send(new ListTagsForResourceCommand({ ResourceARN: alarm.AlarmArn }));
    assertOwned('CloudWatch alarm', alarm.AlarmName ?? '', tagMap(tags.Tags), rack, app);
  }
}

/** Throws NotOwned when an alarm of these names exists and is tagged for another app or rack. */
export async function assertAlarmsOwned(cloudwatch: CloudWatchClient, names: string[], rack: string, app: string): Promise<void> {
  await assertOwnedAlarms(cloudwatch, await describeAlarms(cloudwatch, names), rack, app);
}

const sameList = (a: string[] | undefined, b: string[] | undefined) => JSON.stringify([...(a ?? [])].sort()) === JSON.stringify([...(b ?? [])].sort());
const dimensionsOf = (d: Array<{ Name?: string; Value?: string }> | undefined) => (d ?? []).map((x) => `${x.Name}=${x.Value}`);

/**
 * Pure: whether PutMetricAlarm would change the alarm, in the fields Rackless sets. Tags are not
 * compared: PutMetricAlarm ignores them on an existing alarm (PutMetricAlarm, Tags: "If you are using
 * this operation to update an existing alarm, any tags you specify in this parameter are ignored").
 */
export function alarmDiffers(current: MetricAlarm, wanted: PutMetricAlarmCommandInput): boolean {
  return (
    current.AlarmDescription !== wanted.AlarmDescription ||
    !sameList(current.AlarmActions, wanted.AlarmActions) ||
    !sameList(current.OKActions, wanted.OKActions) ||
    !sameList(current.InsufficientDataActions, wanted.InsufficientDataActions) ||
    current.TreatMissingData !== wanted.TreatMissingData ||
    current.Namespace !== wanted.Namespace ||
    current.MetricName !== wanted.MetricName ||
    !sameList(dimensionsOf(current.Dimensions), dimensionsOf(wanted.Dimensions)) ||
    current.Statistic !== wanted.Statistic ||
    current.Period !== wanted.Period ||
    current.EvaluationPeriods !== wanted.EvaluationPeriods ||
    current.Threshold !== wanted.Threshold ||
    current.ComparisonOperator !== wanted.ComparisonOperator ||
    // Rackless leaves these unset: an alarm with one was changed by hand
    current.ActionsEnabled === false ||
    current.DatapointsToAlarm !== undefined ||
    current.Unit !== undefined ||
    current.ExtendedStatistic !== undefined
  );
}

/** Pure: the alarms to put (new or different) and the names to delete (those the service no longer has). */
export function alarmChanges(wanted: PutMetricAlarmCommandInput[], current: MetricAlarm[], names: string[]): { put: PutMetricAlarmCommandInput[]; remove: string[] } {
  const byName = new Map(current.map((a) => [a.AlarmName, a]));
  const put = wanted.filter((w) => {
    const now = byName.get(w.AlarmName);
    return !now || alarmDiffers(now, w);
  });
  const kept = new Set(wanted.map((w) => w.AlarmName));
  return { put, remove: names.filter((n) => !kept.has(n) && byName.has(n)) };
}

/**
 * The service's alarms as its manifest says, writing only the alarms that differ from the ones there
 * (`current`: DescribeAlarms of the service's alarm names) and deleting those it no longer has (a
 * service that lost its port loses its load balancer alarms). An alarm is overwritten or deleted only
 * when it is this app's.
 */
export async function syncServiceAlarms(
  cloudwatch: CloudWatchClient,
  args: Parameters<typeof serviceAlarms>[0],
  current: MetricAlarm[],
): Promise<{ put: string[]; removed: string[] }> {
  const names = serviceAlarmNames(args.rack.name, args.app, args.service.service);
  const { put, remove } = alarmChanges(serviceAlarms(args), current, names);
  const touched = new Set([...put.map((p) => p.AlarmName), ...remove]);
  await assertOwnedAlarms(
    cloudwatch,
    current.filter((a) => touched.has(a.AlarmName)),
    args.rack.name,
    args.app,
  );
  for (const alarm of put) await cloudwatch.send(new PutMetricAlarmCommand(alarm));
  if (remove.length) await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: remove }));
  return { put: put.map((p) => p.AlarmName!), removed: remove };
}
