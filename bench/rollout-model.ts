/**
 * The rollout model: how long a rolling update of a 2-task web service takes, and how long a crash
 * loop runs until something rolls it back, under AWS's defaults, Copilot's, Convox's and Rackless's.
 * Computed from the formulas below, not measured: no rack on these machines runs a real ALB or ECS
 * scheduler. Rackless's row is the code's own: the service is what parseManifest makes of
 * `{port: 80, scale: {count: 2}}` on a rack with the template's defaults (shared/manifest/defaults.ts,
 * shared/rack.ts RACK_DEFAULTS), and its deadline is shared/rollout/deadline.ts's.
 * Usage: `npx tsx bench/rollout-model.ts` prints the table and the bench rows.
 *
 * Formulas, per service of N tasks with minimum/maximum percent min/max (ECS rounds N·min up and N·max
 * down; rolloutBatches in shared/rollout/deadline.ts):
 *   batches  = ⌈N / (⌊N·max⌋ − ⌈N·min⌉)⌉, capped at one batch of N
 *   rollout  = batches × (task start + first passing check + deregistration delay)
 *              (+ stopTimeout when the app ignores SIGTERM)
 *   crash at boot  = ⌈F / w⌉ × task start
 *   failing checks = ⌈F / w⌉ × (task start + max(grace, unhealthy threshold × interval))
 *   where F is the failures before a verdict and w = min(N, ⌊N·max⌋ − ⌈N·min⌉) the tasks ECS starts at once.
 * Why each term:
 * - first passing check: "After your target is registered, it must pass one health check to be
 *   considered healthy" (ELB User Guide, Health checks for Application Load Balancer target groups,
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html);
 *   "For newly registered targets, only one successful health check is needed … regardless of the
 *   healthy threshold count setting" (ECS Developer Guide, Optimize load balancer health check parameters,
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-healthcheck.html). The
 *   healthy threshold counts only for a target recovering from unhealthy: the deadline's bound, not this.
 * - deregistration delay: ECS "waits for the load balancer to report that the keep alive connection is
 *   closed (the target is in an UNUSED state)", and that wait "is the deregistration delay"
 *   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-connection-draining.html);
 *   ELB shows a target `draining` "until the deregistration delay timeout expires" even with no
 *   connections (ELB User Guide, Target groups, Deregistration delay).
 * - stopTimeout: SIGKILL comes that long after SIGTERM (ECS API Reference, ContainerDefinition).
 * - grace: ECS "ignores unhealthy Elastic Load Balancing … health checks after a task has first
 *   started" for healthCheckGracePeriodSeconds (ECS API Reference, CreateService); the ALB calls a
 *   target unhealthy after UnhealthyThresholdCount consecutive failures, one per interval.
 * - F: Rackless fails a deploy at failFastStops unexpected stops of the new task definition; ECS's
 *   circuit breaker "has a minimum threshold of 3 and a maximum threshold of 200" over
 *   "0.5 * desired task count" (ECS API Reference, ServiceDeploymentCircuitBreaker,
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html).
 *   Both count optimistically here: every failed task counts once, at its stop.
 * - back-off: ECS slows relaunches only of tasks that never reach RUNNING ("the time between
 *   subsequent restart attempts is incrementally increased up to a maximum of 15 minutes"; "Tasks that
 *   are stopped after they reach the RUNNING state don't start the throttle logic", ECS Developer Guide,
 *   Service throttle logic, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-throttle-logic.html).
 *   A container that exits at boot has reached RUNNING: no back-off in either column. An image that
 *   cannot be pulled is throttled the same for Rackless and the circuit breaker, on a schedule AWS
 *   does not publish, so the model has no column for it.
 * Not modeled: the ECS scheduler's own reaction time between steps and event delivery (the deadline's
 * safety factor covers them); the same task start time for every row.
 */
import { fileURLToPath } from 'node:url';
import { formatDuration } from '../shared/notify/render.js';
import { parseManifest } from '../shared/manifest/parse.js';
import { RACK_DEFAULTS } from '../shared/rack.js';
import { rolloutBatches, rolloutDeadline, rolloutSettings, type RolloutSettings } from '../shared/rollout/deadline.js';
import type { BenchRow } from './table.js';

/** The service every row models: a web service of two tasks behind the ALB. */
const DESIRED = 2;
/**
 * Seconds from ECS starting a task to its container running: an instance with room, an image (or its
 * layers) already on the instance or pulled from the region's ECR, a process that starts at once. An
 * assumption of this model, the same for every row.
 */
const TASK_START_SECONDS = 10;
/** Goals for Rackless's row (issue 11). */
const GOALS = { rolloutSeconds: 30, crashLoopSeconds: 90 } as const;

type Verdict = { by: 'rackless'; failFastStops: number } | { by: 'circuit breaker' } | { by: 'none'; why: string };

interface Platform {
  name: string;
  settings: RolloutSettings;
  verdict: Verdict;
  sources: string;
}

