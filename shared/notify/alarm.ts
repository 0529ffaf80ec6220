/**
 * Per-service CloudWatch alarms, named by shared/names.ts: `<rack>--<app>--<service>--<metric>`, e.g.
 * `rackless-demo--shop--web--unhealthy`, which splits back into its parts one way only. The creator
 * also puts a marker in AlarmDescription (alarmDescription), which the reader prefers. Pure: no clients.
 */
import type { CloudWatchAlarmDimension, CloudWatchAlarmMessage } from '../events/types.js';
import { parseAlarmName as parseAlarm, parseServiceName, serviceNames } from '../names.js';
import type { Notification } from './types.js';

export type CloudWatchAlarmNotification = Extract<Notification, { kind: 'cloudwatch-alarm' }>;

export interface AlarmOwner {
  rack: string;
  app: string;
  service: string;
  metric: string;
}

/** `<rack>--<app>--<service>--<metric>` (shared/names.ts makes every name). */
export function alarmName(rack: string, app: string, service: string, metric: string): string {
  return serviceNames({ name: rack }, app, service).alarm(metric);
}

/** AlarmDescription for an alarm named by alarmName: the human text, then a marker the reader trusts over the name. */
export function alarmDescription(owner: AlarmOwner, text: string): string {
  return `${text} [rackless:app=${owner.app},service=${owner.service},metric=${owner.metric}]`;
}

const MARKER = /\[rackless:app=([^,\]]+),service=([^,\]]+),metric=([^,\]]+)\]/;

/** Reads app, service and metric back from an alarm name: the parts split one way only. */
export function parseAlarmName(name: string, rack?: string): (Omit<AlarmOwner, 'rack'> & { rack?: string }) | undefined {
  return parseAlarm(name, rack);
}

/** `<rack>--<app>--<service>` (an ECS service name) → its parts. */
export function splitServiceName(name: string, rack?: string): { rack?: string; app: string; service: string } | undefined {
  return parseServiceName(name, rack);
}

function fromDimensions(dimensions: CloudWatchAlarmDimension[], rack?: string): { app: string; service: string } | undefined {
  for (const { name, value } of dimensions) {
    // ECS: ServiceName is the service name. A target group's name is a truncated prefix and a hash
    // (shared/names.ts), so the ALB's TargetGroup dimension cannot be split back into its owner.
    const owner = name === 'ServiceName' ? splitServiceName(value, rack) : undefined;
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
