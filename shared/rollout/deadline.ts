/**
 * The rollout deadline, pure: how long a healthy rolling update of a release may take at most, from
 * each service's manifest, and whether that fits the rack's cap. Watch waits that long for ECS to say
 * COMPLETED (the deploy state's `watch.deadlineSeconds`, the ASL's TimeoutSecondsPath); a manifest
 * whose rollout cannot fit the cap is refused in Prepare, before any change.
 *
 * One service's bound is its batches × (task start + time to healthy + time to drain), where each
 * term is what ECS and the ALB document (the citations are at each term), then × a safety factor for
 * what no document bounds (the scheduler's own reaction time, the ALB's "approximate" interval, event
 * delivery). The deploy's deadline is the largest over its services: they roll out side by side.
 */
import { ManifestInvalid } from '../errors.js';
import type { Manifest, ServiceSpec } from '../manifest/types.js';

/** What one service's rolling update waits on, in ECS's and ELBv2's own terms (seconds, counts, percent). */
export interface RolloutSettings {
  desiredCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
  /** behind the ALB: ECS waits for its target to be healthy, and for an old target to drain */
  loadBalanced: boolean;
  /** the container has an ECS health check: ECS waits for HEALTHY */
  containerHealthCheck: boolean;
  healthCheckIntervalSeconds: number;
  healthyThresholdCount: number;
  unhealthyThresholdCount: number;
  healthCheckGracePeriodSeconds: number;
  deregistrationDelaySeconds: number;
  stopTimeoutSeconds: number;
}

// ECS ContainerDefinition.stopTimeout: "If neither the stopTimeout parameter or the
// ECS_CONTAINER_STOP_TIMEOUT agent configuration variable are set, then the default values of 30
// seconds for Linux containers" — what a release recorded before Rackless set stopTimeout runs with.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html
export const ECS_DEFAULT_STOP_TIMEOUT = 30;

/** A manifest service in those terms. */
export function rolloutSettings(spec: ServiceSpec): RolloutSettings {
  return {
    desiredCount: spec.scale.count,
    minimumHealthyPercent: spec.deployment.minimum,
    maximumPercent: spec.deployment.maximum,
    loadBalanced: spec.port !== undefined,
    containerHealthCheck: spec.health.command !== undefined,
    healthCheckIntervalSeconds: spec.health.interval,
    healthyThresholdCount: spec.health.healthy,
    unhealthyThresholdCount: spec.health.unhealthy,
    healthCheckGracePeriodSeconds: spec.health.grace,
    deregistrationDelaySeconds: spec.deregistrationDelay,
    // releases recorded before the manifest had termination.grace: their task definitions have none
    stopTimeoutSeconds: spec.stopTimeout ?? ECS_DEFAULT_STOP_TIMEOUT,
  };
}

export type Batches = { stuck: false; batches: number; minimumHealthy: number; maximumTasks: number } | { stuck: true; minimumHealthy: number; maximumTasks: number };

/**
 * How many rounds of replacement ECS needs for `desiredCount` tasks. minimumHealthyPercent is "a lower
 * limit on the number of your service's tasks that must remain in the RUNNING state during a
 * deployment, as a percentage of the desiredCount (rounded up to the nearest integer)"; maximumPercent
 * "an upper limit on the number of your service's tasks that are allowed in the RUNNING or PENDING
 * state during a deployment, as a percentage of the desiredCount (rounded down to the nearest
 * integer)" (ECS API Reference, DeploymentConfiguration,
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html). So at
 * most maximum − minimum tasks are being replaced at once; with none, "ensure that the scheduler can
 * stop or start at least one task" (ECS Developer Guide, Rolling update,
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html) is broken and
 * the deployment is stuck.
 */
export function rolloutBatches(desiredCount: number, minimumHealthyPercent: number, maximumPercent: number): Batches {
  // integer products, one division: 3 × 50 / 100 is exactly 1.5
  const minimumHealthy = Math.ceil((desiredCount * minimumHealthyPercent) / 100);
  const maximumTasks = Math.floor((desiredCount * maximumPercent) / 100);
  if (desiredCount === 0) return { stuck: false, batches: 0, minimumHealthy, maximumTasks };
  const inFlight = maximumTasks - minimumHealthy;
  if (inFlight <= 0) return { stuck: true, minimumHealthy, maximumTasks };
  return { stuck: false, batches: Math.ceil(desiredCount / Math.min(inFlight, desiredCount)), minimumHealthy, maximumTasks };
}

