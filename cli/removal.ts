import { stackArnParts, stackResources, type StackResource } from '../shared/aws/stack.js';
import type { RemovalDeps } from '../shared/uninstall/app.js';
import { DELETED_KINDS, type Deleted } from '../shared/uninstall/plan.js';
import type { Context } from './context.js';
import { RemovalFailed, RemovalRefused } from '../shared/errors.js';
import { CliError } from './errors.js';
import { type Io, table } from './io.js';

/** What `apps delete` and `rack uninstall` share: the rack as a removal sees it, the question, the summary. */

/** The stack's logical id of the redeploy function (serverless names it `<Function>LambdaFunction`). */
const REDEPLOY_FUNCTION = 'RedeployLambdaFunction';

export async function removalDeps(ctx: Context, io: Io, options: { timeout?: number }): Promise<RemovalDeps & { stack: StackResource[] }> {
  const stack = await stackResources(ctx.aws.cfn, ctx.rack.stackId || ctx.rack.name);
  const redeploy = stack.find((r) => r.logicalId === REDEPLOY_FUNCTION)?.physicalId;
  const where = ctx.rack.stackId ? stackArnParts(ctx.rack.stackId) : undefined;
  return {
    aws: {
      ecs: ctx.aws.ecs,
      elb: ctx.aws.elb,
      cloudwatch: ctx.aws.cloudwatch,
      ecr: ctx.aws.ecr,
      logs: ctx.aws.logs,
      ssm: ctx.aws.ssm,
      iam: ctx.aws.iam,
      events: ctx.aws.events,
      scaling: ctx.aws.scaling,
      s3: ctx.aws.s3,
      sfn: ctx.aws.sfn,
    },
    store: ctx.store,
    rack: {
      name: ctx.rack.name,
      cluster: ctx.rack.cluster,
      listenerArn: ctx.rack.listenerArn,
      ...(ctx.rack.httpsListenerArn ? { httpsListenerArn: ctx.rack.httpsListenerArn } : {}),
      bucket: ctx.rack.bucket,
      ecrPrefix: ctx.rack.ecrPrefix,
      logGroupPrefix: ctx.rack.logGroupPrefix,
      ...(redeploy && where ? { redeployFunctionArn: `arn:${where.partition}:lambda:${where.region}:${where.account}:function:${redeploy}` } : {}),
      stackResources: new Set(stack.map((r) => r.physicalId)),
    },
    drainSeconds: options.timeout ?? 600,
    progress: (line) => io.err(`${line}\n`),
    stack,
  };
}

/**
 * `--yes` answers for the user; otherwise the terminal is asked, and without one (a pipe, CI) the
 * command refuses rather than deleting unasked.
 */
export async function confirm(io: Io, question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!io.ask) throw new CliError('refusing to delete without a confirmation: stdin is not a terminal', 'pass --yes to delete without being asked');
  const answer = (await io.ask(`${question} [y/N] `)).trim();
  if (!/^(y|yes)$/i.test(answer)) throw new CliError('nothing was deleted: not confirmed', undefined, 1);
}

/** A removal's named failure as one line and what to do: run again, it goes on from where it stopped. */
export async function asCliError<T>(command: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof RemovalFailed) throw new CliError(error.message.replace(/^[A-Z_]+: /, ''), `fix the cause and run \`${command}\` again: it goes on from where it stopped`);
    if (error instanceof RemovalRefused) throw new CliError(error.message.replace(/^[A-Z_]+: /, ''), 'wait for it to end, or pass --force to stop it and delete anyway');
    throw error;
  }
}

/** Counts per resource type, the types with none left out. */
export function deletedTable(deleted: Deleted): string {
  const rows = DELETED_KINDS.filter((kind) => deleted[kind] > 0).map((kind) => [kind, String(deleted[kind])]);
  return rows.length ? table(['DELETED', 'COUNT'], rows) : 'nothing was left to delete\n';
}
