import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { ReleaseRecord } from '../../shared/aws/store.js';
import { redeployExecutionName } from '../../shared/keys.js';
import { context, type Context, type GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import { DeployFollower } from '../follow.js';
import { ago, json, table, type Io } from '../io.js';
import { checkApp, followOptions } from './deploy.js';
import { requireApp, waitForExecution } from './common.js';

export async function releases(options: GlobalOptions & { app?: string }, io: Io): Promise<number> {
  const app = checkApp(options.app);
  const ctx = await context(options);
  const record = await requireApp(ctx, app);
  const list = await ctx.store.listReleases(app, 50);
  const rows = list.map((r) => ({
    id: r.id,
    number: r.number,
    status: r.status,
    current: r.id === record.currentRelease,
    trigger: r.trigger,
    basedOn: r.basedOn ?? null,
    createdAt: r.createdAt,
    taskDefinitions: r.taskDefinitions,
    failure: r.failure ?? null,
  }));
  if (options.json) {
    json(io, rows);
    return 0;
  }
  io.out(
    table(
      ['ID', '#', 'STATUS', 'TRIGGER', 'CREATED', 'NOTE'],
      rows.map((r) => [
        r.id,
        String(r.number),
        `${r.status}${r.current ? ' (current)' : ''}`,
        r.trigger,
        ago(r.createdAt),
        r.failure ? r.failure.split('\n')[0]!.slice(0, 80) : r.basedOn ? `based on ${r.basedOn}` : '',
      ]),
    ),
  );
  return 0;
}

/** Promote = the `Redeploy Requested` event a schedule or another tool would send; then follow it. */
async function requestRedeploy(ctx: Context, io: Io, app: string, release: ReleaseRecord, options: GlobalOptions & { wait?: boolean; timeout?: number }): Promise<number> {
  const put = await ctx.aws.events.send(
    new PutEventsCommand({ Entries: [{ Source: 'rackless', DetailType: 'Redeploy Requested', Detail: JSON.stringify({ app, release: release.id }) }] }),
  );
  const entry = put.Entries?.[0];
  if (!entry?.EventId) throw new CliError(`EventBridge refused the redeploy request: ${entry?.ErrorCode ?? ''} ${entry?.ErrorMessage ?? ''}`.trim());
  // the redeploy function names its execution after the event id, so the CLI knows which to follow
  const name = redeployExecutionName(app, 'redeploy', entry.EventId);
  io.out(`Requesting promotion of ${release.id} (#${release.number})... OK\n`);
  if (options.wait === false) return 0;
  const follow = followOptions(options);
  await waitForExecution(ctx, name, follow);
  return new DeployFollower(ctx, io, app, name, follow).run();
}

export async function promote(id: string, options: GlobalOptions & { app?: string; wait?: boolean }, io: Io): Promise<number> {
  const app = checkApp(options.app);
  const ctx = await context(options);
  await requireApp(ctx, app);
  const release = await ctx.store.getRelease(app, id);
  if (!release) throw new CliError(`release ${id} of app ${app} does not exist`, `list them with \`rackless releases --app ${app}\``);
  if (Object.keys(release.taskDefinitions ?? {}).length === 0)
    throw new CliError(`release ${id} never registered task definitions (it failed before Release)`, 'promote a release that got as far as Release');
  return requestRedeploy(ctx, io, app, release, options);
}

/** The release to roll back to: the one the current release replaced, else the newest older one that ran. */
export function rollbackTarget(list: ReleaseRecord[], currentId: string | undefined): ReleaseRecord | undefined {
  const current = list.find((r) => r.id === currentId);
  if (!current) return undefined;
  const replaced = current.previousReleaseId ? list.find((r) => r.id === current.previousReleaseId) : undefined;
  if (replaced && Object.keys(replaced.taskDefinitions ?? {}).length) return replaced;
  return list.find((r) => r.number < current.number && r.status !== 'failed' && Object.keys(r.taskDefinitions ?? {}).length > 0);
}

export async function rollback(id: string | undefined, options: GlobalOptions & { app?: string; wait?: boolean }, io: Io): Promise<number> {
  const app = checkApp(options.app);
  const ctx = await context(options);
  const record = await requireApp(ctx, app);
  if (id) return promote(id, options, io);
  const target = rollbackTarget(await ctx.store.listReleases(app, 100), record.currentRelease);
  if (!target) throw new CliError(`app ${app} has no earlier release to roll back to`, `list them with \`rackless releases --app ${app}\``);
  io.out(`Rolling back ${app} to ${target.id} (#${target.number})\n`);
  return requestRedeploy(ctx, io, app, target, options);
}
