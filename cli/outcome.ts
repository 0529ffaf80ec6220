import type { ReleaseRecord } from '../shared/aws/store.js';
import { parseFailure } from '../shared/errors.js';
import { renderNotification } from '../shared/notify/render.js';
import type { Context } from './context.js';

/**
 * A finished deploy execution as the CLI saw it in Step Functions.
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

/**
 * The deploy's outcome in the words of its SNS notification: Notify records the rendered message
 * with the app's deploy event. An execution that died before Notify gets its Step Functions error.
 */
export async function deployMessage(ctx: Context, done: FinishedExecution): Promise<string> {
  const events = await ctx.store.listEvents(done.app, 100);
  const event = events.find((e) => e.type === 'deploy' && e.execution === done.execution);
  const recorded = event?.notification as { subject?: string; message?: string } | undefined;
  if (recorded?.message) return recorded.message;
  const failure = done.error ? parseFailure({ Error: done.error, Cause: done.cause ?? '' }) : undefined;
  return renderNotification({
    kind: 'deploy',
    status: done.status === 'SUCCEEDED' ? 'succeeded' : 'failed',
    app: done.app,
    changes: [],
    timings: [],
    ...(failure ? { failure: { step: done.failedStep ?? 'Queue', code: failure.code, message: failure.message } } : {}),
  }).message;
}
