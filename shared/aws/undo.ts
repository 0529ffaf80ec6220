import { DeleteAlarmsCommand, type MetricAlarm, PutMetricAlarmCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeTaskDefinitionCommand, RegisterTaskDefinitionCommand, type ECSClient, type RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import { DeleteRuleCommand, ModifyTargetGroupAttributesCommand, ModifyTargetGroupCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AlarmBefore, HostRuleBefore, HostRuleNow, TargetGroupBefore } from '../deploy/undo.js';
import { describeAlarms } from './alarms.js';
import { createHostRule, type ListenerRules, listRules, pickPriority, ruleHosts, ruleTargetGroups, type TargetGroupNow } from './elb.js';

/**
 * Reads of what Promote is about to change, and the writes that put it back (shared/deploy/undo.ts
 * decides which). Every function takes its client.
 */

/** Pure: the target group's health check and deregistration delay as Promote found them. */
export function targetGroupBefore(now: TargetGroupNow): TargetGroupBefore {
  const group = now.group;
  const delay = now.attributes.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value;
  return {
    arn: now.arn,
    healthCheck: {
      ...(group.HealthCheckProtocol ? { protocol: group.HealthCheckProtocol } : {}),
      ...(group.HealthCheckPath ? { path: group.HealthCheckPath } : {}),
      ...(group.HealthCheckIntervalSeconds !== undefined ? { intervalSeconds: group.HealthCheckIntervalSeconds } : {}),
      ...(group.HealthCheckTimeoutSeconds !== undefined ? { timeoutSeconds: group.HealthCheckTimeoutSeconds } : {}),
      ...(group.HealthyThresholdCount !== undefined ? { healthyThreshold: group.HealthyThresholdCount } : {}),
      ...(group.UnhealthyThresholdCount !== undefined ? { unhealthyThreshold: group.UnhealthyThresholdCount } : {}),
      ...(group.Matcher?.HttpCode ? { matcher: group.Matcher.HttpCode } : {}),
    },
    ...(delay !== undefined ? { deregistrationDelay: delay } : {}),
  };
}

/** The target group's health check and deregistration delay back to what they were. */
export async function restoreTargetGroup(elb: ElasticLoadBalancingV2Client, before: TargetGroupBefore): Promise<void> {
  const h = before.healthCheck;
  await elb.send(
    new ModifyTargetGroupCommand({
      TargetGroupArn: before.arn,
      ...(h.protocol ? { HealthCheckProtocol: h.protocol as 'HTTP' } : {}),
      ...(h.path ? { HealthCheckPath: h.path } : {}),
      ...(h.intervalSeconds !== undefined ? { HealthCheckIntervalSeconds: h.intervalSeconds } : {}),
      ...(h.timeoutSeconds !== undefined ? { HealthCheckTimeoutSeconds: h.timeoutSeconds } : {}),
      ...(h.healthyThreshold !== undefined ? { HealthyThresholdCount: h.healthyThreshold } : {}),
      ...(h.unhealthyThreshold !== undefined ? { UnhealthyThresholdCount: h.unhealthyThreshold } : {}),
      ...(h.matcher ? { Matcher: { HttpCode: h.matcher } } : {}),
    }),
  );
  if (before.deregistrationDelay !== undefined) {
    await elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: before.arn,
        Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: before.deregistrationDelay }],
      }),
    );
  }
}

/** The host rules forwarding to the target group now, one per listener and host. */
export async function hostRulesTo(elb: ElasticLoadBalancingV2Client, listenerArns: string[], targetGroupArn: string): Promise<Array<HostRuleBefore & HostRuleNow>> {
  const found: Array<HostRuleBefore & HostRuleNow> = [];
  for (const listenerArn of listenerArns) {
    for (const rule of await listRules(elb, listenerArn)) {
      if (rule.IsDefault || !ruleTargetGroups(rule).includes(targetGroupArn)) continue;
      for (const host of ruleHosts(rule)) found.push({ listenerArn, host, priority: Number(rule.Priority), ruleArn: rule.RuleArn! });
    }
  }
  return found;
}

/** Pure: the host rules forwarding to the target group in a Promote's snapshot of the listeners, one per listener and host. */
export function hostRulesIn(rules: ListenerRules, targetGroupArn: string): HostRuleBefore[] {
  return rules.forwardingTo(targetGroupArn).flatMap(({ listenerArn, rule }) => ruleHosts(rule).map((host) => ({ listenerArn, host, priority: Number(rule.Priority) })));
}