/** The parts of the bound that are not in the manifest: what ECS does not document a limit for. */
export const DEADLINE_MODEL = Object.freeze({
  // placing a task, pulling its image from the region's ECR and starting the container: seconds for a
  // cached or small image, tens of seconds for a large one; ECS documents no bound, so this is ours
  taskStartSeconds: 60,
  // ECS's scheduler acts on its own schedule between the steps of a batch, the ALB's interval is
  // "approximate", events arrive with a delay: none of it is documented, all of it is covered twice over
  safetyFactor: 2,
  // a deploy whose services have no task to replace still waits for ECS to report COMPLETED
  minimumSeconds: 60,
});

// ECS API Reference, DeploymentConfiguration.minimumHealthyPercent: for a service without a load
// balancer, "If a task has no essential containers with a health check defined, the service scheduler
// will wait for 40 seconds after a task reaches a RUNNING state before the task is counted towards the
// minimum healthy percent total." https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html
export const UNCHECKED_HEALTHY_SECONDS = 40;

export interface ServiceBound {
  batches: number;
  /** seconds per batch, each term */
  start: number;
  healthy: number;
  drain: number;
  /** batches × (start + healthy + drain), before the safety factor */
  seconds: number;
  /** the same in words: "1 batch × (60 s start + 40 s to healthy [...] + 20 s to drain [...])" */
  computation: string;
}

const s = (n: number) => `${n.toLocaleString('en')} s`;

/**
 * The longest a healthy rolling update of one service takes, per batch:
 * - start: DEADLINE_MODEL.taskStartSeconds.
 * - to healthy, behind the ALB: a slow starter fails its first checks, and ECS "ignores unhealthy
 *   Elastic Load Balancing … health checks after a task has first started" for
 *   healthCheckGracePeriodSeconds (ECS API Reference, CreateService,
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html); once the target
 *   was unhealthy the ALB needs HealthyThresholdCount "consecutive successful health checks required
 *   before considering an unhealthy target healthy", one every HealthCheckIntervalSeconds (ELB User
 *   Guide, https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
 *   So grace + interval × healthy.
 *   (A target that passes its first check is healthy at once: "After your target is registered, it
 *   must pass one health check to be considered healthy" — the nominal case, not the bound.)
 * - to healthy, with a container health check: grace + one interval (Docker: "Whenever a health check
 *   passes, it becomes healthy", https://docs.docker.com/reference/dockerfile/#healthcheck; ECS waits
 *   for "the task to reach a healthy status", DeploymentConfiguration).
 * - to healthy, with neither: the scheduler's fixed 40 s (UNCHECKED_HEALTHY_SECONDS).
 * - to drain an old task: behind the ALB, "the amount of time that the load balancer waits to move the
 *   target to the UNUSED state is the deregistration delay" and "Amazon ECS … waits for the load
 *   balancer" (ECS Developer Guide, Optimize load balancer connection draining parameters,
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-connection-draining.html);
 *   then ECS sends SIGTERM and "Time duration (in seconds) to wait before the container is forcefully
 *   killed if it doesn't exit normally on its own" is stopTimeout (ECS API Reference, ContainerDefinition).
 * Stuck deployments have no bound: undefined.
 */
export function serviceRolloutBound(settings: RolloutSettings, model = DEADLINE_MODEL): ServiceBound | undefined {
  const batches = rolloutBatches(settings.desiredCount, settings.minimumHealthyPercent, settings.maximumPercent);
  if (batches.stuck) return undefined;
  const grace = settings.healthCheckGracePeriodSeconds;
  const interval = settings.healthCheckIntervalSeconds;
  const waits: Array<[number, string]> = [];
  if (settings.loadBalanced) waits.push([grace + interval * settings.healthyThresholdCount, `grace ${grace} + interval ${interval} × healthy ${settings.healthyThresholdCount}`]);
  if (settings.containerHealthCheck) waits.push([grace + interval, `grace ${grace} + interval ${interval} of the container check`]);
  if (waits.length === 0) waits.push([UNCHECKED_HEALTHY_SECONDS, `ECS's ${UNCHECKED_HEALTHY_SECONDS} s for a task with no health check`]);
  const [healthy, healthyWhy] = waits.reduce((a, b) => (b[0] > a[0] ? b : a));
  const dereg = settings.loadBalanced ? settings.deregistrationDelaySeconds : 0;
  const drain = dereg + settings.stopTimeoutSeconds;
  const drainWhy = settings.loadBalanced ? `deregistrationDelay ${dereg} + stop timeout ${settings.stopTimeoutSeconds}` : `stop timeout ${settings.stopTimeoutSeconds}`;
  const start = model.taskStartSeconds;
  const perBatch = start + healthy + drain;
  return {
    batches: batches.batches,
    start,
    healthy,
    drain,
    seconds: batches.batches * perBatch,
    computation: `${batches.batches} batch${batches.batches === 1 ? '' : 'es'} × (${s(start)} start + ${s(healthy)} to healthy [${healthyWhy}] + ${s(drain)} to drain [${drainWhy}])`,
  };
}

