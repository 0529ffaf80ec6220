/**
 * What a deploy costs as an app's services grow: update deploys of one app of 1 / 5 / 20 services
 * through the shipped deploy state machine on the local rack (the real handlers, moto's DynamoDB, the
 * ECS simulator), medians of 3. Per deploy: end to end (wall time of the upload to the end of the
 * execution, the virtual clock making simulated rollout time free), Promote (its handler's wall time),
 * task-events (the wall time of its invocations, summed: what Lambda bills, and the DynamoDB calls they
 * made) and Step Functions state transitions.
 * A manifest holds at most MANIFEST_LIMITS.servicesPerApp (20) services, so 50 is measured on the
 * watch alone: the task-events handler, on the same DynamoDB table, following a watch of 50
 * deployments through the events ECS sends for them.
 * Usage: `npx tsx bench/services.ts [--quick] [--sizes=1,5,20]` (quick: 1 and 5, the watch alone for
 * 50; full: 1, 5 and 20, the watch alone for 20 and 50; runs moto and stops it). `npm run bench` runs
 * it as part of bench/deploy.ts.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { makeHandler } from '../functions/task-events/handler.js';
import { startMoto } from '../local/moto.js';
import { MUTATING } from '../local/plugins.js';
import { LocalRack } from '../local/rack.js';
import { DynamoStore, documentClient } from '../shared/aws/dynamo-store.js';
import { MANIFEST_LIMITS } from '../shared/manifest/limits.js';
import { serviceNames } from '../shared/names.js';
import type { WatchedDeployment } from '../shared/rollout/verdict.js';
import { registerWatch, type TaskTokenSender } from '../shared/watch/watch.js';
import type { BenchRow } from './table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = 3;
/** the most task-events DynamoDB calls one service's rollout may cost a deploy (issue 11) */
const CALLS_PER_SERVICE = 6;
const MAX_TRANSITIONS = 12;

