/**
 * Turns every Notification into the same reading order: a short ASCII subject, the outcome in one
 * sentence, `Key: value` lines, then tables and log lines. Pure: the SNS publisher sends what this
 * returns. SNS limits (Publish API): Subject is "less than 100 characters", no line breaks or control
 * characters, and non-ASCII gets it rewritten; a message attribute must not have an empty value.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import type { FailureReason, Notification, RenderedNotification, ServiceChange, Severity, StepTiming } from './types.js';

export { alarmDescription, alarmName, parseAlarmName, parseCloudWatchAlarm, splitServiceName } from './alarm.js';
export type { AlarmOwner, CloudWatchAlarmNotification } from './alarm.js';

/** SNS wants fewer than 100 characters. */
export const SUBJECT_MAX = 99;
export const LOG_LINES_MAX = 20;
export const LOG_LINE_MAX = 300;

type Kind<K extends Notification['kind']> = Extract<Notification, { kind: K }>;

/** How loud a notification is: failures and crash loops are critical, a slow drain or unknown alarm state a warning. */
export function severityOf(n: Notification): Severity {
  switch (n.kind) {
    case 'deploy':
      return n.status === 'failed' || n.status === 'rolled-back' ? 'critical' : 'info';
    case 'crash-loop':
      return 'critical';
    case 'recovered':
      return 'info';
    case 'drain':
      return n.status === 'timed-out' || n.status === 'failed' ? 'warning' : 'info';
    case 'cloudwatch-alarm':
      return n.state === 'ALARM' ? 'critical' : n.state === 'OK' ? 'info' : 'warning';
    case 'redeploy-rejected':
      return 'warning';
  }
}

/** "350ms", "2.1s", "45s", "1m04s", "2h05m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 9950) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

const ASCII_LOOKALIKES: [RegExp, string][] = [
  [/[\u2026]/g, '...'],
  [/[\u2192\u21d2]/g, '->'],
  [/[\u2013\u2014\u2212]/g, '-'],
  [/[\u00b7\u2022]/g, '-'],
  [/[\u2018\u2019\u201a\u2032]/g, "'"],
  [/[\u201c\u201d\u201e\u2033]/g, '"'],
  [/\u00d7/g, 'x'],
];

/** Printable ASCII on one line: lookalikes become their ASCII spelling, accents drop, anything else becomes "?". */
export function toAscii(text: string): string {
  return asciiPart(text).trim();
}

function asciiPart(text: string): string {
  let out = text;
  for (const [pattern, ascii] of ASCII_LOOKALIKES) out = out.replace(pattern, ascii);
  out = out.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  out = out.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  // Astral characters (emoji) are one "?", not two.
  out = Array.from(out, (ch) => (ch >= ' ' && ch <= '~' ? ch : '?')).join('');
  return out.replace(/\s+/g, ' ');
}

function truncate(text: string, max: number, ellipsis = '...'): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - ellipsis.length)).trimEnd()}${ellipsis}`;
}

/**
 * The subject from a name part that may shrink (app, service, instance) and an outcome part that should
 * survive: a long app name is cut before the word "failed" is.
 */
export function fitSubject(name: string, outcome: string, prefix = ''): string {
  const lead = asciiPart(prefix);
  const head = toAscii(name);
  const tail = asciiPart(outcome).trimEnd();
  const room = SUBJECT_MAX - lead.length - tail.length;
  const fitted = head.length <= room ? head : truncate(head, Math.max(room, 16));
  const subject = truncate(`${lead}${fitted}${tail}`.trim(), SUBJECT_MAX);
  return subject || 'Rackless notification';
}

function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

function firstLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .find((line) => line.trim() !== '')
      ?.trim() ?? ''
  );
}

// ANSI colour codes and stray control characters make log lines unreadable in email.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;

function cleanLogLine(line: string): string {
  const plain = line
    .replace(ANSI, '')
    .replace(/\t/g, '  ')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .trimEnd();
  return truncate(plain, LOG_LINE_MAX, '…');
}

class Body {
  private readonly blocks: string[][] = [];
  private current: string[] = [];

  constructor(outcome: string) {
    this.current.push(sentence(outcome));
    this.section();
  }

  /** `Key: value`, left out when the value is empty. */
  kv(key: string, value: string | number | boolean | undefined | null): this {
    if (value === undefined || value === null || value === '') return this;
    const text = typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
    this.current.push(`${key}: ${text.replace(/\s*\r?\n\s*/g, ' ')}`);
    return this;
  }

  lines(lines: string[]): this {
    this.current.push(...lines);
    return this;
  }

  section(): this {
    if (this.current.length > 0) this.blocks.push(this.current);
    this.current = [];
    return this;
  }

  toString(): string {
    this.section();
    return this.blocks.map((block) => block.join('\n')).join('\n\n');
  }
}

function logBlock(logLines: string[] | undefined, service?: string): string[] {
  if (!logLines || logLines.length === 0) return [];
  const last = logLines.slice(-LOG_LINES_MAX);
  const count = logLines.length > LOG_LINES_MAX ? `, last ${LOG_LINES_MAX} of ${logLines.length}` : '';
  return [`Last log lines${service ? ` of ${service}` : ''}${count}:`, ...last.map((line) => `  ${cleanLogLine(line)}`)];
}

function shortTaskDefinition(taskDefinition: string): string {
  return taskDefinition.replace(/^arn:[^:]+:ecs:[^:]*:\d*:task-definition\//, '');
}

// The registry host is the same for every service of a rack; the repository and tag are what differ.
function shortImage(image: string): string {
  const slash = image.indexOf('/');
  return slash > 0 && /[.:]|^localhost$/.test(image.slice(0, slash)) ? image.slice(slash + 1) : image;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (cells: string[]) => `  ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')}`.trimEnd();
  return [format(header), ...rows.map(format)];
}

