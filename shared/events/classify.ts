/**
 * Reads ECS events and says what happened in ECS terms: why a task stopped (and whether anyone should
 * worry), where a deployment stands, what a service action means. Pure: no clients, no clock.
 *
 * Wording matched here is AWS's own: stop codes from the ECS API (TaskStopCode), stopped reasons from
 * the ECS developer guide ("Stopped tasks errors", "Amazon ECS events"), container reasons as the agent
 * reports them ("OutOfMemoryError: Container killed due to memory usage", "CannotPullContainerError: …").
 */
import type { EcsContainerDetail, EcsDeploymentStateChangeDetail, EcsServiceActionDetail, EcsTaskStateChangeDetail, EventBridgeEvent } from './types.js';

export type StopCause =
  | 'oom'
  | 'health-check'
  | 'container-health-check'
  | 'exit'
  | 'pull'
  | 'start-failure'
  | 'placement'
  | 'spot'
  | 'termination'
  | 'infrastructure'
  | 'scale-in'
  | 'deployment'
  | 'user'
  | 'unknown';

export interface TaskStopEvidence {
  stopCode?: string;
  stoppedReason?: string;
  container?: string;
  exitCode?: number;
  containerReason?: string;
  oom?: boolean;
  /** target group ARN (or classic ELB name) named in "Task failed ELB health checks in (…)" */
  targetGroup?: string;
  /** which health check failed, in words: "ELB health check of target group X", "container health check of web" */
  healthCheck?: string;
}

export interface TaskStop {
  /** scale-in, deployment replacement, user stop, instance drain/termination: no alarm, not a failed start */
  expected: boolean;
  cause: StopCause;
  /** one readable line, e.g. "container web ran out of memory (exit 137)" */
  summary: string;
  /** from group "service:NAME" */
  service?: string;
  taskArn: string;
  taskDefinitionArn: string;
  clusterArn: string;
  /** detail.version, for dedup: redeliveries of one change share it */
  version: number;
  /** STOPPED, or an earlier status when ECS announces the stop through desiredStatus first */
  lastStatus: string;
  /** "ecs-svc/<deployment id>" that started the task: which deployment lost it */
  startedBy?: string;
  evidence: TaskStopEvidence;
}

export interface TaskRunning {
  taskArn: string;
  taskDefinitionArn: string;
  clusterArn: string;
  service?: string;
  startedBy?: string;
  startedAt?: string;
  version: number;
}

export interface DeploymentEvent {
  eventName: string;
  /** "ecs-svc/<number>" */
  deploymentId: string;
  service: string;
  clusterArn: string;
  outcome: 'in-progress' | 'completed' | 'failed';
  reason?: string;
  updatedAt?: string;
  /** set on the IN_PROGRESS event of a circuit-breaker rollback: the deployment ECS returns to */
  rollbackTo?: string;
}

export interface ServiceAction {
  eventName: string;
  service: string;
  clusterArn: string;
  severity: 'info' | 'warning' | 'critical';
  summary: string;
  steady: boolean;
  reason?: string;
}

export type ParsedEcsEvent =
  | { type: 'task'; taskArn: string; service?: string; lastStatus: string; stop?: TaskStop; running?: TaskRunning }
  | { type: 'deployment'; deployment: DeploymentEvent }
  | { type: 'service-action'; action: ServiceAction }
  | { type: 'ignored'; reason: string };

// A container reason the agent writes when the kernel OOM-killer ends the container.
const OOM_REASON = /^OutOfMemoryError\b/i;
const OOM_WORDING = /out ?of ?memory|\boom\b/i;
const PULL_ERROR = /CannotPullContainerError|CannotPullImageManifestError|PullImage/;
const ELB_HEALTH = /^Task failed ELB health checks in \((?:target-group (\S+?)|elb (.+?))\)/;
const CONTAINER_HEALTH = /^Task failed container health checks/;
// "Scaling activity initiated by (deployment ecs-svc/123)"; the parentheses are missing in some older agents' text.
const SCALING = /^Scaling activity initiated by \(?deployment (ecs-svc\/[\w-]+)\)?/;
const HOST_GONE = /^Host EC2 \(instance (i-[0-9a-f]+)\) (?:stopped|terminated|stopped\/terminated)/i;
const DRAINING = /\bDRAINING\b|instance draining/i;
const DEREGISTERED = /^Container instance deregistration forced by user/i;
const PLACEMENT = /\bRESOURCE:[A-Z_]+\b|placement constraint|No Container Instances were found/i;

