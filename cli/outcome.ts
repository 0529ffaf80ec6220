import { lastLogLines, taskLogStream } from '../shared/aws/logs.js';
import type { ReleaseRecord } from '../shared/aws/store.js';
import { parseFailure } from '../shared/errors.js';
import { renderNotification } from '../shared/notify/render.js';
import type { FailureReason, Notification, ServiceChange } from '../shared/notify/types.js';
import { shortTaskDefinition } from '../shared/rollout/verdict.js';
import { loadWatch } from '../shared/watch/watch.js';
import type { Context } from './context.js';

/**
 * The deploy notification of an execution, rebuilt from what the pipeline recorded (the deploy
 * event, the release, the watch verdict, the failed task's logs) and rendered by the SNS renderer,
 * so the CLI says why in the same words as the notification.
 */
export interface FinishedExecution {
  app: string;
  execution: string;
  status: string;
  error?: string;
  cause?: string;
  /** the step whose Catch ran ("Watch" from "Watch failed") */
  failedStep?: string;
  /** execution input */
  input?: { trigger?: string; redeployRelease?: string; source?: { bucket: string; key: string } };
}

export async function releaseOf(ctx: Context, app: string, execution: string): Promise<ReleaseRecord | undefined> {
  return (await ctx.store.listReleases(app, 100)).find((r) => r.execution === execution);
}

export function endpointsOf(release: Pick<ReleaseRecord, 'manifest'> | undefined): Array<{ service: string; url: string }> {
  return (release?.manifest?.services ?? []).flatMap((s) => (s.port ? s.domains.map((d) => ({ service: s.name, url: `http://${d}` })) : []));
}

export async function deployNotification(ctx: Context, done: FinishedExecution): Promise<Notification> {
  const { app, execution } = done;
  const events = await ctx.store.listEvents(app, 100);
  const event = events.find((e) => String(e.sk ?? '').endsWith(`#${execution}`) && e.type === 'deploy');
  const release = await releaseOf(ctx, app, execution);
  const previous = release?.previousReleaseId ? await ctx.store.getRelease(app, release.previousReleaseId) : undefined;
  const status = (event?.status as Extract<Notification, { kind: 'deploy' }>['status'] | undefined) ?? (done.status === 'SUCCEEDED' ? 'succeeded' : 'failed');
  const changes: ServiceChange[] = release
    ? release.manifest.services.map((spec) => {
        const before = previous?.taskDefinitions[spec.name];
        return {
          service: spec.name,
          image: release.images[spec.name] ?? '',
          taskDefinition: shortTaskDefinition(release.taskDefinitions[spec.name] ?? ''),
          ...(before ? { previousTaskDefinition: shortTaskDefinition(before) } : {}),
          desiredCount: spec.scale.count,
          endpoints: spec.port ? spec.domains.map((d) => `http://${d}`) : [],
        };
      })
    : [];
  const source = release?.source ?? done.input?.source;
  const redeployOf = done.input?.redeployRelease;
  let failure: FailureReason | undefined;
  if (status !== 'succeeded') {
    const parsed = done.error ? parseFailure({ Error: done.error, Cause: done.cause ?? '' }) : undefined;
    const code = String(event?.code ?? done.error ?? parsed?.code ?? 'UNKNOWN');
    const message = String(event?.message ?? done.cause ?? parsed?.message ?? '');
    failure = { step: done.failedStep ?? 'Queue', code, message };
    if (failure.step === 'Watch' || failure.step === 'Promote') {
      const watch = await loadWatch(ctx.store, execution);
      const verdict = watch?.verdict;
      const service = verdict?.status === 'failed' ? verdict.service : /service (\S+?):/.exec(message)?.[1];
      if (service) failure.service = service;
      const stop = verdict?.status === 'failed' ? verdict.stop : undefined;
      if (stop) {
        if (stop.stoppedReason) failure.stoppedReason = stop.stoppedReason;
        if (stop.exitCode !== undefined) failure.exitCode = stop.exitCode;
        if (stop.oom) failure.oom = true;
        if (stop.healthCheck) failure.healthCheck = stop.healthCheck;
        if (service) {
          const lines = await lastLogLines(ctx.aws.logs, `${ctx.rack.logGroupPrefix}/${app}`, taskLogStream(service, stop.container ?? service, stop.taskArn));
          if (lines.length) failure.logLines = lines.slice(-20);
        }
      }
    }
  }
  return {
    kind: 'deploy',
    status,
    app,
    ...(release ? { releaseId: release.id, releaseNumber: release.number } : {}),
    source: source ? `s3://${source.bucket}/${source.key}` : `${done.input?.trigger ?? 'redeploy'}${redeployOf ? ` of ${redeployOf}` : ''}`,
    changes,
    timings: [],
    ...(failure ? { failure } : {}),
  };
}

export function renderDeploy(notification: Notification): string {
  return renderNotification(notification).message;
}