function servicesTable(changes: ServiceChange[]): string[] {
  if (changes.length === 0) return [];
  const rows = changes.map((change) => {
    const current = shortTaskDefinition(change.taskDefinition);
    const revision = change.previousTaskDefinition ? `${shortTaskDefinition(change.previousTaskDefinition)} → ${current}` : `${current} (new)`;
    return [change.service, shortImage(change.image), revision, String(change.desiredCount), change.endpoints.join(', ') || '-'];
  });
  return ['Services:', ...table(['SERVICE', 'IMAGE', 'TASK DEFINITION', 'DESIRED', 'ENDPOINTS'], rows)];
}

/** "Prepare 2.1s · Build 1m04s · Release 0.8s". */
export function formatTimings(timings: StepTiming[]): string {
  return timings.map((timing) => `${timing.step} ${formatDuration(timing.durationMs)}`).join(' · ');
}

function releaseLabel(n: Kind<'deploy'>): string {
  if (n.releaseId && n.releaseNumber !== undefined) return `${n.releaseId} (#${n.releaseNumber})`;
  return n.releaseId ?? (n.releaseNumber !== undefined ? `#${n.releaseNumber}` : '');
}

/** A few words for a subject: what killed the service. */
function failureHint(failure: FailureReason): string {
  if (failure.oom) return 'out of memory';
  if (failure.healthCheck) return 'health check failed';
  if (failure.exitCode !== undefined) return `exit ${failure.exitCode}`;
  return failure.code;
}

function addFailure(body: Body, failure: FailureReason): void {
  body
    .kv('Step', failure.step)
    .kv('Service', failure.service)
    .kv('Code', failure.code)
    .kv('Error', failure.message)
    .kv('Stopped reason', failure.stoppedReason)
    .kv('Exit code', failure.exitCode)
    .kv('Out of memory', failure.oom)
    .kv('Health check', failure.healthCheck);
}

/** `web restored, api removed (created by this deploy)`; failures with their error */
function rollbackLine(services: Kind<'deploy'>['rollback']): string | undefined {
  if (!services?.length) return undefined;
  const says = (s: NonNullable<Kind<'deploy'>['rollback']>[number]) => {
    if (s.action === 'failed') return `${s.service} (${s.error ?? 'unknown error'}): still on the failed release`;
    if (s.action === 'removed') return `${s.service} removed (created by this deploy)`;
    return `${s.service} ${s.action}${s.reregistered ? ' (its deregistered task definition registered again)' : ''}`;
  };
  return services.map(says).join('; ');
}

