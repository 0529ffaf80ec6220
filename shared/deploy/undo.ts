import type { Service } from '@aws-sdk/client-ecs';

/**
 * What Promote is about to change for one service, recorded before its first change (first write
 * wins, so a retried Promote keeps the state from before the deploy, not from its own first attempt).
 * Rollback restores exactly this: it is the recorded inverse of Promote, not a guess from the
 * previous release's manifest.
 */
export interface UndoRecord {
  app: string;
  release: string;
  /** the manifest's service name */
  service: string;
  /** the ECS service name */
  serviceName: string;
  /** the service as it was; absent when Promote creates it */
  ecs?: ServiceBefore;
  /** the service's target group as it was; absent when there was none (Promote creates it, or the service has no port) */
  targetGroup?: TargetGroupBefore;
  /** the host rules that forwarded to the service's target group, on every listener of the rack */
  rules: HostRuleBefore[];
  /** the service's CloudWatch alarms as they were, ready for PutMetricAlarm */
  alarms: AlarmBefore[];
  recordedAt: string;
}

export interface LoadBalancerMapping {
  targetGroupArn: string;
  containerName: string;
  containerPort: number;
}

export interface ServiceBefore {
  taskDefinition: string;
  desiredCount: number;
  loadBalancers: LoadBalancerMapping[];
  healthCheckGracePeriodSeconds?: number;
  minimumHealthyPercent?: number;
  maximumPercent?: number;
  /** the PRIMARY deployment before Promote: a different one on the release's task definition is Promote's own */
  primaryDeploymentId?: string;
}

export interface TargetGroupBefore {
  arn: string;
  healthCheck: {
    protocol?: string;
    path?: string;
    intervalSeconds?: number;
    timeoutSeconds?: number;
    healthyThreshold?: number;
    unhealthyThreshold?: number;
    matcher?: string;
  };
  /** the `deregistration_delay.timeout_seconds` attribute */
  deregistrationDelay?: string;
}

export interface HostRuleBefore {
  listenerArn: string;
  host: string;
  priority: number;
}

/** The PutMetricAlarm fields Rackless sets (shared/aws/alarms.ts), as DescribeAlarms returned them. */
export interface AlarmBefore {
  AlarmName: string;
  AlarmDescription?: string;
  AlarmActions?: string[];
  OKActions?: string[];
  TreatMissingData?: string;
  Namespace?: string;
  MetricName?: string;
  Dimensions?: Array<{ Name: string; Value: string }>;
  Statistic?: string;
  Period?: number;
  EvaluationPeriods?: number;
  Threshold?: number;
  ComparisonOperator?: string;
}

/** Pure: the service's settings Promote may change, as ECS describes them. */
export function serviceBefore(service: Service): ServiceBefore {
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
  return {
    taskDefinition: service.taskDefinition!,
    desiredCount: service.desiredCount ?? 0,
    loadBalancers: (service.loadBalancers ?? [])
      .filter((lb) => lb.targetGroupArn && lb.containerName && lb.containerPort !== undefined)
      .map((lb) => ({ targetGroupArn: lb.targetGroupArn!, containerName: lb.containerName!, containerPort: lb.containerPort! })),
    ...(service.healthCheckGracePeriodSeconds !== undefined ? { healthCheckGracePeriodSeconds: service.healthCheckGracePeriodSeconds } : {}),
    ...(service.deploymentConfiguration?.minimumHealthyPercent !== undefined ? { minimumHealthyPercent: service.deploymentConfiguration.minimumHealthyPercent } : {}),
    ...(service.deploymentConfiguration?.maximumPercent !== undefined ? { maximumPercent: service.deploymentConfiguration.maximumPercent } : {}),
    ...(primary?.id ? { primaryDeploymentId: primary.id } : {}),
  };
}

export type ServiceAction = 'create' | 'update' | 'applied';

/**
 * Pure: what Promote does to the ECS service, given what it was before the deploy (the undo record)
 * and what it is now.
 * - `create`: there is no service.
 * - `applied`: a retried Promote finds its own change in place (the service it created, or a PRIMARY
 *   deployment on the release's task definition that was not there before): it sends nothing, so a
 *   retry never starts a second deployment.
 * - `update`: one UpdateService, which starts one deployment.
 */
export function serviceAction(before: ServiceBefore | undefined, current: Service | undefined, taskDefinitionArn: string): ServiceAction {
  if (!current) return 'create';
  if (!before) return 'applied';
  // the service's taskDefinition is its latest UpdateService's, the one its PRIMARY deployment runs
  const primary = current.deployments?.find((d) => d.status === 'PRIMARY');
  if (primary?.id && primary.id !== before.primaryDeploymentId && current.taskDefinition === taskDefinitionArn) return 'applied';
  return 'update';
}

/** Pure: whether the service now differs from what it was in anything Rollback restores. */
export function serviceDiffers(before: ServiceBefore, current: Service): boolean {
  const now = serviceBefore(current);
  const mapping = (m: LoadBalancerMapping[]) => JSON.stringify(m.map((x) => [x.targetGroupArn, x.containerName, x.containerPort]).sort());
  return (
    now.taskDefinition !== before.taskDefinition ||
    now.desiredCount !== before.desiredCount ||
    mapping(now.loadBalancers) !== mapping(before.loadBalancers) ||
    (before.healthCheckGracePeriodSeconds !== undefined && now.healthCheckGracePeriodSeconds !== before.healthCheckGracePeriodSeconds) ||
    (before.minimumHealthyPercent !== undefined && now.minimumHealthyPercent !== before.minimumHealthyPercent) ||
    (before.maximumPercent !== undefined && now.maximumPercent !== before.maximumPercent)
  );
}

/** A host rule as it is now: its ARN, to delete it. */
export interface HostRuleNow {
  listenerArn: string;
  host: string;
  ruleArn: string;
}

/** Pure: the rules to delete (added by Promote) and to create again (removed by Promote), per listener and host. */
export function rulesToRestore(before: HostRuleBefore[], now: HostRuleNow[]): { remove: HostRuleNow[]; recreate: HostRuleBefore[] } {
  const key = (r: { listenerArn: string; host: string }) => `${r.listenerArn} ${r.host}`;
  const wanted = new Set(before.map(key));
  const present = new Set(now.map(key));
  return { remove: now.filter((r) => !wanted.has(key(r))), recreate: before.filter((r) => !present.has(key(r))) };
}