const SIGNALS: Record<number, string> = { 137: 'SIGKILL', 143: 'SIGTERM', 139: 'SIGSEGV', 134: 'SIGABRT' };

/** The service name from a task's group ("service:NAME"); standalone tasks have "family:NAME". */
export function serviceFromGroup(group: string | undefined): string | undefined {
  return group?.startsWith('service:') ? group.slice('service:'.length) : undefined;
}

/** Service name and cluster ARN from a service ARN, long ("service/CLUSTER/NAME") or old short format. */
export function parseServiceArn(arn: string): { service: string; clusterArn?: string } {
  const match = /^arn:(aws[\w-]*):ecs:([\w-]+):(\d{12}):service\/(?:([^/]+)\/)?([^/]+)$/.exec(arn);
  if (!match) throw new TypeError(`ECS_SERVICE_ARN_INVALID: "${arn}" is not an ECS service ARN`);
  const [, partition, region, account, cluster, service] = match as unknown as [string, string, string, string, string | undefined, string];
  return cluster ? { service, clusterArn: `arn:${partition}:ecs:${region}:${account}:cluster/${cluster}` } : { service };
}

function isOom(reason: string | undefined, exitCode: number | undefined): boolean {
  if (!reason) return false;
  return OOM_REASON.test(reason) || (exitCode === 137 && OOM_WORDING.test(reason));
}

/**
 * The container that explains the stop. Events do not say which container is essential, so prefer an
 * OOM kill, then a real failure code, then ECS's own stop signals (137/143 also hit sidecars it stops).
 */
function culprit(containers: EcsContainerDetail[], cause?: 'container-health'): EcsContainerDetail | undefined {
  const exited = (c: EcsContainerDetail) => c.exitCode !== undefined;
  return (
    (cause === 'container-health' ? containers.find((c) => c.healthStatus === 'UNHEALTHY') : undefined) ??
    containers.find((c) => isOom(c.reason, c.exitCode)) ??
    containers.find((c) => PULL_ERROR.test(c.reason ?? '')) ??
    containers.find((c) => exited(c) && c.exitCode !== 0 && SIGNALS[c.exitCode!] === undefined) ??
    containers.find((c) => exited(c) && c.exitCode !== 0) ??
    containers.find(exited) ??
    containers.find((c) => c.reason) ??
    containers[0]
  );
}

function clip(text: string, max = 200): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

function describeExit(name: string, exitCode: number | undefined): string {
  if (exitCode === undefined) return `essential container ${name} exited`;
  const signal = SIGNALS[exitCode];
  if (signal) return `container ${name} was killed (exit ${exitCode}, ${signal})`;
  if (exitCode === 0) return `container ${name} exited with code 0 (a service's essential container must keep running)`;
  return `container ${name} exited with code ${exitCode}`;
}

function targetGroupName(targetGroup: string): string {
  return /:targetgroup\/([^/]+)\//.exec(targetGroup)?.[1] ?? targetGroup;
}

type Verdict = Pick<TaskStop, 'cause' | 'expected' | 'summary'> & { evidence?: Partial<TaskStopEvidence> };