const web = (s: Omit<RolloutSettings, 'desiredCount' | 'loadBalanced' | 'containerHealthCheck'>): RolloutSettings => ({
  desiredCount: DESIRED,
  loadBalanced: true,
  containerHealthCheck: false,
  ...s,
});

/** Rackless: what Prepare makes of a 2-task web service that sets nothing else, on a rack at the template's defaults. */
function racklessService(): RolloutSettings {
  const manifest = parseManifest(`services:\n  web:\n    image: httpd:2.4\n    port: 80\n    scale: {count: ${DESIRED}}\n`, {
    app: 'model',
    owner: { rack: 'model', ecrPrefix: 'model' },
    rackDomain: 'model.internal',
    files: {},
    paths: [],
    deregistrationDelay: RACK_DEFAULTS.deregistrationDelay,
  });
  return rolloutSettings(manifest.services[0]!);
}

export const PLATFORMS: Platform[] = [
  {
    name: 'AWS defaults',
    // ELBv2 CreateTargetGroup: interval 30, healthy 5, unhealthy 2; deregistration delay 300 (ELB User
    // Guide); ECS: stopTimeout 30 (ContainerDefinition), healthCheckGracePeriodSeconds 0 (CreateService),
    // minimumHealthyPercent 100 and maximumPercent 200 (DeploymentConfiguration); circuit breaker on
    settings: web({
      minimumHealthyPercent: 100,
      maximumPercent: 200,
      healthCheckIntervalSeconds: 30,
      healthyThresholdCount: 5,
      unhealthyThresholdCount: 2,
      healthCheckGracePeriodSeconds: 0,
      deregistrationDelaySeconds: 300,
      stopTimeoutSeconds: 30,
    }),
    verdict: { by: 'circuit breaker' },
    sources: 'ELB User Guide (target group health checks, deregistration delay); ECS API Reference (ContainerDefinition, CreateService, DeploymentConfiguration)',
  },
  {
    name: 'Copilot',
    // aws/copilot-cli site/content/docs/include/http-config.en.md: healthy_threshold 5, unhealthy 2,
    // interval 30s, grace_period 60s, deregistration_delay 60s; stack/transformers.go: rolling default
    // 100/200; its service template enables the circuit breaker with rollback; no stopTimeout (ECS's 30)
    settings: web({
      minimumHealthyPercent: 100,
      maximumPercent: 200,
      healthCheckIntervalSeconds: 30,
      healthyThresholdCount: 5,
      unhealthyThresholdCount: 2,
      healthCheckGracePeriodSeconds: 60,
      deregistrationDelaySeconds: 60,
      stopTimeoutSeconds: 30,
    }),
    verdict: { by: 'circuit breaker' },
    sources: 'Copilot manifest docs (http.healthcheck, http.deregistration_delay); copilot-cli stack/transformers.go, service-base-properties.yml',
  },
  {
    name: 'Convox',
    // convox/rack pkg/manifest/manifest.go: health interval 5, grace = interval, drain 30,
    // termination.grace 30, deployment 50/200; provider/aws/formation/service.json.tmpl: healthy and
    // unhealthy thresholds 2; app.json.tmpl: CircuitBreaker parameter "No" by default
    settings: web({
      minimumHealthyPercent: 50,
      maximumPercent: 200,
      healthCheckIntervalSeconds: 5,
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 2,
      healthCheckGracePeriodSeconds: 5,
      deregistrationDelaySeconds: 30,
      stopTimeoutSeconds: 30,
    }),
    verdict: { by: 'none', why: 'circuit breaker off by default: ECS retries until the CloudFormation update gives up' },
    sources: 'convox/rack pkg/manifest/manifest.go, provider/aws/formation/service.json.tmpl and app.json.tmpl',
  },
  {
    name: 'Rackless',
    settings: racklessService(),
    // Rackless counts stops itself and leaves ECS's circuit breaker on (detect, no rollback): the first to judge wins
    verdict: { by: 'rackless', failFastStops: RACK_DEFAULTS.failFastStops },
    sources: 'shared/manifest/defaults.ts, shared/rack.ts RACK_DEFAULTS, shared/rollout/deadline.ts',
  },
];

/** ECS's circuit breaker threshold: 0.5 × desired, at least 3 and at most 200. */
export function circuitBreakerThreshold(desired: number): number {
  return Math.min(200, Math.max(3, Math.ceil(0.5 * desired)));
}

export interface Modeled {
  platform: Platform;
  batches: number;
  /** a healthy rollout of an app that exits on SIGTERM at once */
  rolloutSeconds: number;
  /** the same when the app ignores SIGTERM and waits for SIGKILL */
  rolloutIgnoringSigtermSeconds: number;
  /** failures counted before a verdict, or undefined when nothing judges */
  failures?: number;
  crashAtBootSeconds?: number;
  failingChecksSeconds?: number;
  /** what Rackless's deadline formula gives these settings, and whether it fits the template's cap */
  deadlineSeconds: number;
  deadlineFits: boolean;
}

