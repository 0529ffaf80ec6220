import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CreateLogStreamCommand, PutLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { DeployState, PromotedService } from '../shared/deploy/state.js';

/**
 * moto never starts service tasks nor moves a rollout. This stands in for the ECS scheduler during
 * a local deploy: when a deploy reaches Watch it emits the events ECS would (task running, task
 * stopped with its logs, deployment completed or failed), shaped like the samples under events/.
 */
export interface RolloutScenario {
  /** complete: tasks start, deployment COMPLETED; fail: deployment FAILED (circuit breaker);
   *  crash-loop: tasks exit non-zero until the deploy gives up; silent: ECS says nothing */
  outcome: 'complete' | 'fail' | 'crash-loop' | 'silent';
  /** ms before the first event: a long rollout */
  delayMs?: number;
  /** crash-loop: how many tasks crash (default 5) */
  crashes?: number;
  exitCode?: number;
  oom?: boolean;
  /** what the crashing container printed */
  logLines?: string[];
  /** deliver every event twice (EventBridge is at-least-once) */
  duplicate?: boolean;
  /** per-service outcome, overriding `outcome` for the services named */
  services?: Record<string, RolloutScenario['outcome']>;
}

const ROOT = new URL('..', import.meta.url).pathname;
const sample = (name: string) => JSON.parse(readFileSync(`${ROOT}events/${name}.json`, 'utf8'));

export interface SimulatorOptions {
  logs: CloudWatchLogsClient;
  region: string;
  account: string;
  /** /rackless/<rack>: the app's log group is <prefix>/<app> */
  logGroupPrefix: string;
  deliver: (event: Record<string, any>) => Promise<unknown>;
}

export class EcsSimulator {
  private scenarios = new Map<string, RolloutScenario[]>();
  private inFlight = new Set<Promise<void>>();
  /** deliveries that failed even after Lambda's retries (EventBridge would dead-letter them) */
  readonly undelivered: Array<{ event?: Record<string, any>; error: unknown }> = [];
  /** every event emitted, in order (for tests and the demo's narration) */
  readonly emitted: Array<Record<string, any>> = [];

  constructor(private readonly options: SimulatorOptions) {}

  /** The next rollout of this app behaves like this (queued: one scenario per deploy). */
  next(app: string, scenario: RolloutScenario): void {
    this.scenarios.set(app, [...(this.scenarios.get(app) ?? []), scenario]);
  }

  rollout(state: DeployState): void {
    const queue = this.scenarios.get(state.app) ?? [];
    const scenario = queue.shift() ?? { outcome: 'complete' };
    const work = this.play(state, scenario)
      .catch((error: unknown) => void this.undelivered.push({ error }))
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  /** Resolves when every rollout started so far has emitted all its events. */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  private async emit(event: Record<string, any>, scenario: RolloutScenario): Promise<void> {
    this.emitted.push(event);
    await this.options.deliver(event);
    if (scenario.duplicate) await this.options.deliver(structuredClone(event));
  }

  private async play(state: DeployState, scenario: RolloutScenario): Promise<void> {
    if (scenario.delayMs) await new Promise((r) => setTimeout(r, scenario.delayMs));
    for (const service of state.promoted ?? []) {
      switch (scenario.services?.[service.service] ?? scenario.outcome) {
        case 'complete':
          for (let i = 0; i < service.desiredCount; i++) await this.emit(this.taskRunning(service), scenario);
          await this.emit(this.deployment(service, 'completed'), scenario);
          break;
        case 'fail':
          await this.emit(this.deployment(service, 'failed'), scenario);
          break;
        case 'crash-loop':
          for (let i = 0; i < (scenario.crashes ?? 5); i++) await this.emit(await this.taskCrashed(state, service, scenario), scenario);
          break;
        case 'silent':
          break;
      }
    }
  }

  private clusterArn(service: PromotedService): string {
    return service.serviceArn.includes(':service/')
      ? service.serviceArn.replace(/:service\/([^/]+)\/.*/, ':cluster/$1')
      : `arn:aws:ecs:${this.options.region}:${this.options.account}:cluster/default`;
  }

  private envelope(base: Record<string, any>, resources: string[]) {
    return { ...base, id: randomBytes(16).toString('hex'), time: new Date().toISOString(), region: this.options.region, account: this.options.account, resources };
  }

  deployment(service: PromotedService, outcome: 'completed' | 'failed'): Record<string, any> {
    const base = sample(outcome === 'completed' ? 'ecs-deployment-completed' : 'ecs-deployment-failed');
    return {
      ...this.envelope(base, [service.serviceArn]),
      detail: {
        ...base.detail,
        deploymentId: service.deploymentId,
        updatedAt: new Date().toISOString(),
        reason: outcome === 'completed' ? `ECS deployment ${service.deploymentId} completed.` : base.detail.reason,
      },
    };
  }

  private task(base: Record<string, any>, service: PromotedService) {
    const taskId = randomBytes(16).toString('hex');
    const clusterArn = this.clusterArn(service);
    const taskArn = `${clusterArn.replace(':cluster/', ':task/')}/${taskId}`;
    return {
      taskId,
      event: {
        ...this.envelope(base, [taskArn]),
        detail: {
          ...base.detail,
          clusterArn,
          taskArn,
          taskDefinitionArn: service.taskDefinitionArn,
          group: `service:${service.serviceName}`,
          startedBy: service.deploymentId,
          version: 1,
          updatedAt: new Date().toISOString(),
          containers: (base.detail.containers ?? []).map((c: Record<string, unknown>) => ({ ...c, name: service.service, taskArn })),
        },
      },
    };
  }

  taskRunning(service: PromotedService): Record<string, any> {
    return this.task(sample('ecs-task-running'), service).event;
  }

  private async taskCrashed(state: DeployState, service: PromotedService, scenario: RolloutScenario): Promise<Record<string, any>> {
    const { taskId, event } = this.task(sample(scenario.oom ? 'ecs-task-stopped-oom' : 'ecs-task-stopped-exit-1'), service);
    const exitCode = scenario.oom ? 137 : (scenario.exitCode ?? 1);
    event.detail.containers = event.detail.containers.map((c: Record<string, unknown>) => ({ ...c, exitCode }));
    const lines = scenario.logLines ?? [];
    if (lines.length) {
      // awslogs writes to <group>/<prefix>/<container>/<task id>, as the task definition says
      const group = `${this.options.logGroupPrefix}/${state.app}`;
      const stream = `${service.service}/${service.service}/${taskId}`;
      await this.options.logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
      const now = Date.now();
      await this.options.logs.send(
        new PutLogEventsCommand({ logGroupName: group, logStreamName: stream, logEvents: lines.map((message, i) => ({ message, timestamp: now + i })) }),
      );
    }
    return event;
  }
}
