import { ensureEcsServiceLinkedRole } from '../../shared/aws/iam.js';
import { describeStack, retainedOnDelete } from '../../shared/aws/stack.js';
import { runningDeploys } from '../../shared/uninstall/app.js';
import { inventoryLines, retainedAdvice } from '../../shared/uninstall/plan.js';
import { findRack, type RackRemovalDeps, uninstallRack } from '../../shared/uninstall/rack.js';
import { Aws, clientSettings, context, type GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import { declaredParameters, deployCommand, findCheckout, installSummary, parseParameters, readServerlessYml, type Runner, spawnRunner, stageOf } from '../install.js';
import { json, type Io } from '../io.js';
import { asCliError, confirm, deletedTable, removalDeps } from '../removal.js';

export interface InstallSeams {
  /** runs `serverless deploy` (default: spawned with the terminal's stdio) */
  runner?: Runner;
  /** the checkout holding serverless.yml (default: found from this module or the working directory) */
  checkout?: string;
}

/**
 * `rackless rack install --rack STAGE [--param k=v …]`: checks the ECS service-linked role (created
 * when missing), runs `serverless deploy` from the checkout with the stage, region, profile and
 * parameters, then prints the stack's outputs and what to do next.
 */
export async function rackInstall(options: GlobalOptions & { param?: string[] }, io: Io, seams: InstallSeams = {}): Promise<number> {
  const stage = stageOf(options.rack ?? process.env.RACKLESS_RACK);
  if (options.endpointUrl && !seams.runner) {
    throw new CliError('rack install deploys with serverless to AWS itself, which takes no --endpoint-url', 'for a rack on this machine run `rackless local up`');
  }
  const checkout = seams.checkout ?? findCheckout();
  const declared = declaredParameters(readServerlessYml(checkout));
  const parameters = parseParameters(options.param ?? [], declared);
  const region = clientSettings(options).region;
  const aws = new Aws(options);
  const role = await ensureEcsServiceLinkedRole(aws.iam);
  io.out(`ECS service-linked role AWSServiceRoleForECS: ${role === 'created' ? 'created' : 'present'}\n`);
  const { command, args } = deployCommand({ checkout, stage, region, ...(options.profile ? { profile: options.profile } : {}), parameters });
  io.out(`Running ${['serverless', ...args].join(' ')} (in ${checkout})\n`);
  const code = await (seams.runner ?? spawnRunner)(command, args, { cwd: checkout, env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' } });
  if (code !== 0)
    throw new CliError(
      `serverless deploy exited with code ${code}: the rack is not installed (or not updated)`,
      'its output above says why; run the command again once it is fixed',
    );
  const stack = await describeStack(aws.cfn, `rackless-${stage}`);
  if (!stack) throw new CliError(`serverless deploy succeeded but there is no stack rackless-${stage} in ${region}`, 'check --region and --profile');
  const outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  if (options.json) {
    json(io, { rack: stack.StackName, region, status: stack.StackStatus, outputs });
    return 0;
  }
  const rackDomain = parameters.find(([k]) => k === 'rackDomain')?.[1] || declared.rackDomain || `rackless-${stage}.internal`;
  io.out(installSummary({ rack: stack.StackName ?? `rackless-${stage}`, region, outputs, rackDomain }));
  return 0;
}

/**
 * `rackless rack uninstall`: lists what it will delete, asks (`--yes`), deletes every app, empties the
 * source bucket (every version and delete marker), deletes the stack and waits for it. Says what the
 * template keeps (DeletionPolicy Retain) and why, and a DELETE_FAILED stack's failed resources.
 */
export async function rackUninstall(options: GlobalOptions & { yes?: boolean; force?: boolean; timeout?: number }, io: Io): Promise<number> {
  const ctx = await context(options);
  const base = await removalDeps(ctx, io, options);
  const stackId = ctx.rack.stackId || ctx.rack.name;
  const deps: RackRemovalDeps = {
    ...base,
    cfn: ctx.aws.cfn,
    asg: ctx.aws.asg,
    tagging: ctx.aws.tagging,
    stackId,
    retained: await retainedOnDelete(ctx.aws.cfn, stackId),
    stackSeconds: options.timeout ?? 1800,
  };
  const inventory = await findRack(deps);
  const running = (await Promise.all(inventory.apps.map(async (a) => (await runningDeploys(deps, a.app)).map((r) => `${a.app}: ${r.execution}`)))).flat();
  if (running.length && !options.force) {
    throw new CliError(`deploys are running (${running.join(', ')}); nothing was deleted`, 'wait for them to end, or pass --force to stop them and uninstall anyway');
  }
  const say = (text: string) => (options.json ? io.err(text) : io.out(text));
  const types = new Map<string, number>();
  for (const r of inventory.stackResources) types.set(r.type, (types.get(r.type) ?? 0) + 1);
  say(`Uninstalling rack ${ctx.rack.name} deletes:\n`);
  say(`  apps (${inventory.apps.length})${inventory.apps.length ? `: ${inventory.apps.map((a) => a.app).join(', ')}` : ''}\n`);
  for (const app of inventory.apps) for (const line of inventoryLines(app)) say(`    ${app.app}: ${line}\n`);
  for (const b of inventory.buckets) say(`  bucket ${b.bucket}: ${b.versions} object versions and delete markers, then the bucket\n`);
  say(`  stack ${ctx.rack.name}: ${inventory.stackResources.length} resources (${[...types].map(([t, n]) => `${n} ${t}`).join(', ')})\n`);
  if (running.length) say(`  and stops the running deploys ${running.join(', ')}\n`);
  say(`  (first turning off the scale-in protection of the stack's instances, which would hold the deletion)\n`);
  for (const r of inventory.retained) say(`Kept: ${r.logicalId} (${r.type}) ${r.physicalId}: the template marks it DeletionPolicy Retain\n`);
  for (const s of inventory.apps.flatMap((a) => a.skipped)) say(`Left as it is: ${s.kind} ${s.name} (${s.reason})\n`);
  await confirm(io, `Uninstall rack ${ctx.rack.name} and delete everything listed?`, options.yes);
  const result = await asCliError('rackless rack uninstall', () => uninstallRack(deps, inventory, options.force === true));
  const retainedIds = new Set(inventory.retained.map((r) => r.physicalId));
  const leftTagged = result.tagged.filter((arn) => ![...retainedIds].some((id) => id && arn.includes(id)));
  if (options.json) {
    json(io, { rack: ctx.rack.name, ...result, retained: inventory.retained, leftTagged });
  } else {
    io.out(`\n${deletedTable(result.deleted)}`);
    for (const [bucket, count] of Object.entries(result.bucketObjects)) io.out(`bucket ${bucket}: ${count} object versions and delete markers deleted\n`);
    io.out(`stack ${ctx.rack.name}: ${result.stack.status}\n`);
    for (const r of inventory.retained) io.out(`Left: ${r.logicalId} (${r.type}) ${r.physicalId}: ${retainedAdvice(r.type, r.physicalId)}\n`);
    for (const arn of leftTagged) io.out(`Left, still tagged rackless:rack=${ctx.rack.name}: ${arn}\n`);
  }
  if (result.stack.status === 'DELETE_FAILED') {
    for (const f of result.stack.failures) io.err(`  ${f.logicalId} (${f.type}): ${f.reason}\n`);
    throw new CliError(
      `stack ${ctx.rack.name} is DELETE_FAILED: ${result.stack.failures.map((f) => f.logicalId).join(', ') || 'no resource named'} could not be deleted`,
      'fix what the reasons above say, then run `rackless rack uninstall` again',
    );
  }
  if (result.stack.status === 'TIMED_OUT') {
    throw new CliError(
      `stack ${ctx.rack.name} is still ${result.stack.last} after ${deps.stackSeconds} s`,
      'run `rackless rack uninstall` again to go on waiting, or raise --timeout',
    );
  }
  return 0;
}
