import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTaskDefinitionCommand, ECSClient, ListTagsForResourceCommand, type Service, StopTaskCommand, type Task } from '@aws-sdk/client-ecs';
import { DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { type ClientFactory, type ClientPlugin, interceptPlugin } from '../shared/aws/clients.js';
import type { Scheduler } from './clock.js';
import type { LocalEvents } from './events.js';
import { invocation } from './stepfunctions.js';
import { circuitBreakerThreshold, type SimulatedApp, type TaskFate, type TargetHealthCheck, taskFate } from './task-fate.js';
import { ROOT } from './template.js';

/**
 * moto never starts a service's tasks nor moves a rollout. This stands in for the ECS scheduler: it
 * watches the rack's ECS calls (an SDK plugin), and each new deployment that CreateService or
 * UpdateService starts is rolled out as ECS would roll it out — its tasks start (or crash), and the
 * deployment completes or fails — as the events ECS sends to EventBridge, shaped like the samples
 * under events/. The events go through moto's EventBridge and the rack's own rules.
 *
 * What the tasks do is read from what ECS reads: the registered task definition (DescribeTaskDefinition)
 * and the service's target group (DescribeTargetGroups), by local/task-fate.ts — a command that exits,
 * a process the simulator is told (SIMULATE_MEMORY_MB) outgrows its memory limit, a health check path the
 * image does not serve. Such a task stops as ECS stops it, is replaced, and stops again, until the
 * deployment circuit breaker's threshold of failed tasks; then the deployment FAILED. A test or the demo
 * can instead ask for an outcome (`next`): anything but `complete` is played as asked, whatever the task
 * definition says.
 *
 * Simulated time: each task takes `taskStartSeconds` to start on the rack's clock (no time at all
 * under a virtual clock unless the rack is waiting for it).
 */
export type RolloutOutcome = 'complete' | 'fail' | 'crash-loop' | 'silent';

export interface RolloutScenario {
  /** complete (the default): as the task definition says — tasks start and the deployment COMPLETED, or
   *  tasks fail as local/task-fate.ts reads it; fail: deployment FAILED (circuit breaker);
   *  crash-loop: tasks exit non-zero; silent: ECS says nothing */
  outcome: RolloutOutcome;
  /** crash-loop: how many tasks crash (default 5) */
  crashes?: number;
  exitCode?: number;
  oom?: boolean;
  /** what the crashing container printed */
  logLines?: string[];
  /** deliver every event twice (EventBridge is at-least-once) */
  duplicate?: boolean;
  /** per-service outcome, overriding `outcome` for the services named */
  services?: Record<string, RolloutOutcome>;
  /** the rollout waits until `release(app)`: the rack is busy meanwhile, so time does not move */
  hold?: boolean;
  /** seconds each task takes to start (default 2) */
  taskStartSeconds?: number;
}

interface Owner {
  app: string;
  service: string;
}

const sample = (name: string) => JSON.parse(readFileSync(`${ROOT}events/${name}.json`, 'utf8'));

/** The sample under events/ each kind of failed task starts from. */
const STOPPED_SAMPLE: Record<Exclude<TaskFate, { fate: 'runs' }>['fate'], string> = {
  exits: 'ecs-task-stopped-exit-1',
  oom: 'ecs-task-stopped-oom',
  'cannot-start': 'ecs-task-stopped-cannot-pull',
  unhealthy: 'ecs-task-stopped-health-check',
  'container-unhealthy': 'ecs-task-stopped-health-check',
};

export interface RolloutRecord {
  app: string;
  service: string;
  serviceArn: string;
  deploymentId: string;
  taskDefinitionArn: string;
  outcome: RolloutOutcome;
  /** the execution and state whose call started the deployment, when one did */
  startedBy?: { execution: string; state: string };
  /** outcome complete: what the task definition made of its tasks (set once read) */
  fate?: TaskFate;
}

export class EcsSimulator {
  private readonly scenarios = new Map<string, RolloutScenario[]>();
  /** the scenario each execution's deploy drew (its first state that started deployments) */
  private readonly drawn = new Map<string, { state: string; scenario: RolloutScenario }>();
  private readonly owners = new Map<string, Owner>();
  private readonly seen = new Set<string>();
  private readonly holds = new Map<string, Array<() => void>>();
  /** every deployment rolled out, in order */
  readonly rollouts: RolloutRecord[] = [];
  /** every event emitted, in order */
  readonly emitted: Array<Record<string, any>> = [];

  constructor(
    private readonly options: {
      aws: ClientFactory;
      scheduler: Scheduler;
      events: LocalEvents;
      region: string;
      account: string;
      /** /rackless/<rack>: the app's log group is <prefix>/<app> */
      logGroupPrefix: string;
      /** what an image built in this rack serves (local/build.ts), by the reference a task definition names */
      builtImages?: (reference: string) => SimulatedApp | undefined;
    },
  ) {}

  /** each service's newest deployment: a rollout that is no longer it stops (ECS replaced it) */
  private readonly current = new Map<string, string>();

  /** The next deploy of this app rolls out like this (one scenario per deploy, in order). */
  next(app: string, scenario: RolloutScenario): void {
    this.scenarios.set(app, [...(this.scenarios.get(app) ?? []), scenario]);
  }

  private readonly playing = new Set<Promise<void>>();

  /** Resolves once every rollout started so far has emitted all its events (moving the clock as they need). */
  async settled(): Promise<void> {
    while (this.playing.size) await this.options.scheduler.until(Promise.all([...this.playing]));
  }

  /** Lets held rollouts of the app go on. */
  release(app: string): void {
    for (const go of this.holds.get(app) ?? []) go();
    this.holds.delete(app);
  }

  /** Watches CreateService / UpdateService answers for new deployments, and DeleteService for rollouts that end with their service. */
  plugin(): ClientPlugin {
    return interceptPlugin('localEcsScheduler', 'initialize', async (call, next) => {
      const result = await next();
      if (call.client === 'ECSClient' && (call.command === 'CreateService' || call.command === 'UpdateService')) {
        await this.observe(result.output.service as Service, (call.input.tags ?? []) as Array<{ key?: string; value?: string }>);
      }
      // a deleted service's rollout launches nothing more
      if (call.client === 'ECSClient' && call.command === 'DeleteService') {
        const arn = (result.output.service as Service | undefined)?.serviceArn;
        if (arn) this.current.delete(arn);
      }
      return result;
    });
  }

  private async ownerOf(service: Service, tags: Array<{ key?: string; value?: string }>): Promise<Owner | undefined> {
    const arn = service.serviceArn!;
    const tagged = (list: Array<{ key?: string; value?: string }>) => {
      const app = list.find((t) => t.key === 'rackless:app')?.value;
      const name = list.find((t) => t.key === 'rackless:service')?.value;
      return app && name ? { app, service: name } : undefined;
    };
    let owner = tagged(tags) ?? this.owners.get(arn);
    if (!owner) {
      const listed = await this.options.aws(ECSClient).send(new ListTagsForResourceCommand({ resourceArn: arn }));
      owner = tagged(listed.tags ?? []);
    }
    if (owner) this.owners.set(arn, owner);
    return owner;
  }

  private scenarioFor(app: string): RolloutScenario {
    const scope = invocation.getStore();
    if (!scope) return { outcome: 'complete' };
    const drawn = this.drawn.get(scope.execution);
    if (drawn) return drawn.state === scope.state ? drawn.scenario : { outcome: 'complete' };
    const scenario = this.scenarios.get(app)?.shift() ?? { outcome: 'complete' };
    this.drawn.set(scope.execution, { state: scope.state, scenario });
    return scenario;
  }

  private async observe(service: Service | undefined, tags: Array<{ key?: string; value?: string }>): Promise<void> {
    const primary = service?.deployments?.find((d) => d.status === 'PRIMARY');
    if (!service || !primary?.id || this.seen.has(primary.id)) return;
    this.seen.add(primary.id);
    if (service.serviceArn) this.current.set(service.serviceArn, primary.id);
    const owner = await this.ownerOf(service, tags);
    if (!owner) return;
    const scenario = this.scenarioFor(owner.app);
    const scope = invocation.getStore();
    const record: RolloutRecord = {
      ...owner,
      serviceArn: service.serviceArn!,
      deploymentId: primary.id,
      // moto keeps one deployment per service: forceNewDeployment renews its id, never its taskDefinition
      taskDefinitionArn: service.taskDefinition ?? primary.taskDefinition ?? '',
      outcome: scenario.services?.[owner.service] ?? scenario.outcome,
      ...(scope ? { startedBy: { execution: scope.execution, state: scope.state } } : {}),
    };
    this.rollouts.push(record);
    const hold = scenario.hold
      ? this.options.scheduler.hold(new Promise<void>((resolve) => this.holds.set(owner.app, [...(this.holds.get(owner.app) ?? []), resolve])))
      : undefined;
    // the rollout itself is not tracked work: it waits on the clock; what it emits is
    const play = this.play(record, scenario, primary.desiredCount ?? service.desiredCount ?? 1, service, hold)
      .catch((error: Error) => {
        this.emitted.push({ error: error.message });
      })
      .finally(() => this.playing.delete(play));
    this.playing.add(play);
  }

  private async emit(event: Record<string, any>, scenario: RolloutScenario): Promise<void> {
    this.emitted.push(event);
    const entry = {
      Source: event.source,
      DetailType: event['detail-type'],
      Resources: event.resources,
      Detail: JSON.stringify(event.detail),
      Time: new Date(this.options.scheduler.now()),
    };
    await this.options.events.put(scenario.duplicate ? [entry, entry] : [entry]);
  }

  private async play(rollout: RolloutRecord, scenario: RolloutScenario, desiredCount: number, service: Service, hold?: Promise<void>): Promise<void> {
    if (hold) await hold;
    const { scheduler } = this.options;
    const serviceName = service.serviceName!;
    const startMs = (scenario.taskStartSeconds ?? 2) * 1000;
    switch (rollout.outcome) {
      case 'complete':
        // reading the definition is work: the clock must not move meanwhile
        rollout.fate = await scheduler.track(
          this.fateOf(rollout, service).catch((error: Error): TaskFate => {
            this.emitted.push({ error: `reading the task definition: ${error.message}` });
            return { fate: 'runs' };
          }),
        );
        if (rollout.fate.fate !== 'runs') return this.failing(rollout, rollout.fate, scenario, desiredCount, serviceName);
        for (let i = 0; i < desiredCount; i++) {
          await scheduler.sleep(startMs);
          await this.emit(this.task(sample('ecs-task-running'), rollout, serviceName).event, scenario);
        }
        await scheduler.sleep(startMs);
        await this.emit(this.deployment(rollout, 'completed'), scenario);
        return;
      case 'fail':
        await scheduler.sleep(startMs);
        await this.emit(this.deployment(rollout, 'failed'), scenario);
        return;
      case 'crash-loop':
        for (let i = 0; i < (scenario.crashes ?? 5); i++) {
          await scheduler.sleep(startMs);
          await this.emit(await this.taskCrashed(rollout, serviceName, scenario), scenario);
        }
        return;
      case 'silent':
        return;
    }
  }

  /** What the tasks of this rollout do, from its task definition and the service's target group (as ECS reads them). */
  private async fateOf(rollout: RolloutRecord, service: Service): Promise<TaskFate> {
    if (!rollout.taskDefinitionArn) return { fate: 'runs' };
    const { aws } = this.options;
    const definition = (await aws(ECSClient).send(new DescribeTaskDefinitionCommand({ taskDefinition: rollout.taskDefinitionArn }))).taskDefinition;
    const containers = definition?.containerDefinitions ?? [];
    const container = containers.find((c) => c.essential !== false) ?? containers[0];
    if (!container) return { fate: 'runs' };
    const balancer = (service.loadBalancers ?? []).find((lb) => lb.targetGroupArn && (!lb.containerName || lb.containerName === container.name));
    let healthCheck: TargetHealthCheck | undefined;
    if (balancer?.targetGroupArn) {
      const group = (await aws(ElasticLoadBalancingV2Client).send(new DescribeTargetGroupsCommand({ TargetGroupArns: [balancer.targetGroupArn] }))).TargetGroups?.[0];
      if (group?.HealthCheckPath) {
        healthCheck = {
          targetGroupArn: balancer.targetGroupArn,
          path: group.HealthCheckPath,
          codes: group.Matcher?.HttpCode ?? '200',
          intervalSeconds: group.HealthCheckIntervalSeconds ?? 30,
          unhealthyThreshold: group.UnhealthyThresholdCount ?? 2,
          ...(group.HealthCheckEnabled === false ? { enabled: false } : {}),
        };
      }
    }
    // only an image the rack built is known: a pulled `image:` is opaque (it serves every path)
    const app = this.options.builtImages?.(container.image ?? '') ?? {};
    return taskFate({
      container,
      ...(definition?.memory ? { taskMemory: definition.memory } : {}),
      ...(healthCheck ? { healthCheck } : {}),
      graceSeconds: service.healthCheckGracePeriodSeconds ?? 0,
      app,
    });
  }

  /**
   * Tasks that fail as their definition says: each starts, fails and is replaced, until the circuit
   * breaker's threshold of failed tasks is reached; then the deployment FAILED. A rollout ECS has
   * replaced (the rollback's UpdateService) stops there, as ECS stops the replaced deployment's tasks.
   */
  private async failing(rollout: RolloutRecord, fate: Exclude<TaskFate, { fate: 'runs' }>, scenario: RolloutScenario, desiredCount: number, serviceName: string): Promise<void> {
    const { scheduler } = this.options;
    const startMs = (scenario.taskStartSeconds ?? 2) * 1000;
    const replaced = () => this.current.get(rollout.serviceArn) !== rollout.deploymentId;
    for (let i = 0; i < circuitBreakerThreshold(desiredCount); i++) {
      await scheduler.sleep(startMs);
      if (replaced()) return;
      let taskId: string | undefined;
      if (fate.fate === 'unhealthy' || fate.fate === 'container-unhealthy') {
        // the task runs, and fails its health checks for a while
        const running = this.task(sample('ecs-task-running'), rollout, serviceName);
        taskId = running.taskId;
        await this.emit(running.event, scenario);
        await scheduler.sleep(fate.afterSeconds * 1000);
        if (replaced()) return;
      }
      await this.emit(await this.taskFailed(rollout, serviceName, fate, taskId), scenario);
    }
    await scheduler.sleep(startMs);
    if (replaced()) return;
    await this.emit(this.deployment(rollout, 'failed'), scenario);
  }

  /** The STOPPED event of a task that failed as `fate` says, with the simulator's log line in its stream. */
  private async taskFailed(rollout: RolloutRecord, serviceName: string, fate: Exclude<TaskFate, { fate: 'runs' }>, taskId?: string): Promise<Record<string, any>> {
    const stopped = this.task(sample(STOPPED_SAMPLE[fate.fate]), rollout, serviceName, taskId);
    const { detail } = stopped.event;
    detail.version = taskId ? 2 : 1;
    if (fate.fate === 'cannot-start') {
      // as the cannot-pull sample, TaskFailedToStart with the reason on the task and its container:
      // the container never ran, so it has no exit code and printed nothing
      detail.stoppedReason = fate.reason;
      detail.containers = detail.containers.map((c: Record<string, unknown>) => ({ ...c, reason: fate.reason }));
      return stopped.event;
    }
    if (fate.fate === 'exits') detail.containers = detail.containers.map((c: Record<string, unknown>) => ({ ...c, exitCode: fate.exitCode }));
    if (fate.fate === 'oom') detail.containers = detail.containers.map((c: Record<string, unknown>) => ({ ...c, exitCode: 137 }));
    if (fate.fate === 'unhealthy') detail.stoppedReason = `Task failed ELB health checks in (target-group ${fate.targetGroupArn})`;
    if (fate.fate === 'container-unhealthy') {
      detail.stoppedReason = 'Task failed container health checks';
      detail.containers = detail.containers.map((c: Record<string, unknown>) => ({ ...c, healthStatus: 'UNHEALTHY' }));
    }
    await this.writeLogs(rollout, stopped.taskId, [fate.why]);
    return stopped.event;
  }

  private clusterArn(serviceArn: string): string {
    return serviceArn.replace(/:service\/([^/]+)\/.*/, ':cluster/$1');
  }

  deployment(rollout: RolloutRecord, outcome: 'completed' | 'failed'): Record<string, any> {
    const base = sample(outcome === 'completed' ? 'ecs-deployment-completed' : 'ecs-deployment-failed');
    return {
      ...base,
      resources: [rollout.serviceArn],
      detail: {
        ...base.detail,
        deploymentId: rollout.deploymentId,
        updatedAt: new Date(this.options.scheduler.now()).toISOString(),
        reason: outcome === 'completed' ? `ECS deployment ${rollout.deploymentId} completed.` : base.detail.reason,
      },
    };
  }

  private task(base: Record<string, any>, rollout: RolloutRecord, serviceName: string, taskId = randomBytes(16).toString('hex')) {
    const clusterArn = this.clusterArn(rollout.serviceArn);
    const taskArn = `${clusterArn.replace(':cluster/', ':task/')}/${taskId}`;
    return {
      taskId,
      event: {
        ...base,
        resources: [taskArn],
        detail: {
          ...base.detail,
          clusterArn,
          taskArn,
          taskDefinitionArn: rollout.taskDefinitionArn,
          group: `service:${serviceName}`,
          startedBy: rollout.deploymentId,
          version: 1,
          updatedAt: new Date(this.options.scheduler.now()).toISOString(),
          containers: (base.detail.containers ?? []).map((c: Record<string, unknown>) => ({ ...c, name: rollout.service, taskArn })),
        },
      },
    };
  }

  private async taskCrashed(rollout: RolloutRecord, serviceName: string, scenario: RolloutScenario): Promise<Record<string, any>> {
    const { taskId, event } = this.task(sample(scenario.oom ? 'ecs-task-stopped-oom' : 'ecs-task-stopped-exit-1'), rollout, serviceName);
    const exitCode = scenario.oom ? 137 : (scenario.exitCode ?? 1);
    event.detail.containers = event.detail.containers.map((c: Record<string, unknown>) => ({ ...c, exitCode }));
    await this.writeLogs(rollout, taskId, scenario.logLines ?? []);
    return event;
  }

  /** What the task's container printed, where awslogs puts it: <group>/<prefix>/<container>/<task id>, as the task definition says. */
  private async writeLogs(rollout: RolloutRecord, taskId: string, lines: string[]): Promise<void> {
    if (!lines.length) return;
    const logs = this.options.aws(CloudWatchLogsClient);
    const group = `${this.options.logGroupPrefix}/${rollout.app}`;
    const stream = `${rollout.service}/${rollout.service}/${taskId}`;
    await this.options.scheduler.track(
      (async () => {
        await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
        const now = this.options.scheduler.now();
        await logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: stream, logEvents: lines.map((message, i) => ({ message, timestamp: now + i })) }));
      })(),
    );
  }

  /**
   * One-off tasks (RunTask): moto places them and runs nothing. Each gets a log line saying what would
   * have run, then stops with exit code 0.
   */
  async ranTasks(tasks: Task[], input: { cluster?: string; overrides?: { containerOverrides?: Array<{ name?: string; command?: string[] }> } }): Promise<void> {
    const { aws, scheduler } = this.options;
    await scheduler.track(
      (async () => {
        for (const task of tasks) {
          const definition = (await aws(ECSClient).send(new DescribeTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn }))).taskDefinition;
          const container = definition?.containerDefinitions?.[0];
          const override = (input.overrides?.containerOverrides ?? []).find((o) => o.name === container?.name);
          const options = container?.logConfiguration?.options ?? {};
          const group = options['awslogs-group'];
          if (group && container?.name) {
            const stream = `${options['awslogs-stream-prefix'] ?? container.name}/${container.name}/${task.taskArn!.split('/').pop()}`;
            const command = (override?.command ?? container.command ?? []).join(' ');
            const logs = aws(CloudWatchLogsClient);
            await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
            await logs.send(
              new PutLogEventsCommand({
                logGroupName: group,
                logStreamName: stream,
                logEvents: [{ timestamp: scheduler.now(), message: `[rackless local] simulated: moto runs no containers; ${container.image} would run: ${command}` }],
              }),
            );
          }
          await aws(ECSClient).send(new StopTaskCommand({ cluster: input.cluster, task: task.taskArn, reason: 'Simulated by rackless local: moto runs no containers' }));
        }
      })(),
    );
  }
}