function renderDeploy(n: Kind<'deploy'>): Omit<RenderedNotification, 'attributes'> {
  const release = releaseLabel(n);
  const deploy = `Deploy of ${n.app}${release ? ` release ${release}` : ''}`;
  const subjectRelease = n.releaseId ? `release ${n.releaseId}` : n.releaseNumber !== undefined ? `release #${n.releaseNumber}` : 'deploy';
  const failure = n.failure;
  const where = failure ? ` in the ${failure.step} step${failure.service ? ` on service ${failure.service}` : ''}` : '';
  // The code is its own line below; the sentence reads better without the "CODE: " prefix.
  const first = failure ? firstLine(failure.message) : '';
  const message = failure && first.startsWith(`${failure.code}:`) ? first.slice(failure.code.length + 1).trim() : first;
  const why = message ? `: ${message}` : '';
  const hint = failure ? ` - ${failure.service ? `${failure.service} ` : ''}${failureHint(failure)}` : '';
  let outcome: string;
  let subjectTail: string;
  switch (n.status) {
    case 'succeeded': {
      const services = n.changes.map((change) => change.service);
      const on = services.length ? ` on ${services.length === 1 ? 'service' : 'services'} ${services.join(', ')}` : '';
      outcome = `${release ? `Release ${release}` : 'The new release'} of ${n.app} is live${on}`;
      subjectTail = `: ${subjectRelease} deployed`;
      break;
    }
    case 'failed':
      outcome = `${deploy} failed${where}${why}`;
      subjectTail = `: ${subjectRelease} failed${failure ? ` at ${failure.step}` : ''}${hint}`;
      break;
    case 'rolled-back':
      outcome = `${deploy} failed${where} and was rolled back${why}`;
      subjectTail = `: ${subjectRelease} rolled back${hint}`;
      break;
    case 'superseded':
      outcome = `${deploy} was superseded by a newer tarball${n.supersededBy ? ` (${n.supersededBy})` : ''} and not deployed`;
      subjectTail = `: ${subjectRelease} superseded`;
      break;
  }
  const body = new Body(outcome)
    .kv('App', n.app)
    .kv('Release', release)
    .kv('Status', n.status)
    .kv('Source', n.source)
    .kv('Superseded by', n.supersededBy)
    .kv('Retired', n.retired?.length ? `${n.retired.join(', ')} (no longer in rackless.yml: service, target group, rules and alarms deleted)` : undefined)
    .kv('Cleanup problem', n.retireProblem)
    .kv('Rolled back', rollbackLine(n.rollback?.filter((r) => r.action !== 'failed')))
    .kv('Rollback failed', rollbackLine(n.rollback?.filter((r) => r.action === 'failed')));
  if (failure) addFailure(body, failure);
  if (n.timings.length) body.kv('Timings', formatTimings(n.timings));
  body.kv('Link', failure?.link).section();
  body.lines(servicesTable(n.changes)).section();
  body.lines(logBlock(failure?.logLines, failure?.service));
  return { subject: fitSubject(n.app, subjectTail), message: body.toString() };
}

// Evidence keys come from the task-stop classifier; these read better than their split camelCase.
const EVIDENCE_LABELS: Record<string, string> = { oom: 'Out of memory', stopCode: 'Stop code', containerReason: 'Container reason' };