export type DeadlineDecision =
  | { status: 'ok'; deadlineSeconds: number; service: string; computation: string }
  | { status: 'too-long'; service: string; deadlineSeconds: number; capSeconds: number; computation: string }
  | { status: 'stuck'; service: string; desiredCount: number; minimumHealthyPercent: number; maximumPercent: number; minimumHealthy: number; maximumTasks: number };

/**
 * The deploy's deadline: the safety factor × the slowest service's bound (at least
 * DEADLINE_MODEL.minimumSeconds), or why no deadline within `capSeconds` exists: a service whose
 * deployment settings let ECS neither start nor stop a task (the first such, in order), or a slowest
 * service over the cap.
 */
export function rolloutDeadline(services: ReadonlyArray<{ name: string; settings: RolloutSettings }>, capSeconds: number, model = DEADLINE_MODEL): DeadlineDecision {
  let slowest: { name: string; bound: ServiceBound } | undefined;
  for (const { name, settings } of services) {
    const bound = serviceRolloutBound(settings, model);
    if (!bound) {
      const batches = rolloutBatches(settings.desiredCount, settings.minimumHealthyPercent, settings.maximumPercent);
      return {
        status: 'stuck',
        service: name,
        desiredCount: settings.desiredCount,
        minimumHealthyPercent: settings.minimumHealthyPercent,
        maximumPercent: settings.maximumPercent,
        minimumHealthy: batches.minimumHealthy,
        maximumTasks: batches.maximumTasks,
      };
    }
    if (!slowest || bound.seconds > slowest.bound.seconds) slowest = { name, bound };
  }
  const factored = slowest ? Math.ceil(model.safetyFactor * slowest.bound.seconds) : 0;
  const deadlineSeconds = Math.max(model.minimumSeconds, factored);
  const computation =
    slowest && factored >= model.minimumSeconds ? `${model.safetyFactor} × ${slowest.bound.computation} = ${s(deadlineSeconds)}` : `the minimum of ${s(model.minimumSeconds)}`;
  const service = slowest?.name ?? '';
  if (deadlineSeconds > capSeconds) return { status: 'too-long', service, deadlineSeconds, capSeconds, computation };
  return { status: 'ok', deadlineSeconds, service, computation };
}

/** The watch settings of a deploy: its deadline, or ManifestInvalid naming the service whose rollout cannot fit. */
export function deployDeadline(manifest: Manifest, capSeconds: number, model = DEADLINE_MODEL): { deadlineSeconds: number; deadline: string } {
  const decision = rolloutDeadline(
    manifest.services.map((spec) => ({ name: spec.name, settings: rolloutSettings(spec) })),
    capSeconds,
    model,
  );
  if (decision.status === 'ok') return { deadlineSeconds: decision.deadlineSeconds, deadline: `${decision.service}: ${decision.computation}` };
  if (decision.status === 'too-long') {
    throw new ManifestInvalid(
      'MANIFEST_ROLLOUT_TOO_LONG',
      `services.${decision.service}: a healthy rollout may take ${decision.computation}, more than the rack allows a rollout (${s(decision.capSeconds)}, rack parameter watchDeadlineSeconds); ` +
        'shorten health.grace, health.interval × health.healthy, deregistrationDelay or termination.grace, or widen deployment.minimum–maximum so fewer batches are needed',
      { path: `services.${decision.service}`, deadlineSeconds: decision.deadlineSeconds, capSeconds: decision.capSeconds },
    );
  }
  const { service, desiredCount: count, minimumHealthyPercent: minimum, maximumPercent: maximum, minimumHealthy, maximumTasks } = decision;
  // the nearest settings that let ECS start or stop one task: maximum × count / 100 ≥ minimumHealthy + 1,
  // or minimum × count / 100 ≤ maximumTasks − 1
  const raiseTo = Math.ceil(((minimumHealthy + 1) * 100) / count);
  const lowerTo = Math.floor(((maximumTasks - 1) * 100) / count);
  throw new ManifestInvalid(
    'MANIFEST_ROLLOUT_STUCK',
    `services.${service}.deployment: with count ${count}, minimum ${minimum} keeps ${minimumHealthy} task${minimumHealthy === 1 ? '' : 's'} running and maximum ${maximum} allows ${maximumTasks}, ` +
      `so ECS can neither start a new task nor stop an old one and the rollout would never end; raise maximum to at least ${raiseTo}${lowerTo >= 0 ? ` or lower minimum to at most ${lowerTo}` : ''}`,
    { path: `services.${service}.deployment`, count, minimum, maximum },
  );
}
