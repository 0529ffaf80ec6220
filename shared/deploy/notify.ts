import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { SNSClient } from '@aws-sdk/client-sns';
import { lastLogLines, taskLogStream } from '../aws/logs.js';
import { publish } from '../aws/sns.js';
import { parseFailure } from '../errors.js';
import type { FailureReason, Notification, ServiceChange } from '../notify/types.js';
import { hostsOf } from '../domains.js';
import { handover, type QueueDeps } from '../queue/queue.js';
import { settleDomains } from './claims.js';
import { logGroupName, type Rack } from '../rack.js';
import { shortTaskDefinition, type StopSummary } from '../rollout/verdict.js';
import type { DeployState, StepTimingEntry } from './state.js';

export interface NotifyDeps extends QueueDeps {
  sns: SNSClient;
  logs: CloudWatchLogsClient;
  rack: Rack;
  topicArn: string;
}

type Outcome = NonNullable<DeployState['outcome']>;

/** Pure: the outcome of a finished execution from what its steps left in the state. */
export function outcomeOf(state: DeployState): Outcome {
  if (!state.failure) return { status: 'succeeded' };
  const failure = parseFailure(state.failure);
  if (failure.error === 'Superseded') return { status: 'superseded', code: failure.code, message: failure.message };
  const build = buildFailure(state);
  const base = build ? { code: build.code, message: build.message } : { code: failure.code, message: failure.message };
  const rolledBack = (state.failedStep === 'Promote' || state.failedStep === 'Watch') && !!state.rollback && !(state as { rollbackFailure?: unknown }).rollbackFailure;
  return { status: rolledBack ? 'rolled-back' : 'failed', ...base };
}

/**
 * Pure: step timings with the Watch added — the wait between Promote's end and the next step (or now),
 * which no Lambda measures because no Lambda runs while ECS rolls out.
 */
export function withWatchTiming(timings: StepTimingEntry[], now = Date.now()): StepTimingEntry[] {
  const at = timings.findIndex((t) => t.step === 'Promote');
  if (at === -1) return timings;
  const promote = timings[at]!;
  const start = Date.parse(promote.startedAt) + promote.durationMs;
  const next = timings[at + 1];
  const end = next ? Date.parse(next.startedAt) : now;
  const watch = { step: 'Watch', startedAt: new Date(start).toISOString(), durationMs: Math.max(0, end - start) };
  return [...timings.slice(0, at + 1), watch, ...timings.slice(at + 1)];
}

/** CodeBuild .sync failures carry the Build as JSON in Cause. */
export function buildFailure(state: DeployState): { code: string; message: string; link?: string; id?: string } | undefined {
  if (state.failedStep !== 'Build' || !state.failure?.Cause) return undefined;
  let build:
    | { Id?: string; BuildStatus?: string; Logs?: { DeepLink?: string }; Phases?: Array<{ PhaseType?: string; PhaseStatus?: string; Contexts?: Array<{ Message?: string }> }> }
    | undefined;
  try {
    const cause = JSON.parse(state.failure.Cause) as Record<string, unknown>;
    build = (cause.Build ?? cause) as typeof build;
  } catch {
    return { code: 'BUILD_FAILED', message: state.failure.Cause };
  }
  const failedPhase = build?.Phases?.find((p) => p.PhaseStatus && p.PhaseStatus !== 'SUCCEEDED');
  const detail = failedPhase ? ` in phase ${failedPhase.PhaseType}${failedPhase.Contexts?.[0]?.Message ? `: ${failedPhase.Contexts[0].Message}` : ''}` : '';
  return {
    code: 'BUILD_FAILED',
    message: `build ${build?.Id ?? state.build?.tag ?? ''} ended ${build?.BuildStatus ?? 'FAILED'}${detail}`,
    ...(build?.Logs?.DeepLink ? { link: build.Logs.DeepLink } : {}),
    ...(build?.Id ? { id: build.Id } : {}),
  };
}

function changesOf(state: DeployState): ServiceChange[] {
  const release = state.release;
  if (!release) return [];
  return (state.manifest?.services ?? []).map((spec) => {
    const promoted = state.promoted?.find((p) => p.service === spec.name);
    const previous = state.previous?.taskDefinitions[spec.name];
    return {
      service: spec.name,
      image: release.images[spec.name] ?? '',
      taskDefinition: shortTaskDefinition(release.taskDefinitions[spec.name] ?? ''),
      ...(previous ? { previousTaskDefinition: shortTaskDefinition(previous) } : {}),
      desiredCount: spec.scale.count,
      endpoints: promoted?.endpoints ?? (spec.port ? spec.domains.map((d) => `http://${d}`) : []),
    };
  });
}