export interface ServicesMeasure {
  services: number;
  endToEndMs: number;
  promoteMs: number;
  taskEventsMs: number;
  taskEventsCalls: number;
  /** every AWS call Promote made, and those that change something */
  promoteCalls: number;
  promoteWrites: number;
  transitions: number;
  status: string;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** A tarball holding only a rackless.yml of `count` services behind the load balancer, one release per `version`. */
async function servicesTarball(count: number, version: number): Promise<Buffer> {
  const services = Array.from({ length: count }, (_, i) => `  s${String(i).padStart(2, '0')}:\n    image: httpd:2.4\n    port: 80\n    scale: {count: 1}\n`);
  const body = `environment: [VERSION=${version}]\nservices:\n${services.join('')}`;
  const pack = tar.pack();
  pack.entry({ name: 'rackless.yml', mtime: new Date('2000-01-01T00:00:00Z') }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(pack).pipe(createGzip())) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Counts, per function, the wall time of its invocations and the AWS calls made inside them: each
 * invocation runs in an async scope naming its function, and a middleware on the functions' clients
 * counts each call (before the SDK's retries: one per call) against that scope.
 */
class FunctionMeter {
  private readonly scope = new AsyncLocalStorage<string>();
  readonly ms = new Map<string, number>();
  /** `<function> <Client>` and `<function> writes` → calls */
  readonly calls = new Map<string, number>();

  constructor(rack: LocalRack, functions: string[]) {
    for (const Client of [DynamoDBClient, ECSClient, ElasticLoadBalancingV2Client, CloudWatchClient]) {
      rack.functionsAws(Client as new (config: object) => { middlewareStack: DynamoDBClient['middlewareStack'] }).middlewareStack.add(
        (next, context) => (args) => {
          const fn = this.scope.getStore();
          if (fn) {
            this.count(`${fn} ${Client.name}`);
            if (MUTATING.test(context.commandName ?? '')) this.count(`${fn} writes`);
          }
          return next(args);
        },
        { step: 'initialize', name: 'benchFunctionMeter' },
      );
    }
    for (const fn of functions) {
      rack.functions.intercept(fn, (run) =>
        this.scope.run(fn, async () => {
          const started = performance.now();
          try {
            return await run();
          } finally {
            this.ms.set(fn, (this.ms.get(fn) ?? 0) + performance.now() - started);
          }
        }),
      );
    }
  }

  private count(key: string): void {
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }

  /** the calls of a function, of one client or of all */
  callsOf(fn: string, client?: string): number {
    if (client) return this.calls.get(`${fn} ${client}`) ?? 0;
    return [...this.calls].filter(([key]) => key.startsWith(`${fn} `) && !key.endsWith(' writes')).reduce((sum, [, n]) => sum + n, 0);
  }

  reset(): void {
    this.ms.clear();
    this.calls.clear();
  }
}

/** Update deploys of one app of `count` services: the median of `runs` after a first deploy that creates them. */
export async function measureServices(rack: LocalRack, meter: FunctionMeter, count: number, runs = RUNS): Promise<ServicesMeasure> {
  const app = `svc${count}`;
  const first = await rack.deploy(app, await servicesTarball(count, 0), 'v0.tar.gz');
  if (first.status !== 'SUCCEEDED') throw new Error(`the first deploy of ${count} services ended ${first.status}: ${first.error} ${first.cause}`);
  await rack.simulator.settled();
  const measured: ServicesMeasure[] = [];
  for (let run = 1; run <= runs; run++) {
    const tarball = await servicesTarball(count, run);
    meter.reset();
    const started = performance.now();
    const deploy = await rack.deploy(app, tarball, `v${run}.tar.gz`);
    const endToEndMs = performance.now() - started;
    // events of the rollout that come after the deploy ended are still its task-events work
    await rack.simulator.settled();
    if (deploy.status !== 'SUCCEEDED') throw new Error(`an update deploy of ${count} services ended ${deploy.status}: ${deploy.error} ${deploy.cause}`);
    measured.push({
      services: count,
      endToEndMs,
      promoteMs: meter.ms.get('promote') ?? 0,
      taskEventsMs: meter.ms.get('task-events') ?? 0,
      taskEventsCalls: meter.callsOf('task-events', 'DynamoDBClient'),
      promoteCalls: meter.callsOf('promote'),
      promoteWrites: meter.calls.get('promote writes') ?? 0,
      transitions: deploy.transitions,
      status: deploy.status,
    });
  }
  return {
    services: count,
    endToEndMs: median(measured.map((m) => m.endToEndMs)),
    promoteMs: median(measured.map((m) => m.promoteMs)),
    taskEventsMs: median(measured.map((m) => m.taskEventsMs)),
    taskEventsCalls: median(measured.map((m) => m.taskEventsCalls)),
    promoteCalls: median(measured.map((m) => m.promoteCalls)),
    promoteWrites: median(measured.map((m) => m.promoteWrites)),
    transitions: median(measured.map((m) => m.transitions)),
    status: measured.every((m) => m.status === 'SUCCEEDED') ? 'SUCCEEDED' : measured.map((m) => m.status).join(','),
  };
}

const EVENTS = `${ROOT}events/`;
const sample = (name: string) => JSON.parse(readFileSync(`${EVENTS}${name}.json`, 'utf8')) as Record<string, any>;

/**
 * The watch alone, for more services than a manifest holds: a watch of `count` deployments registered
 * on the rack's table, then what ECS sends for each (deployment in progress, one task running, the
 * deployment completed) handed to the task-events handler, made as Lambda makes it, on the same table.
 */
export async function measureWatch(rack: LocalRack, count: number): Promise<{ calls: number; ms: number; outcome: string }> {
  const client = new DynamoDBClient({ ...rack.functionsAws.settings });
  let calls = 0;
  client.middlewareStack.add(
    (next) => (args) => {
      calls++;
      return next(args);
    },
    { step: 'initialize', name: 'benchWatchCalls' },
  );
  const store = new DynamoStore(documentClient(client), rack.resources.table, Date.now);
  const tokens: string[] = [];
  const sender: TaskTokenSender = { succeed: async (token) => void tokens.push(`succeeded ${token}`), fail: async (token, error) => void tokens.push(`${error} ${token}`) };
  const rackName = rack.name;
  const app = `watch${count}`;
  const execution = `${app}-bench`;
  const cluster = `arn:aws:ecs:${rack.region}:123456789012:cluster/${rack.resources.cluster.split('/').pop()}`;
  const deployments: WatchedDeployment[] = Array.from({ length: count }, (_, i) => {
    const serviceName = serviceNames({ name: rackName }, app, `s${i}`).service;
    return {
      service: `s${i}`,
      serviceName,
      deploymentId: `ecs-svc/${app}${i}`,
      taskDefinitionArn: `arn:aws:ecs:${rack.region}:123456789012:task-definition/${serviceName}:2`,
      desiredCount: 1,
    };
  });
  await registerWatch(store, sender, { execution, app, releaseId: 'R1', token: execution, deployments, failFastStops: 3 }, {});
  const handler = makeHandler({
    store,
    sender,
    sns: rack.aws.sns,
    logs: rack.aws.logs,
    topicArn: rack.resources.topicArn,
    rack: rackName,
    logGroupPrefix: `/rackless/${rackName}`,
    windowSeconds: 300,
    now: Date.now,
  }) as (event: unknown, context: unknown) => Promise<unknown>;
  const events = deployments.flatMap((d) => {
    const serviceArn = `arn:aws:ecs:${rack.region}:123456789012:service/${cluster.split('/').pop()}/${d.serviceName}`;
    const deployment = (name: string) => {
      const event = sample(name);
      return { ...event, resources: [serviceArn], detail: { ...event.detail, deploymentId: d.deploymentId } };
    };
    const running = sample('ecs-task-running');
    const taskArn = `${cluster.replace(':cluster/', ':task/')}/${d.deploymentId.split('/').pop()}`;
    return [
      deployment('ecs-deployment-in-progress'),
      { ...running, resources: [taskArn], detail: { ...running.detail, clusterArn: cluster, taskArn, taskDefinitionArn: d.taskDefinitionArn, group: `service:${d.serviceName}` } },
      deployment('ecs-deployment-completed'),
    ];
  });
  calls = 0;
  const started = performance.now();
  for (const event of events) await handler(event, {});
  const ms = performance.now() - started;
  return { calls, ms, outcome: tokens.join('; ') || 'no token sent' };
}

export function servicesRows(measures: ServicesMeasure[], watch: Array<{ services: number; calls: number; ms: number; outcome: string }>): BenchRow[] {
  const rows: BenchRow[] = measures.map((m) => ({
    bench: 'services',
    row: `update deploy, ${m.services} service${m.services === 1 ? '' : 's'} (end to end / Promote / task-events time / task-events DynamoDB calls / transitions)`,
    value: `${(m.endToEndMs / 1000).toFixed(2)} s / ${Math.round(m.promoteMs).toLocaleString('en-US')} ms / ${Math.round(m.taskEventsMs).toLocaleString('en-US')} ms / ${m.taskEventsCalls} / ${m.transitions}`,
    target: `calls ≤ ${CALLS_PER_SERVICE * m.services}, transitions ≤ ${MAX_TRANSITIONS}`,
    ok: m.status === 'SUCCEEDED' && m.taskEventsCalls <= CALLS_PER_SERVICE * m.services && m.transitions <= MAX_TRANSITIONS,
    note: `median of ${RUNS} update deploys after the first; ${(m.taskEventsCalls / m.services).toFixed(1)} task-events DynamoDB calls per service; Promote made ${m.promoteCalls} AWS calls, ${m.promoteWrites} of them writes`,
  }));
  const transitions = new Set(measures.map((m) => m.transitions));
  if (measures.length > 1) {
    rows.push({
      bench: 'services',
      row: `transitions per deploy, ${measures.map((m) => m.services).join(' / ')} services`,
      value: measures.map((m) => m.transitions).join(' / '),
      target: 'flat',
      ok: transitions.size === 1,
    });
  }
  for (const w of watch) {
    rows.push({
      bench: 'services',
      row: `watch alone, ${w.services} deployments (task-events DynamoDB calls / time)`,
      value: `${w.calls} / ${Math.round(w.ms).toLocaleString('en-US')} ms`,
      target: `≤ ${CALLS_PER_SERVICE * w.services}`,
      ok: w.calls <= CALLS_PER_SERVICE * w.services && w.outcome.startsWith('succeeded'),
      note: `a manifest holds at most ${MANIFEST_LIMITS.servicesPerApp} services: in progress, one task running and completed for each deployment, through the task-events handler on the rack's table; ${w.outcome.split(' ')[0]}`,
    });
  }
  return rows;
}

/** The services rows; on the given moto (bench/deploy.ts's), or on one of its own. */
export async function runServicesBench(opts: { quick?: boolean; sizes?: number[]; watchSizes?: number[]; endpoint?: string } = {}): Promise<BenchRow[]> {
  const sizes = opts.sizes ?? (opts.quick ? [1, 5] : [1, 5, 20]);
  const watchSizes = opts.watchSizes ?? (opts.quick ? [50] : [20, 50]);
  const moto = opts.endpoint ? undefined : await startMoto();
  try {
    const rack = await LocalRack.start({ endpoint: opts.endpoint ?? moto!.url, stage: 'benchsvc' });
    const meter = new FunctionMeter(rack, ['promote', 'task-events']);
    const measures: ServicesMeasure[] = [];
    for (const count of sizes) measures.push(await measureServices(rack, meter, count));
    const watch = [];
    for (const count of watchSizes) watch.push({ services: count, ...(await measureWatch(rack, count)) });
    return servicesRows(measures, watch);
  } finally {
    await moto?.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.env.LOG_LEVEL ??= 'SILENT';
  const arg = process.argv.find((a) => a.startsWith('--sizes='))?.slice('--sizes='.length);
  const { printTable } = await import('./table.js');
  printTable(await runServicesBench({ quick: process.argv.includes('--quick'), ...(arg ? { sizes: arg.split(',').map(Number) } : {}) }));
}