/** The rules, first match wins. Failures of the app come before the scheduler's routine stops. */
function verdict(detail: EcsTaskStateChangeDetail, container: EcsContainerDetail | undefined): Verdict {
  const reason = detail.stoppedReason ?? '';
  const code = detail.stopCode;
  const name = container?.name ?? 'unknown';

  if (container && (isOom(container.reason, container.exitCode) || OOM_REASON.test(reason))) {
    const exit = container.exitCode !== undefined ? ` (exit ${container.exitCode})` : '';
    return { cause: 'oom', expected: false, summary: `container ${name} ran out of memory${exit}`, evidence: { oom: true } };
  }
  const pullText = [reason, container?.reason ?? ''].find((text) => PULL_ERROR.test(text));
  if (pullText) {
    return { cause: 'pull', expected: false, summary: `could not pull the image for container ${name}: ${clip(pullText)}` };
  }
  if (code === 'TaskFailedToStart') {
    const text = reason || container?.reason || 'no reason given';
    if (PLACEMENT.test(text)) return { cause: 'placement', expected: false, summary: `task could not be placed: ${clip(text)}` };
    return { cause: 'start-failure', expected: false, summary: `task failed to start: ${clip(text)}` };
  }
  const elb = ELB_HEALTH.exec(reason);
  if (elb) {
    const targetGroup = elb[1] ?? elb[2] ?? '';
    const healthCheck = elb[1] ? `ELB health check of target group ${targetGroupName(targetGroup)}` : `ELB health check of load balancer ${targetGroup}`;
    return { cause: 'health-check', expected: false, summary: `task failed the ${healthCheck}`, evidence: { targetGroup, healthCheck } };
  }
  if (CONTAINER_HEALTH.test(reason)) {
    const healthCheck = container?.healthStatus === 'UNHEALTHY' ? `container health check of ${name}` : 'container health check';
    return { cause: 'container-health-check', expected: false, summary: `task failed the ${healthCheck}`, evidence: { healthCheck } };
  }
  if (code === 'SpotInterruption') return { cause: 'spot', expected: true, summary: 'task stopped by a Spot interruption' };
  if (code === 'TerminationNotice') return { cause: 'termination', expected: true, summary: 'task stopped by a termination notice for its host' };
  if (code === 'InfrastructureHealth') {
    return { cause: 'infrastructure', expected: true, summary: `task stopped by ECS for an infrastructure health issue${reason ? `: ${clip(reason)}` : ''}` };
  }
  if (DRAINING.test(reason)) return { cause: 'termination', expected: true, summary: 'task stopped because its container instance is draining' };
  const host = HOST_GONE.exec(reason);
  if (host) return { cause: 'termination', expected: true, summary: `task stopped because host ${host[1]} was stopped or terminated` };
  if (DEREGISTERED.test(reason)) return { cause: 'user', expected: true, summary: 'task stopped because its container instance was deregistered by a user' };
  const scaling = SCALING.exec(reason);
  if (scaling) {
    const deployment = scaling[1]!;
    // The deployment that scales a task in is the one that started it only when the desired count dropped.
    if (detail.startedBy && detail.startedBy !== deployment) {
      return { cause: 'deployment', expected: true, summary: `task replaced by deployment ${deployment}` };
    }
    return { cause: 'scale-in', expected: true, summary: `task stopped by scale-in (deployment ${deployment})` };
  }
  if (code === 'EssentialContainerExited' || /^Essential container in task exited/.test(reason)) {
    return { cause: 'exit', expected: false, summary: describeExit(name, container?.exitCode) };
  }
  if (code === 'UserInitiated') {
    return { cause: 'user', expected: true, summary: reason && reason !== 'Task stopped by user' ? `task stopped by a user: ${clip(reason)}` : 'task stopped by a user' };
  }
  if (code === 'ServiceSchedulerInitiated') {
    if (/deploy/i.test(reason)) return { cause: 'deployment', expected: true, summary: `task stopped by a deployment: ${clip(reason)}` };
    // The scheduler stops tasks deliberately (rebalancing and the like); unknown wording is not a crash.
    return { cause: 'unknown', expected: true, summary: `task stopped by the service scheduler${reason ? `: ${clip(reason)}` : ''}` };
  }
  if (container?.exitCode !== undefined && container.exitCode !== 0 && !code) {
    return { cause: 'exit', expected: false, summary: describeExit(name, container.exitCode) };
  }
  return { cause: 'unknown', expected: false, summary: `task stopped: ${clip(reason || code || 'no reason given')}` };
}