async function failureReason(state: DeployState, outcome: Outcome, deps: NotifyDeps): Promise<FailureReason | undefined> {
  if (outcome.status === 'succeeded') return undefined;
  const build = buildFailure(state);
  const reason: FailureReason = {
    step: state.failedStep ?? 'Queue',
    code: outcome.code ?? 'UNKNOWN',
    message: outcome.message ?? '',
    ...(build?.link ? { link: build.link } : {}),
  };
  if (state.failedStep !== 'Watch' && state.failedStep !== 'Promote') return reason;
  const watch = await deps.store.getWatch(state.execution);
  const verdict = watch?.verdict;
  const service = verdict?.status === 'failed' ? verdict.service : /service (\S+?):/.exec(reason.message)?.[1];
  const stop: StopSummary | undefined = verdict?.status === 'failed' ? verdict.stop : undefined;
  if (service) reason.service = service;
  if (stop) {
    if (stop.stoppedReason) reason.stoppedReason = stop.stoppedReason;
    if (stop.exitCode !== undefined) reason.exitCode = stop.exitCode;
    if (stop.oom) reason.oom = true;
    if (stop.healthCheck) reason.healthCheck = stop.healthCheck;
    if (service) {
      const lines = await lastLogLines(deps.logs, logGroupName(deps.rack, state.app), taskLogStream(service, stop.container ?? service, stop.taskArn));
      if (lines.length) reason.logLines = lines.slice(-20);
    }
  }
  return reason;
}

/**
 * Notify: record the outcome (the release becomes current only on success), publish one readable
 * message, and hand the app's lock to the newest waiting deploy.
 */
export async function notify(state: DeployState, deps: NotifyDeps): Promise<DeployState> {
  const outcome = outcomeOf(state);
  if (state.release) {
    if (outcome.status === 'succeeded') await deps.store.activateRelease(state.app, state.release.id);
    else if (!state.rollback) await deps.store.setReleaseStatus(state.app, state.release.id, 'failed', `${outcome.code}: ${outcome.message}`.slice(0, 2000));
  }
  // the app keeps claim to the hosts its current release routes, and only those: a failed first
  // deploy lets go of everything it claimed, a retired service of its hosts. Only the lock's holder
  // settles: a deploy superseded while it waited never claimed, and must not undo the running one's claim.
  if ((await deps.store.getLock(state.app))?.holder === state.execution) {
    await settleDomains(deps.store, state.app, hostsOf((await deps.store.currentRelease(state.app))?.manifest));
  }
  const build = buildFailure(state);
  if (build && state.build?.id)
    await deps.store.updateBuild(state.app, state.build.id, { status: 'failed', ...(build.id ? { codebuildId: build.id } : {}), ...(build.link ? { logs: build.link } : {}) });
  const failure = await failureReason(state, outcome, deps);
  const notification: Notification = {
    kind: 'deploy',
    status: outcome.status,
    app: state.app,
    ...(state.release ? { releaseId: state.release.id, releaseNumber: state.release.number } : {}),
    ...(state.source
      ? { source: `s3://${state.source.bucket}/${state.source.key}` }
      : { source: `${state.trigger}${state.redeployRelease ? ` of ${state.redeployRelease}` : ''}` }),
    changes: changesOf(state),
    timings: withWatchTiming(state.timings, deps.now()).map((t) => ({ step: t.step, durationMs: t.durationMs })),
    ...(failure ? { failure } : {}),
    ...(state.retired?.length ? { retired: state.retired } : {}),
    ...(state.retireFailure ? { retireProblem: `${parseFailure(state.retireFailure).code}: ${parseFailure(state.retireFailure).message}` } : {}),
  };
  const rendered = await publish(deps.sns, deps.topicArn, notification);
  // the CLI shows a deploy's outcome in the same words as the SNS message
  await deps.store.recordEvent(state.app, state.execution, {
    type: 'deploy',
    execution: state.execution,
    notification: { subject: rendered.subject, message: rendered.message },
    status: outcome.status,
    ...(state.release ? { release: state.release.id } : {}),
    ...(outcome.code ? { code: outcome.code, message: outcome.message } : {}),
  });
  await handover(state.app, state.execution, deps);
  return { ...state, outcome };
}