function humanKey(key: string): string {
  if (EVIDENCE_LABELS[key]) return EVIDENCE_LABELS[key];
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function renderCrashLoop(n: Kind<'crash-loop'>): Omit<RenderedNotification, 'attributes'> {
  const window = formatDuration(n.windowSeconds * 1000);
  const body = new Body(`Service ${n.service} of ${n.app} is crash-looping: ${n.stops} ${n.stops === 1 ? 'task' : 'tasks'} stopped in ${window}, ${n.cause}`)
    .kv('App', n.app)
    .kv('Service', n.service)
    .kv('Release', n.releaseId)
    .kv('Stops', `${n.stops} in ${window}`)
    .kv('Cause', n.cause);
  for (const [key, value] of Object.entries(n.evidence)) body.kv(humanKey(key), value);
  body.section().lines(logBlock(n.logLines, n.service));
  return { subject: fitSubject(`${n.app}/${n.service}`, `: crash loop, ${n.stops} stops in ${window} - ${n.cause}`), message: body.toString() };
}

function renderRecovered(n: Kind<'recovered'>): Omit<RenderedNotification, 'attributes'> {
  const body = new Body(`Service ${n.service} of ${n.app} recovered: ${n.message}`).kv('App', n.app).kv('Service', n.service).kv('Release', n.releaseId);
  return { subject: fitSubject(`${n.app}/${n.service}`, ': recovered'), message: body.toString() };
}

function renderDrain(n: Kind<'drain'>): Omit<RenderedNotification, 'attributes'> {
  const waited = formatDuration(n.waitedSeconds * 1000);
  const tasks = `${n.tasksLeft} ${n.tasksLeft === 1 ? 'task' : 'tasks'}`;
  const [outcome, tail] =
    n.status === 'drained'
      ? [`Instance ${n.instanceId} of ${n.autoScalingGroup} drained in ${waited}`, ': drained']
      : n.status === 'timed-out'
        ? [`Instance ${n.instanceId} of ${n.autoScalingGroup} did not finish draining within ${waited}: ${tasks} still running`, `: drain timed out, ${tasks} left`]
        : n.status === 'failed'
          ? [`Draining instance ${n.instanceId} of ${n.autoScalingGroup} failed; the instance was released anyway: ${firstLine(n.reason ?? 'unknown error')}`, ': drain failed']
          : [`Instance ${n.instanceId} of ${n.autoScalingGroup} is not an ECS container instance of this rack; nothing to drain`, ': no container instance to drain'];
  const body = new Body(outcome)
    .kv('Instance', n.instanceId)
    .kv('Auto Scaling group', n.autoScalingGroup)
    .kv('Status', n.status)
    .kv('Tasks left', n.tasksLeft)
    .kv('Waited', waited)
    .kv('Reason', n.reason);
  return { subject: fitSubject(`Instance ${n.instanceId}`, tail), message: body.toString() };
}

function renderAlarm(n: Kind<'cloudwatch-alarm'>): Omit<RenderedNotification, 'attributes'> {
  const owner = n.app && n.service ? ` for service ${n.service} of ${n.app}` : n.app ? ` for ${n.app}` : '';
  const body = new Body(`Alarm ${n.alarmName} is ${n.state}${n.previousState ? ` (was ${n.previousState})` : ''}${owner}`)
    .kv('Alarm', n.alarmName)
    .kv('State', n.state)
    .kv('Previous state', n.previousState)
    .kv('App', n.app)
    .kv('Service', n.service)
    .kv('Metric', n.metric)
    .kv('Time', n.time)
    .kv('Reason', n.reason);
  return { subject: fitSubject(n.alarmName, '', `${n.state}: `), message: body.toString() };
}

function renderRedeployRejected(n: Kind<'redeploy-rejected'>): Omit<RenderedNotification, 'attributes'> {
  const body = new Body(`Redeploy of ${n.app} was rejected: ${firstLine(n.reason)}`).kv('App', n.app).kv('Release', n.releaseId).kv('Reason', n.reason);
  return { subject: fitSubject(n.app, `: redeploy rejected - ${firstLine(n.reason)}`), message: body.toString() };
}

function attributesOf(n: Notification, severity: Severity): Record<string, string> {
  const raw: Record<string, string | undefined> = { kind: n.kind, severity };
  switch (n.kind) {
    case 'deploy':
      Object.assign(raw, {
        app: n.app,
        service: n.failure?.service ?? (n.changes.length === 1 ? n.changes[0]!.service : undefined),
        status: n.status,
        release: n.releaseId ?? (n.releaseNumber !== undefined ? String(n.releaseNumber) : undefined),
        step: n.failure?.step,
      });
      break;
    case 'crash-loop':
      Object.assign(raw, { app: n.app, service: n.service, status: 'crashing', release: n.releaseId });
      break;
    case 'recovered':
      Object.assign(raw, { app: n.app, service: n.service, status: 'recovered', release: n.releaseId });
      break;
    case 'drain':
      Object.assign(raw, { status: n.status });
      break;
    case 'cloudwatch-alarm':
      Object.assign(raw, { app: n.app, service: n.service, status: n.state });
      break;
    case 'redeploy-rejected':
      Object.assign(raw, { app: n.app, status: 'rejected', release: n.releaseId });
      break;
  }
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    // SNS rejects empty attribute values; control characters make filter policies misbehave.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    const clean = value?.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
    if (clean) attributes[key] = clean;
  }
  return attributes;
}

/** Subject, body and SNS attributes for one notification. */
export function renderNotification(n: Notification): RenderedNotification {
  const severity = severityOf(n);
  let rendered: Omit<RenderedNotification, 'attributes'>;
  switch (n.kind) {
    case 'deploy':
      rendered = renderDeploy(n);
      break;
    case 'crash-loop':
      rendered = renderCrashLoop(n);
      break;
    case 'recovered':
      rendered = renderRecovered(n);
      break;
    case 'drain':
      rendered = renderDrain(n);
      break;
    case 'cloudwatch-alarm':
      rendered = renderAlarm(n);
      break;
    case 'redeploy-rejected':
      rendered = renderRedeployRejected(n);
      break;
  }
  return { ...rendered, attributes: attributesOf(n, severity) };
}

/** SNS Publish MessageAttributes from plain strings; empty values are dropped because SNS rejects them. */
export function toSnsAttributes(attrs: Record<string, string>): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attrs)) {
    if (value.trim() !== '') out[name] = { DataType: 'String', StringValue: value };
  }
  return out;
}
