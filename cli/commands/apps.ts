import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { serviceName } from '../../shared/aws/ecs.js';
import { context, type GlobalOptions } from '../context.js';
import { ago, json, table, type Io } from '../io.js';
import { endpointsOf } from '../outcome.js';
import { checkApp } from './deploy.js';
import { requireApp } from './common.js';
import { deleteApp, findApp, guardDeploys, runningDeploys } from '../../shared/uninstall/app.js';
import { inventoryLines } from '../../shared/uninstall/plan.js';
import { CliError } from '../errors.js';
import { asCliError, confirm, deletedTable, removalDeps } from '../removal.js';

export async function apps(options: GlobalOptions, io: Io): Promise<number> {
  const ctx = await context(options);
  const records = await ctx.store.listApps();
  const rows = [];
  for (const app of records) {
    const current = app.currentRelease ? await ctx.store.getRelease(app.app, app.currentRelease) : undefined;
    const lock = await ctx.store.getLock(app.app);
    rows.push({
      app: app.app,
      status: lock && lock.expiresAt * 1000 > Date.now() ? 'deploying' : current ? 'running' : 'no release',
      release: current?.id ?? null,
      releaseNumber: current?.number ?? null,
      updatedAt: app.updatedAt ?? null,
    });
  }
  if (options.json) {
    json(io, rows);
    return 0;
  }
  if (rows.length === 0) {
    io.out(`no apps in rack ${ctx.rack.name}: deploy one with \`rackless deploy --app NAME\`\n`);
    return 0;
  }
  io.out(
    table(
      ['APP', 'STATUS', 'RELEASE', 'UPDATED'],
      rows.map((r) => [r.app, r.status, r.release ? `${r.release} (#${r.releaseNumber})` : '-', ago(r.updatedAt ?? undefined)]),
    ),
  );
  return 0;
}

export async function appInfo(name: string, options: GlobalOptions, io: Io): Promise<number> {
  const app = checkApp(name);
  const ctx = await context(options);
  const record = await requireApp(ctx, app);
  const current = record.currentRelease ? await ctx.store.getRelease(app, record.currentRelease) : undefined;
  const specs = current?.manifest.services ?? [];
  const names = specs.map((s) => serviceName(ctx.rack.name, app, s.name));
  const described = names.length ? await ctx.aws.ecs.send(new DescribeServicesCommand({ cluster: ctx.rack.cluster, services: names })) : { services: [] };
  const services = specs.map((spec) => {
    const service = described.services?.find((s) => s.serviceName === serviceName(ctx.rack.name, app, spec.name));
    return {
      service: spec.name,
      ecsService: serviceName(ctx.rack.name, app, spec.name),
      status: service?.status ?? 'MISSING',
      desired: service?.desiredCount ?? 0,
      running: service?.runningCount ?? 0,
      pending: service?.pendingCount ?? 0,
      taskDefinition: service?.taskDefinition?.split('/').pop() ?? '-',
      endpoints: spec.port ? spec.domains.map((d) => `http://${d}`) : [],
    };
  });
  const lock = await ctx.store.getLock(app);
  const info = {
    app,
    status: lock && lock.expiresAt * 1000 > Date.now() ? 'deploying' : current ? 'running' : 'no release',
    release: current ? { id: current.id, number: current.number, createdAt: current.createdAt } : null,
    services,
    endpoints: endpointsOf(current).map((e) => e.url),
    loadBalancer: ctx.rack.loadBalancerDns,
  };
  if (options.json) {
    json(io, info);
    return 0;
  }
  io.out(
    `Name        ${app}\nStatus      ${info.status}\nRelease     ${current ? `${current.id} (#${current.number}, ${ago(current.createdAt)})` : '-'}\nRack        ${ctx.rack.name}\n`,
  );
  io.out(`Endpoints   ${info.endpoints.join(', ') || '-'}${info.endpoints.length ? ` (via ${ctx.rack.loadBalancerDns})` : ''}\n\n`);
  if (services.length)
    io.out(
      table(
        ['SERVICE', 'STATUS', 'DESIRED', 'RUNNING', 'PENDING', 'TASK DEFINITION'],
        services.map((s) => [s.service, s.status, String(s.desired), String(s.running), String(s.pending), s.taskDefinition]),
      ),
    );
  return 0;
}

/**
 * `rackless apps delete NAME`: lists what it will delete, asks (`--yes`), then deletes every runtime
 * resource of the app (shared/uninstall/app.ts). Refuses while a deploy of the app runs, unless
 * `--force` (which stops it first). Safe to run again after a failure half-way.
 */
export async function appsDelete(name: string, options: GlobalOptions & { yes?: boolean; force?: boolean; timeout?: number }, io: Io): Promise<number> {
  const app = checkApp(name);
  const ctx = await context(options);
  const deps = await removalDeps(ctx, io, options);
  const running = await runningDeploys(deps, app);
  if (running.length && !options.force) {
    throw new CliError(
      `a deploy of app ${app} is running (execution ${running[0]!.execution}); nothing was deleted`,
      `wait for it to end (rackless apps info ${app}), or pass --force to stop it and delete the app anyway`,
    );
  }
  const inventory = await findApp(deps, app);
  const lines = inventoryLines(inventory);
  if (lines.length === 0) throw new CliError(`app ${app} does not exist in rack ${ctx.rack.name}: nothing of it is left to delete`, 'see the apps with `rackless apps`');
  // with --json, stdout holds the JSON alone: the list goes to stderr
  const say = (text: string) => (options.json ? io.err(text) : io.out(text));
  say(`Deleting app ${app} from rack ${ctx.rack.name} deletes:\n${lines.map((l) => `  ${l}\n`).join('')}`);
  if (running.length) say(`  and stops its running deploys: ${running.map((r) => r.execution).join(', ')}\n`);
  for (const s of inventory.skipped) say(`Left as it is: ${s.kind} ${s.name} (${s.reason})\n`);
  for (const rule of inventory.stackSchedules) say(`Left as it is: rule ${rule} schedules ${app} but is part of the rack's stack: remove it from serverless.yml\n`);
  await confirm(io, `Delete app ${app} and everything listed?`, options.yes);
  const deleted = await asCliError(`rackless apps delete ${app}`, async () => {
    await guardDeploys(deps, app, options.force === true);
    return deleteApp(deps, inventory);
  });
  if (options.json) {
    json(io, { app, rack: ctx.rack.name, deleted });
    return 0;
  }
  io.out(`\n${deletedTable(deleted)}App ${app} is deleted from rack ${ctx.rack.name}.\n`);
  return 0;
}
