/**
 * One naming convention for per-service CloudWatch alarms, shared by the code that creates them and the
 * code that reads their SNS notifications: `<rack>-<app>-<service>-<metric>`, e.g.
 * `rackless-demo-shop-web-unhealthy`. Rack, app and service may contain hyphens, so the name alone is
 * ambiguous; the creator also puts an exact marker in AlarmDescription (alarmDescription), which the
 * reader prefers. Pure: no clients.
 */
import type { CloudWatchAlarmDimension, CloudWatchAlarmMessage } from '../events/types.js';
import type { Notification } from './types.js';

export type CloudWatchAlarmNotification = Extract<Notification, { kind: 'cloudwatch-alarm' }>;

export interface AlarmOwner {
  rack: string;
  app: string;
  service: string;
  metric: string;
}

// CloudWatch's limit on AlarmName.
const ALARM_NAME_MAX = 255;
const MARKER = /\[rackless:app=([^,\]]+),service=([^,\]]+),metric=([^,\]]+)\]/;

function checkPart(label: string, value: string, pattern: RegExp): void {
  if (!pattern.test(value)) throw new TypeError(`ALARM_NAME_INVALID: ${label} "${value}" must match ${pattern}`);
}

/** `<rack>-<app>-<service>-<metric>`; the metric is one word (unhealthy, 5xx, cpu, memory) so it can be split off. */
export function alarmName(rack: string, app: string, service: string, metric: string): string {
  checkPart('rack', rack, /^[A-Za-z0-9][\w-]*$/);
  checkPart('app', app, /^[A-Za-z0-9][\w-]*$/);
  checkPart('service', service, /^[A-Za-z0-9][\w-]*$/);
  checkPart('metric', metric, /^[A-Za-z0-9]+$/);
  const name = `${rack}-${app}-${service}-${metric}`;
  if (name.length > ALARM_NAME_MAX) throw new TypeError(`ALARM_NAME_INVALID: "${name}" is longer than ${ALARM_NAME_MAX} characters`);
  return name;
}

/** AlarmDescription for an alarm named by alarmName: the human text, then a marker the reader trusts over the name. */
export function alarmDescription(owner: AlarmOwner, text: string): string {
  return `${text} [rackless:app=${owner.app},service=${owner.service},metric=${owner.metric}]`;
}

/**
 * Reads app, service and metric back from an alarm name. With the rack known, only the app/service split
 * is guessed (service = last word); without it, app and service are the two words before the metric.
 */
export function parseAlarmName(name: string, rack?: string): (Omit<AlarmOwner, 'rack'> & { rack?: string }) | undefined {
  const metricAt = name.lastIndexOf('-');
  if (metricAt <= 0) return undefined;
  const metric = name.slice(metricAt + 1);
  const owner = splitServiceName(name.slice(0, metricAt), rack);
  return owner && metric ? { ...owner, metric } : undefined;
}

/** `<rack>-<app>-<service>` (an ECS service or target group name) → its parts, by the same rule as parseAlarmName. */
export function splitServiceName(name: string, rack?: string): { rack?: string; app: string; service: string } | undefined {
  if (rack !== undefined) {
    if (!name.startsWith(`${rack}-`)) return undefined;
    const rest = name.slice(rack.length + 1);
    const serviceAt = rest.lastIndexOf('-');
    if (serviceAt <= 0 || serviceAt === rest.length - 1) return undefined;
    return { rack, app: rest.slice(0, serviceAt), service: rest.slice(serviceAt + 1) };
  }
  const parts = name.split('-');
  if (parts.length < 3 || parts.some((part) => part === '')) return undefined;
  const service = parts.pop()!;
  const app = parts.pop()!;
  return { rack: parts.join('-'), app, service };
}

function fromDimensions(dimensions: CloudWatchAlarmDimension[], rack?: string): { app: string; service: string } | undefined {
  for (const { name, value } of dimensions) {
    // ECS: ServiceName is the service name; ALB: TargetGroup is "targetgroup/<name>/<hash>".
    const serviceName = name === 'ServiceName' ? value : name === 'TargetGroup' ? /^targetgroup\/([^/]+)\//.exec(value)?.[1] : undefined;
    const owner = serviceName ? splitServiceName(serviceName, rack) : undefined;
    if (owner) return { app: owner.app, service: owner.service };
  }
  return undefined;
}

// CloudWatch writes "2026-03-02T14:09:40.321+0000"; ISO 8601 as JavaScript parses it needs "+00:00".
function isoTime(time: string): string {
  const date = new Date(time.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(date.getTime()) ? time : date.toISOString();
}

/**
 * The SNS-delivered CloudWatch alarm (Records[].Sns.Message) as a notification, with app and service
 * recovered from the description marker, the alarm name, or the metric's dimensions, in that order.
 */
export function parseCloudWatchAlarm(message: string, options: { rack?: string } = {}): CloudWatchAlarmNotification {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw new TypeError(`ALARM_MESSAGE_INVALID: SNS message is not JSON, so not a CloudWatch alarm: ${JSON.stringify(message.slice(0, 80))}`);
  }
  const alarm = parsed as Partial<CloudWatchAlarmMessage> | null;
  if (typeof alarm !== 'object' || alarm === null || typeof alarm.AlarmName !== 'string' || typeof alarm.NewStateValue !== 'string') {
    const keys = typeof alarm === 'object' && alarm !== null ? Object.keys(alarm).slice(0, 10).join(', ') : typeof alarm;
    throw new TypeError(`ALARM_MESSAGE_INVALID: SNS message is not a CloudWatch alarm: AlarmName and NewStateValue are required (got ${keys || 'nothing'})`);
  }
  const notification: CloudWatchAlarmNotification = {
    kind: 'cloudwatch-alarm',
    alarmName: alarm.AlarmName,
    state: alarm.NewStateValue,
    reason: alarm.NewStateReason ?? '',
  };
  if (alarm.OldStateValue) notification.previousState = alarm.OldStateValue;
  if (alarm.Trigger?.MetricName) notification.metric = alarm.Trigger.MetricName;
  if (alarm.StateChangeTime) notification.time = isoTime(alarm.StateChangeTime);
  const marker = MARKER.exec(alarm.AlarmDescription ?? '');
  const owner = marker
    ? { app: marker[1]!, service: marker[2]! }
    : (parseAlarmName(alarm.AlarmName, options.rack) ?? fromDimensions(alarm.Trigger?.Dimensions ?? [], options.rack));
  if (owner) {
    notification.app = owner.app;
    notification.service = owner.service;
  }
  return notification;
}