/** Why a task stopped; undefined unless it is STOPPED (or ECS already wants it stopped and says why). */
export function classifyTaskStop(detail: EcsTaskStateChangeDetail): TaskStop | undefined {
  const stopping = detail.lastStatus === 'STOPPED' || (detail.desiredStatus === 'STOPPED' && !!detail.stoppedReason);
  if (!stopping) return undefined;
  const containers = detail.containers ?? [];
  const container = culprit(containers, CONTAINER_HEALTH.test(detail.stoppedReason ?? '') ? 'container-health' : undefined);
  const v = verdict(detail, container);
  const evidence: TaskStopEvidence = {};
  if (detail.stopCode) evidence.stopCode = detail.stopCode;
  if (detail.stoppedReason) evidence.stoppedReason = detail.stoppedReason;
  if (container) evidence.container = container.name;
  if (container?.exitCode !== undefined) evidence.exitCode = container.exitCode;
  if (container?.reason) evidence.containerReason = container.reason;
  Object.assign(evidence, v.evidence);
  const stop: TaskStop = {
    expected: v.expected,
    cause: v.cause,
    summary: v.summary,
    taskArn: detail.taskArn,
    taskDefinitionArn: detail.taskDefinitionArn,
    clusterArn: detail.clusterArn,
    version: detail.version,
    lastStatus: detail.lastStatus,
    evidence,
  };
  const service = serviceFromGroup(detail.group);
  if (service) stop.service = service;
  if (detail.startedBy) stop.startedBy = detail.startedBy;
  return stop;
}

const DEPLOYMENT_OUTCOMES: Record<string, DeploymentEvent['outcome']> = {
  SERVICE_DEPLOYMENT_IN_PROGRESS: 'in-progress',
  SERVICE_DEPLOYMENT_COMPLETED: 'completed',
  SERVICE_DEPLOYMENT_FAILED: 'failed',
};

/** Where a service deployment stands. Throws for an eventName that is not a deployment state. */
export function classifyDeployment(event: EventBridgeEvent<'ECS Deployment State Change', EcsDeploymentStateChangeDetail>): DeploymentEvent {
  const { detail } = event;
  const outcome = DEPLOYMENT_OUTCOMES[detail.eventName];
  if (!outcome) throw new TypeError(`ECS_EVENT_UNKNOWN: deployment event "${detail.eventName}" is not one of ${Object.keys(DEPLOYMENT_OUTCOMES).join(', ')}`);
  const { service, clusterArn } = serviceOf(event);
  const deployment: DeploymentEvent = {
    eventName: detail.eventName,
    deploymentId: detail.deploymentId,
    service,
    clusterArn: detail.clusterArn ?? clusterArn ?? '',
    outcome,
  };
  if (detail.reason) deployment.reason = detail.reason;
  if (detail.updatedAt) deployment.updatedAt = detail.updatedAt;
  const rollback = /rolling back to deploymentId (\S+?)\.?$/.exec(detail.reason ?? '');
  if (rollback) deployment.rollbackTo = rollback[1]!;
  return deployment;
}

function serviceOf(event: EventBridgeEvent<string, unknown>): { service: string; clusterArn?: string } {
  const arn = event.resources.find((resource) => resource.includes(':service/'));
  if (!arn) throw new TypeError(`ECS_EVENT_INVALID: ${event['detail-type']} ${event.id} names no service in resources`);
  return parseServiceArn(arn);
}

const SEVERITIES: Record<string, ServiceAction['severity']> = { INFO: 'info', WARN: 'warning', ERROR: 'critical' };

// Placement reasons ECS reports, in the words an operator would use.
const PLACEMENT_REASONS: Record<string, string> = {
  'RESOURCE:CPU': 'no container instance has enough free CPU',
  'RESOURCE:MEMORY': 'no container instance has enough free memory',
  'RESOURCE:PORTS': 'the host port is already taken on every container instance',
  'RESOURCE:ENI': 'no container instance has a free network interface',
  'RESOURCE:GPU': 'no container instance has a free GPU',
  'RESOURCE:FARGATE': 'no Fargate capacity is available',
  AGENT: 'the ECS agent is disconnected on the candidate instances',
  ATTRIBUTE: 'no container instance matches the placement constraints',
};