/** Deletes the rules Promote added and creates again, at their old priority when it is free, the rules it removed. */
export async function restoreHostRules(
  elb: ElasticLoadBalancingV2Client,
  change: { remove: HostRuleNow[]; recreate: HostRuleBefore[] },
  targetGroupArn: string,
  tags: Record<string, string>,
): Promise<void> {
  for (const rule of new Set(change.remove.map((r) => r.ruleArn))) await elb.send(new DeleteRuleCommand({ RuleArn: rule }));
  for (const rule of change.recreate) {
    const taken = new Set((await listRules(elb, rule.listenerArn)).map((r) => Number(r.Priority)).filter(Number.isFinite));
    const priority = taken.has(rule.priority) ? pickPriority(rule.host, taken) : rule.priority;
    await createHostRule(elb, { listenerArn: rule.listenerArn, priority, host: rule.host, targetGroupArn, tags });
  }
}

/** The alarms of these names as they are, in PutMetricAlarm's fields. */
export async function alarmsBefore(cloudwatch: CloudWatchClient, names: string[]): Promise<AlarmBefore[]> {
  return (await describeAlarms(cloudwatch, names)).map(alarmBefore);
}

/** Pure: an alarm as DescribeAlarms returns it, in the PutMetricAlarm fields Rackless sets. */
export function alarmBefore(a: MetricAlarm): AlarmBefore {
  return {
    AlarmName: a.AlarmName!,
    ...(a.AlarmDescription ? { AlarmDescription: a.AlarmDescription } : {}),
    ...(a.AlarmActions ? { AlarmActions: a.AlarmActions } : {}),
    ...(a.OKActions ? { OKActions: a.OKActions } : {}),
    ...(a.TreatMissingData ? { TreatMissingData: a.TreatMissingData } : {}),
    ...(a.Namespace ? { Namespace: a.Namespace } : {}),
    ...(a.MetricName ? { MetricName: a.MetricName } : {}),
    ...(a.Dimensions ? { Dimensions: a.Dimensions.map((d) => ({ Name: d.Name!, Value: d.Value! })) } : {}),
    ...(a.Statistic ? { Statistic: a.Statistic } : {}),
    ...(a.Period !== undefined ? { Period: a.Period } : {}),
    ...(a.EvaluationPeriods !== undefined ? { EvaluationPeriods: a.EvaluationPeriods } : {}),
    ...(a.Threshold !== undefined ? { Threshold: a.Threshold } : {}),
    ...(a.ComparisonOperator ? { ComparisonOperator: a.ComparisonOperator } : {}),
  };
}

/** The service's alarms back to the recorded ones: those Promote added are deleted, the others put back as they were. */
export async function restoreAlarms(cloudwatch: CloudWatchClient, names: string[], before: AlarmBefore[]): Promise<void> {
  const kept = new Set(before.map((a) => a.AlarmName));
  const added = names.filter((n) => !kept.has(n));
  if (added.length > 0) await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: added }));
  // PutMetricAlarm on an existing alarm replaces its definition (tags are left as they are)
  for (const alarm of before) await cloudwatch.send(new PutMetricAlarmCommand(alarm as ConstructorParameters<typeof PutMetricAlarmCommand>[0]));
}

/**
 * A task definition that can run again: an INACTIVE (deregistered) revision cannot back a service
 * ("you can't update an existing service to reference an INACTIVE task definition"), so it is
 * registered again from what DescribeTaskDefinition still returns for it ("INACTIVE task
 * definitions remain discoverable in your account indefinitely" — both Amazon ECS API Reference,
 * DeregisterTaskDefinition; a deleted one cannot be described, and Rollback reports that service as
 * failed). The ARN to use, and whether it is a new revision.
 */
export async function activeTaskDefinition(ecs: ECSClient, arn: string): Promise<{ arn: string; reregistered: boolean }> {
  const described = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }));
  const td = described.taskDefinition;
  if (!td) throw new Error(`task definition ${arn} could not be described`);
  if (td.status === 'ACTIVE') return { arn, reregistered: false };
  const input: RegisterTaskDefinitionCommandInput = {
    family: td.family!,
    containerDefinitions: td.containerDefinitions!,
    ...(td.taskRoleArn ? { taskRoleArn: td.taskRoleArn } : {}),
    ...(td.executionRoleArn ? { executionRoleArn: td.executionRoleArn } : {}),
    ...(td.networkMode ? { networkMode: td.networkMode } : {}),
    ...(td.volumes?.length ? { volumes: td.volumes } : {}),
    ...(td.placementConstraints?.length ? { placementConstraints: td.placementConstraints } : {}),
    ...(td.requiresCompatibilities?.length ? { requiresCompatibilities: td.requiresCompatibilities } : {}),
    ...(td.cpu ? { cpu: td.cpu } : {}),
    ...(td.memory ? { memory: td.memory } : {}),
    ...(td.runtimePlatform ? { runtimePlatform: td.runtimePlatform } : {}),
    ...(described.tags?.length ? { tags: described.tags } : {}),
  };
  const registered = await ecs.send(new RegisterTaskDefinitionCommand(input));
  return { arn: registered.taskDefinition!.taskDefinitionArn!, reregistered: true };
}
