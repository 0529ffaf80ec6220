import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, type HistoryEvent, ListExecutionsCommand, paginateGetExecutionHistory } from '@aws-sdk/client-sfn';
import type { DeployState } from '../shared/deploy/state.js';
import { formatDuration } from '../shared/notify/render.js';
import { verdictInputs } from '../shared/watch/watch.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { colors, type Io } from './io.js';
import { deployMessage, endpointsOf, releaseOf, type FinishedExecution } from './outcome.js';

/**
 * Follows one deploy execution by polling, cheaply: DescribeExecution and GetExecutionHistory of the
 * execution, the watch record in the table while the rollout runs. The state machine itself waits on
 * events, so polling here costs API calls, never state transitions.
 */
export interface FollowOptions {
  pollMs: number;
  /** hard cap on the whole follow */
  timeoutMs: number;
}

const STEP_LABELS: Record<string, string> = {
  Queue: 'Waiting for the app lock',
  Prepare: 'Preparing (tarball, manifest)',
  Build: 'Building',
  Release: 'Releasing',
  Promote: 'Promoting',
  Watch: 'Rolling out',
  Verify: 'Verifying at the deadline',
  Retire: 'Retiring services the manifest dropped',
  Rollback: 'Rolling back',
  Notify: 'Notifying',
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function executionArn(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** Finds the execution start-deployment started for an upload (its name includes S3's sequencer, which the uploader never sees). */
export async function findUploadExecution(ctx: Context, app: string, source: { key: string; versionId?: string }, options: FollowOptions): Promise<string> {
  const deadline = Date.now() + Math.min(options.timeoutMs, 120_000);
  const checked = new Set<string>();
  while (Date.now() < deadline) {
    const res = await ctx.aws.sfn.send(new ListExecutionsCommand({ stateMachineArn: ctx.rack.stateMachineArn, maxResults: 50 }));
    for (const execution of res.executions ?? []) {
      const name = execution.name ?? '';
      if (!name.startsWith(`${app}-`) || checked.has(name)) continue;
      checked.add(name);
      const described = await ctx.aws.sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
      const input = JSON.parse(described.input ?? '{}') as { source?: { key?: string; versionId?: string } };
      if (input.source?.key === source.key && (!source.versionId || input.source.versionId === source.versionId)) return name;
    }
    await sleep(options.pollMs);
  }
  throw new CliError(
    `no deploy started for s3://${ctx.rack.bucket}/${source.key}`,
    "check that the rack's tarball-uploaded EventBridge rule is enabled and that start-deployment has no errors",
  );
}

interface RolloutLine {
  desired: number;
  running: number;
  failed: number;
  state: string;
}

export class DeployFollower {
  private seen = 0;
  private open?: { step: string; at: number; label: string };
  private lineOpen = false;
  private rollout = new Map<string, string>();
  private failedStep?: string;
  private releasePrinted = false;
  private readonly c;

  constructor(
    private readonly ctx: Context,
    private readonly io: Io,
    private readonly app: string,
    private readonly name: string,
    private readonly options: FollowOptions,
  ) {
    this.c = colors(io);
  }

  private print(text: string): void {
    if (this.lineOpen) this.io.out('\n');
    this.lineOpen = false;
    this.io.out(`${text}\n`);
  }

  /** Follows to the end; returns the exit code (0 only when the release is serving). */
  async run(): Promise<number> {
    const arn = executionArn(this.ctx.rack.stateMachineArn, this.name);
    const deadline = Date.now() + this.options.timeoutMs;
    for (;;) {
      const described = await this.ctx.aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      await this.history(arn);
      if (this.open?.step === 'Watch') await this.rolloutLines();
      if (described.status !== 'RUNNING') {
        await this.history(arn);
        return this.finish({
          app: this.app,
          execution: this.name,
          status: described.status ?? 'FAILED',
          ...(described.error ? { error: described.error } : {}),
          ...(described.cause ? { cause: described.cause } : {}),
          ...(this.failedStep ? { failedStep: this.failedStep } : {}),
          input: JSON.parse(described.input ?? '{}'),
        });
      }
      if (Date.now() > deadline) {
        this.print(this.c.yellow(`Still deploying after ${formatDuration(this.options.timeoutMs)}; stopped following.`));
        throw new CliError(`deploy ${this.name} of ${this.app} is still running`, `see how it ends with \`rackless releases --app ${this.app}\``, 3);
      }
      await sleep(this.options.pollMs);
    }
  }

  private async history(arn: string): Promise<void> {
    const events: HistoryEvent[] = [];
    for await (const page of paginateGetExecutionHistory({ client: this.ctx.aws.sfn, pageSize: 500 }, { executionArn: arn, includeExecutionData: false }))
      events.push(...(page.events ?? []));
    for (const event of events.slice(this.seen)) await this.onEvent(event);
    this.seen = Math.max(this.seen, events.length);
  }

  private async onEvent(event: HistoryEvent): Promise<void> {
    const at = event.timestamp?.getTime() ?? Date.now();
    const entered = event.stateEnteredEventDetails?.name;
    if (entered !== undefined) {
      if (this.open) await this.close(entered === `${this.open.step} failed` ? 'FAILED' : 'OK', at);
      // "Watch failed" is the Pass state a Catch routes to; "Deploy failed" is the final Fail state
      const failed = entered.endsWith(' failed') ? entered.slice(0, -' failed'.length) : undefined;
      if (failed && STEP_LABELS[failed]) this.failedStep = failed;
      if (event.type === 'TaskStateEntered') {
        let label = STEP_LABELS[entered] ?? entered;
        if (entered === 'Promote') {
          const release = await releaseOf(this.ctx, this.app, this.name);
          if (release) label = `Promoting ${release.id}`;
        }
        if (entered === 'Watch') {
          const deadline = await this.rolloutDeadline(event.id);
          if (deadline !== undefined) label = `${label} (deadline ${formatDuration(deadline * 1000)})`;
        }
        this.open = { step: entered, at, label };
        if (this.lineOpen) this.io.out('\n');
        this.io.out(`${label}... `);
        this.lineOpen = true;
      }
    }
    if (event.type === 'ExecutionSucceeded' || event.type === 'ExecutionFailed' || event.type === 'ExecutionAborted' || event.type === 'ExecutionTimedOut') {
      if (this.open) await this.close(event.type === 'ExecutionSucceeded' ? 'OK' : 'FAILED', at);
    }
  }

  /**
   * The deadline Prepare gave this rollout (`watch.deadlineSeconds`, shared/rollout/deadline.ts), from
   * the input of the Watch state entered as event `eventId`. The polling above reads the history
   * without execution data; this reads it with, newest first, once per deploy.
   */
  private async rolloutDeadline(eventId: number | undefined): Promise<number | undefined> {
    const pages = paginateGetExecutionHistory(
      { client: this.ctx.aws.sfn, pageSize: 20 },
      { executionArn: executionArn(this.ctx.rack.stateMachineArn, this.name), includeExecutionData: true, reverseOrder: true },
    );
    for await (const page of pages) {
      const entered = page.events?.find((e) => e.id === eventId)?.stateEnteredEventDetails;
      if (!entered) continue;
      try {
        const seconds = (JSON.parse(entered.input ?? '{}') as Partial<DeployState>).watch?.deadlineSeconds;
        return typeof seconds === 'number' ? seconds : undefined;
      } catch {
        // an input Step Functions truncated is no JSON: the line goes without the deadline
        return undefined;
      }
    }
    return undefined;
  }

  private async close(result: 'OK' | 'FAILED', at: number): Promise<void> {
    const step = this.open!;
    this.open = undefined;
    const took = this.c.dim(`(${formatDuration(at - step.at)})`);
    const word = result === 'OK' ? this.c.green('OK') : this.c.red('FAILED');
    if (this.lineOpen) this.io.out(`${word} ${took}\n`);
    else this.io.out(`${step.label}... ${word} ${took}\n`);
    this.lineOpen = false;
    if (step.step === 'Release' && result === 'OK' && !this.releasePrinted) {
      const release = await releaseOf(this.ctx, this.app, this.name);
      if (release) {
        this.releasePrinted = true;
        this.print(`Release: ${this.c.bold(release.id)} (#${release.number})`);
      }
    }
    if (step.step === 'Watch') await this.rolloutLines();
  }

  /** One line per service whenever its counts or rollout state change. */
  private async rolloutLines(): Promise<void> {
    const watch = await this.ctx.store.getWatch(this.name);
    if (!watch) return;
    const { seen, stops } = verdictInputs(watch);
    const described = await this.ctx.aws.ecs.send(new DescribeServicesCommand({ cluster: this.ctx.rack.cluster, services: watch.deployments.map((d) => d.serviceName) }));
    for (const d of watch.deployments) {
      const service = described.services?.find((s) => s.serviceName === d.serviceName);
      const deployment = service?.deployments?.find((x) => x.id === d.deploymentId);
      const observed = seen[d.deploymentId];
      const failed = Math.max(deployment?.failedTasks ?? 0, stops[d.taskDefinitionArn]?.count ?? 0, observed?.failedTasks ?? 0);
      const state = observed?.outcome === 'completed' ? 'COMPLETED' : observed?.outcome === 'failed' ? 'FAILED' : failed >= watch.failFastStops ? 'FAILED' : 'IN_PROGRESS';
      const line: RolloutLine = {
        desired: d.desiredCount,
        running:
          state === 'COMPLETED' ? Math.max(observed?.runningCount ?? d.desiredCount, deployment?.runningCount ?? 0) : (observed?.runningCount ?? deployment?.runningCount ?? 0),
        failed,
        state,
      };
      const text = `  ${d.service.padEnd(12)} desired ${line.desired}  running ${line.running}  failed ${line.failed}  ${this.paint(line.state)}`;
      if (this.rollout.get(d.service) === text) continue;
      this.rollout.set(d.service, text);
      this.print(text);
    }
  }

  private paint(state: string): string {
    return state === 'COMPLETED' ? this.c.green(state) : state === 'FAILED' ? this.c.red(state) : this.c.yellow(state);
  }

  private async finish(done: FinishedExecution): Promise<number> {
    if (this.lineOpen) this.io.out('\n');
    this.lineOpen = false;
    const message = await deployMessage(this.ctx, done);
    if (done.status === 'SUCCEEDED') {
      const release = await releaseOf(this.ctx, this.app, this.name);
      this.io.out(`\n${this.c.green('✓')} ${message.split('\n')[0]}\n`);
      const endpoints = endpointsOf(release);
      if (endpoints.length) {
        this.io.out('Endpoints:\n');
        for (const e of endpoints) this.io.out(`  ${e.service.padEnd(12)} ${e.url}  (load balancer ${this.ctx.rack.loadBalancerDns}, Host: ${new URL(e.url).host})\n`);
      }
      return 0;
    }
    this.io.out(`\n${this.c.red('✗')} ${message}\n`);
    return 1;
  }
}