/** What an ECS Service Action event means for the service, with a severity for notifications. */
export function classifyServiceAction(event: EventBridgeEvent<'ECS Service Action', EcsServiceActionDetail>): ServiceAction {
  const { detail } = event;
  const { service, clusterArn } = serviceOf(event);
  const reason = detail.reason;
  let summary: string;
  switch (detail.eventName) {
    case 'SERVICE_STEADY_STATE':
      summary = `service ${service} reached a steady state`;
      break;
    case 'SERVICE_TASK_START_IMPAIRED':
      summary = `service ${service} is unable to consistently start tasks`;
      break;
    case 'SERVICE_TASK_PLACEMENT_FAILURE': {
      const words = reason ? PLACEMENT_REASONS[reason] : undefined;
      summary = `service ${service} cannot place a task: ${words ? `${words} (${reason})` : (reason ?? 'no reason given')}`;
      break;
    }
    case 'SERVICE_TASK_CONFIGURATION_FAILURE':
      summary = `service ${service} cannot start a task because of its configuration: ${reason ?? 'no reason given'}`;
      break;
    default:
      summary = `service ${service}: ${detail.eventName}${reason ? ` (${reason})` : ''}`;
  }
  const action: ServiceAction = {
    eventName: detail.eventName,
    service,
    clusterArn: detail.clusterArn ?? clusterArn ?? '',
    severity: SEVERITIES[detail.eventType] ?? 'warning',
    summary,
    steady: detail.eventName === 'SERVICE_STEADY_STATE',
  };
  if (reason) action.reason = reason;
  return action;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Routes any EventBridge event to the classifier for its kind; anything else is ignored, with why. */
export function parseEcsEvent(event: EventBridgeEvent<string, unknown>): ParsedEcsEvent {
  if (event.source !== 'aws.ecs') return { type: 'ignored', reason: `source ${event.source} is not aws.ecs` };
  const detail = event.detail;
  if (!isObject(detail)) return { type: 'ignored', reason: `${event['detail-type']} ${event.id} has no detail` };
  switch (event['detail-type']) {
    case 'ECS Task State Change': {
      if (typeof detail.taskArn !== 'string' || typeof detail.lastStatus !== 'string') {
        return { type: 'ignored', reason: `task event ${event.id} lacks taskArn or lastStatus` };
      }
      const task = detail as unknown as EcsTaskStateChangeDetail;
      const parsed: ParsedEcsEvent & { type: 'task' } = { type: 'task', taskArn: task.taskArn, lastStatus: task.lastStatus };
      const service = serviceFromGroup(task.group);
      if (service) parsed.service = service;
      const stop = classifyTaskStop(task);
      if (stop) parsed.stop = stop;
      else if (task.lastStatus === 'RUNNING' && task.desiredStatus === 'RUNNING') parsed.running = running(task);
      return parsed;
    }
    case 'ECS Deployment State Change': {
      const eventName = String(detail.eventName);
      if (!(eventName in DEPLOYMENT_OUTCOMES)) return { type: 'ignored', reason: `deployment event ${eventName} is not tracked` };
      return { type: 'deployment', deployment: classifyDeployment(event as EventBridgeEvent<'ECS Deployment State Change', EcsDeploymentStateChangeDetail>) };
    }
    case 'ECS Service Action':
      return { type: 'service-action', action: classifyServiceAction(event as EventBridgeEvent<'ECS Service Action', EcsServiceActionDetail>) };
    default:
      return { type: 'ignored', reason: `${event['detail-type']} is not classified` };
  }
}

function running(task: EcsTaskStateChangeDetail): TaskRunning {
  const result: TaskRunning = { taskArn: task.taskArn, taskDefinitionArn: task.taskDefinitionArn, clusterArn: task.clusterArn, version: task.version };
  const service = serviceFromGroup(task.group);
  if (service) result.service = service;
  if (task.startedBy) result.startedBy = task.startedBy;
  if (task.startedAt) result.startedAt = task.startedAt;
  return result;
}
