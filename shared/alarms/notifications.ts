/**
 * The notifications a service's alarms send, built from classified ECS events. Pure: the adapter adds
 * the release and log lines it read, and publishes through shared/aws/sns.ts.
 */
import type { ServiceAction, TaskStop } from '../events/classify.js';
import { formatDuration, splitServiceName } from '../notify/render.js';
import type { Notification } from '../notify/types.js';

type Kind<K extends Notification['kind']> = Extract<Notification, { kind: K }>;

export interface ServiceOwner {
  /** the ECS service name, `<rack>-<app>-<service>` */
  serviceName: string;
  app: string;
  service: string;
}

/** App and service of one of this rack's ECS services; undefined for a service the rack does not own. */
export function ownerOf(serviceName: string, rack: string): ServiceOwner | undefined {
  const parts = splitServiceName(serviceName, rack);
  return parts ? { serviceName, app: parts.app, service: parts.service } : undefined;
}

function shortTaskDefinition(arn: string): string {
  return arn.replace(/^arn:[^:]+:ecs:[^:]*:\d*:task-definition\//, '');
}

/** What the alarm shows of a stop: ECS's own words first, then exit code, OOM, health check. */
export function evidenceOf(stop: TaskStop): Record<string, string | number | boolean> {
  const e = stop.evidence;
  const evidence: Record<string, string | number | boolean> = {};
  const put = (key: string, value: string | number | boolean | undefined) => {
    if (value !== undefined && value !== '') evidence[key] = value;
  };
  put('stoppedReason', e.stoppedReason);
  put('stopCode', e.stopCode);
  put('container', e.container);
  put('exitCode', e.exitCode);
  put('containerReason', e.containerReason);
  put('oom', e.oom);
  put('healthCheck', e.healthCheck);
  put('targetGroup', e.targetGroup);
  put('task', stop.taskArn.split('/').pop());
  put('taskDefinition', shortTaskDefinition(stop.taskDefinitionArn));
  return evidence;
}

export function crashLoopNotification(args: { owner: ServiceOwner; stop: TaskStop; stops: number; sinceMs: number; releaseId?: string; logLines?: string[] }): Kind<'crash-loop'> {
  const n: Kind<'crash-loop'> = {
    kind: 'crash-loop',
    app: args.owner.app,
    service: args.owner.service,
    stops: args.stops,
    windowSeconds: Math.round(args.sinceMs / 1000),
    cause: args.stop.summary,
    evidence: evidenceOf(args.stop),
  };
  if (args.releaseId) n.releaseId = args.releaseId;
  if (args.logLines?.length) n.logLines = args.logLines;
  return n;
}

// The event name and what it means for the alarm name's last word (CloudWatch's `<rack>-<app>-<service>-<metric>`).
const WARNING_METRICS: Record<string, string> = { SERVICE_TASK_PLACEMENT_FAILURE: 'placement', SERVICE_TASK_START_IMPAIRED: 'startimpaired' };

/**
 * A placement failure or impaired start. No notification kind says "warning about a service", so it is
 * rendered as an alarm in state WARNING (severity warning) named like the rack's CloudWatch alarms.
 */
export function serviceWarningNotification(args: { owner: ServiceOwner; action: ServiceAction; now: number }): Kind<'cloudwatch-alarm'> {
  const metric = WARNING_METRICS[args.action.eventName] ?? args.action.eventName.toLowerCase();
  return {
    kind: 'cloudwatch-alarm',
    alarmName: `${args.owner.serviceName}-${metric}`,
    state: 'WARNING',
    reason: args.action.summary,
    metric: args.action.eventName,
    app: args.owner.app,
    service: args.owner.service,
    time: new Date(args.now).toISOString(),
  };
}

export function recoveredNotification(args: { owner: ServiceOwner; because: string; stops: number; sinceMs: number; releaseId?: string }): Kind<'recovered'> {
  const stops = args.stops === 1 ? '1 unexpected task stop' : `${args.stops} unexpected task stops`;
  const n: Kind<'recovered'> = {
    kind: 'recovered',
    app: args.owner.app,
    service: args.owner.service,
    message: `${args.because}; ${stops} in ${formatDuration(args.sinceMs)} since the first alarm`,
  };
  if (args.releaseId) n.releaseId = args.releaseId;
  return n;
}
