import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { SNSClient } from '@aws-sdk/client-sns';
import { type IdempotencyStore, once } from '../aws/idempotency.js';
import { lastLogLines, taskLogStream } from '../aws/logs.js';
import { publish } from '../aws/sns.js';
import { DAY_SECONDS } from '../aws/store.js';
import { isTransient, parseFailure } from '../errors.js';
import { logger } from '../logger.js';
import { renderNotification } from '../notify/render.js';
import type { FailureReason, Notification, ServiceChange } from '../notify/types.js';
import { hostsOf } from '../domains.js';
import type { QueueDeps } from '../queue/queue.js';
import { settleDomains } from './claims.js';
import { logGroupName, type Rack } from '../rack.js';
import { shortTaskDefinition, type StopSummary } from '../rollout/verdict.js';
import type { DeployState, StepTimingEntry } from './state.js';

export interface NotifyDeps extends QueueDeps {
  sns: SNSClient;
  logs: CloudWatchLogsClient;
  rack: Rack;
  topicArn: string;
  /** where Notify claims an outcome's message before publishing it: the rack's table (shared/aws/idempotency.ts) */
  idempotency: IdempotencyStore;
}

type Outcome = NonNullable<DeployState['outcome']>;

/** Pure: the outcome of a finished execution from what its steps left in the state. */
export function outcomeOf(state: DeployState): Outcome {
  if (!state.failure) return { status: 'succeeded' };
  const failure = parseFailure(state.failure);
  if (failure.error === 'Superseded') return { status: 'superseded', code: failure.code, message: failure.message };
  const build = buildFailure(state);
  const base = build ? { code: build.code, message: build.message } : { code: failure.code, message: failure.message };
  // rolled back only when every service went back: one Rollback could not restore leaves the deploy failed
  const rolledBack =
    (state.failedStep === 'Promote' || state.failedStep === 'Watch') &&
    !!state.rollback &&
    !state.rollback.services.some((s) => s.action === 'failed') &&
    !(state as { rollbackFailure?: unknown }).rollbackFailure;
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
 * How long the record of an outcome's message is kept: a failed execution can be redriven (Notify
 * run again, same execution) for 14 days after it ended.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html
 */
export const NOTIFIED_TTL_SECONDS = 15 * DAY_SECONDS;

/** Pure: what makes a message this outcome's, whatever else the state (timings, log lines) carries. */
export function outcomeKey(state: DeployState, outcome: Outcome): { app: string; execution: string; status: Outcome['status'] } {
  return { app: state.app, execution: state.execution, status: outcome.status };
}

/** How an outcome's message went: sent now, sent by an earlier attempt, maybe sent by one, or not sent. */
export type Delivery = 'published' | 'replayed' | 'unconfirmed' | 'failed';

/**
 * Publishes the outcome's message once, however often Notify is retried: the outcome is claimed in
 * the table before the Publish, and the claim completed with what was sent. A retry after a later
 * write failed replays what was sent. Throws only what a retry can cure (throttling, 5xx); any other
 * failure is logged and the deploy's outcome stands: a message that cannot go out does not turn a
 * deploy that rolled out into a failed one.
 */
async function publishOnce(state: DeployState, outcome: Outcome, notification: Notification, deps: NotifyDeps): Promise<{ subject: string; message: string; delivery: Delivery }> {
  const key = outcomeKey(state, outcome);
  const run = once<typeof key, { subject: string; message: string; messageId?: string }>(deps.idempotency, { name: 'deploy-outcome', ttlSeconds: NOTIFIED_TTL_SECONDS });
  const rendered = () => {
    const { subject, message } = renderNotification(notification);
    return { subject, message };
  };
  try {
    const sent = await run(key, async () => {
      const { subject, message, messageId } = await publish(deps.sns, deps.topicArn, notification);
      return { subject, message, ...(messageId ? { messageId } : {}) };
    });
    switch (sent.status) {
      case 'ran':
        if (sent.unrecorded) logger.warn('the outcome was published; its record could not be completed', { ...key, error: sent.unrecorded });
        return { subject: sent.result.subject, message: sent.result.message, delivery: 'published' };
      case 'replayed':
        logger.info('the outcome was published by an earlier attempt: not again', key);
        return { subject: sent.result.subject, message: sent.result.message, delivery: 'replayed' };
      case 'claimed':
        logger.warn('an earlier attempt claimed the outcome and ended before recording it: it may have been published, and is not again', key);
        return { ...rendered(), delivery: 'unconfirmed' };
    }
  } catch (error) {
    if (isTransient(error)) throw error;
    logger.error('the outcome could not be published', { ...key, error });
    return { ...rendered(), delivery: 'failed' };
  }
}

/**
 * Notify: record the outcome (the release becomes current only on success), publish one readable
 * message (the Hand over step after it passes the app's lock on). Safe to retry: every write is
 * idempotent and the message goes out once per outcome (publishOnce); the outcome it returns is
 * the state's, whatever happened to the message.
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
    ...(state.rollback?.services.some((s) => s.action !== 'untouched') ? { rollback: state.rollback.services.filter((s) => s.action !== 'untouched') } : {}),
    ...(state.retireFailure ? { retireProblem: `${parseFailure(state.retireFailure).code}: ${parseFailure(state.retireFailure).message}` } : {}),
  };
  const sent = await publishOnce(state, outcome, notification, deps);
  // the CLI shows a deploy's outcome in the same words as the SNS message
  await deps.store.recordEvent(state.app, state.execution, {
    type: 'deploy',
    execution: state.execution,
    notification: { subject: sent.subject, message: sent.message },
    ...(sent.delivery === 'failed' || sent.delivery === 'unconfirmed' ? { delivery: sent.delivery } : {}),
    status: outcome.status,
    ...(state.release ? { release: state.release.id } : {}),
    ...(outcome.code ? { code: outcome.code, message: outcome.message } : {}),
  });
  // the app's lock is handed on by the next step (Hand over: state-machines/deploy.asl.yml), with its own retries
  return { ...state, outcome };
}