export function model(platform: Platform): Modeled {
  const s = platform.settings;
  const batches = rolloutBatches(s.desiredCount, s.minimumHealthyPercent, s.maximumPercent);
  if (batches.stuck) throw new Error(`${platform.name}: these deployment settings never roll out`);
  const firstCheck = s.loadBalanced || s.containerHealthCheck ? s.healthCheckIntervalSeconds : 40;
  const drain = s.loadBalanced ? s.deregistrationDelaySeconds : 0;
  const perBatch = TASK_START_SECONDS + firstCheck + drain;
  const atOnce = Math.min(s.desiredCount, batches.maximumTasks - batches.minimumHealthy);
  const failures =
    platform.verdict.by === 'rackless'
      ? Math.min(platform.verdict.failFastStops, circuitBreakerThreshold(s.desiredCount))
      : platform.verdict.by === 'circuit breaker'
        ? circuitBreakerThreshold(s.desiredCount)
        : undefined;
  const rounds = failures === undefined ? undefined : Math.ceil(failures / atOnce);
  const killedAfter = Math.max(s.healthCheckGracePeriodSeconds, s.unhealthyThresholdCount * s.healthCheckIntervalSeconds);
  const deadline = rolloutDeadline([{ name: 'web', settings: s }], RACK_DEFAULTS.watchDeadlineSeconds);
  if (deadline.status === 'stuck') throw new Error(`${platform.name}: these deployment settings never roll out`);
  return {
    platform,
    batches: batches.batches,
    rolloutSeconds: batches.batches * perBatch,
    rolloutIgnoringSigtermSeconds: batches.batches * (perBatch + s.stopTimeoutSeconds),
    ...(failures === undefined ? {} : { failures }),
    ...(rounds === undefined ? {} : { crashAtBootSeconds: rounds * TASK_START_SECONDS, failingChecksSeconds: rounds * (TASK_START_SECONDS + killedAfter) }),
    deadlineSeconds: deadline.deadlineSeconds,
    deadlineFits: deadline.status === 'ok',
  };
}

const never = 'never';
const seconds = (n: number | undefined) => (n === undefined ? never : `${n} s`);

function settingsText(s: RolloutSettings): string {
  return `ALB ${s.healthCheckIntervalSeconds} s × healthy ${s.healthyThresholdCount} / unhealthy ${s.unhealthyThresholdCount}, grace ${s.healthCheckGracePeriodSeconds} s, dereg ${s.deregistrationDelaySeconds} s, stop ${s.stopTimeoutSeconds} s, ${s.minimumHealthyPercent}/${s.maximumPercent}`;
}

function verdictText(m: Modeled): string {
  const v = m.platform.verdict;
  if (v.by === 'none') return v.why;
  return `${v.by === 'rackless' ? 'Rackless' : 'circuit breaker'} at ${m.failures} failures`;
}

/** The table for the README: one line per platform. */
export function modelTable(rows: Modeled[] = PLATFORMS.map(model)): string {
  const header = [
    'defaults',
    'settings',
    'rollout (SIGTERM ignored)',
    'crash at boot → verdict',
    'failing health check → verdict',
    'judged by',
    `deadline (cap ${RACK_DEFAULTS.watchDeadlineSeconds} s)`,
  ];
  const lines = rows.map((m) => [
    m.platform.name,
    settingsText(m.platform.settings),
    `${m.rolloutSeconds} s (${m.rolloutIgnoringSigtermSeconds} s)`,
    seconds(m.crashAtBootSeconds),
    seconds(m.failingChecksSeconds),
    verdictText(m),
    `${m.deadlineSeconds} s = ${formatDuration(m.deadlineSeconds * 1000)}${m.deadlineFits ? '' : ' (refused)'}`,
  ]);
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)].join('\n');
}

export async function runRolloutModelBench(): Promise<BenchRow[]> {
  return PLATFORMS.map(model).map((m) => {
    const rackless = m.platform.verdict.by === 'rackless';
    const crash = Math.max(m.crashAtBootSeconds ?? Number.POSITIVE_INFINITY, m.failingChecksSeconds ?? Number.POSITIVE_INFINITY);
    return {
      bench: 'rollout-model',
      row: `${m.platform.name}: 2-task web service (${settingsText(m.platform.settings)})`,
      value:
        `rollout ${m.rolloutSeconds} s (${m.rolloutIgnoringSigtermSeconds} s ignoring SIGTERM); crash at boot ${seconds(m.crashAtBootSeconds)}, ` +
        `failing checks ${seconds(m.failingChecksSeconds)} (${verdictText(m)}); deadline ${m.deadlineSeconds} s${m.deadlineFits ? '' : ' (refused)'}`,
      target: rackless ? `rollout ≤ ${GOALS.rolloutSeconds} s, crash loop ≤ ${GOALS.crashLoopSeconds} s` : 'reference',
      ok: rackless ? m.rolloutSeconds <= GOALS.rolloutSeconds && crash <= GOALS.crashLoopSeconds : true,
      note: `modeled, task start ${TASK_START_SECONDS} s; ${m.platform.sources}`,
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { printTable } = await import('./table.js');
  console.log(`${modelTable()}\n`);
  printTable(await runRolloutModelBench());
}
