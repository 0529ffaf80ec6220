import { Readable } from 'node:stream';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ListTaskDefinitionsCommand, type ContainerDefinition, type TaskDefinition } from '@aws-sdk/client-ecs';
import { serviceName } from '../../shared/aws/ecs.js';
import { RacklessError } from '../../shared/errors.js';
import { manifestText, parseManifest } from '../../shared/manifest/parse.js';
import type { ServiceSpec } from '../../shared/manifest/types.js';
import { scanTarball } from '../../shared/tarball/scan.js';
import { taskDefinitionInput } from '../../shared/taskdef/task-definition.js';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { colors, json, type Io } from '../io.js';

/**
 * `deploy --dry-run`: the task definitions and service settings this tarball would produce, against
 * what runs now. Reads only (DescribeServices, DescribeTaskDefinition, the table): changes nothing.
 */
export interface Change {
  field: string;
  from?: string;
  to?: string;
}

export interface ServicePlan {
  service: string;
  serviceName: string;
  action: 'create' | 'update' | 'unchanged';
  taskDefinition: { from?: string; to: string };
  changes: Change[];
}

const SAME_IMAGE = '(the image this deploy builds)';

function containerView(container: ContainerDefinition | undefined, task: Pick<TaskDefinition, 'cpu' | 'memory'> | undefined): Record<string, string> {
  if (!container) return {};
  const view: Record<string, string> = {
    image: container.image ?? '',
    command: container.command ? JSON.stringify(container.command) : '',
    cpu: String(task?.cpu ?? ''),
    memory: String(task?.memory ?? ''),
    port: (container.portMappings ?? []).map((p) => String(p.containerPort)).join(','),
    'health check': container.healthCheck?.command ? JSON.stringify(container.healthCheck.command) : '',
    'stop timeout': container.stopTimeout !== undefined ? `${container.stopTimeout} s` : '',
  };
  // RACKLESS_RELEASE differs on every release by design
  for (const e of container.environment ?? []) if (e.name && e.name !== 'RACKLESS_RELEASE') view[`env ${e.name}`] = e.value ?? '';
  for (const s of container.secrets ?? []) if (s.name) view[`secret ${s.name}`] = s.valueFrom ?? '';
  return view;
}

export function diffViews(before: Record<string, string>, after: Record<string, string>): Change[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changes: Change[] = [];
  for (const key of keys) {
    const from = before[key] || undefined;
    const to = after[key] || undefined;
    if (from === to) continue;
    if (key === 'image' && to === SAME_IMAGE) {
      changes.push({ field: key, ...(from ? { from } : {}), to });
      continue;
    }
    changes.push({ field: key, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
  }
  return changes;
}

export async function planDeploy(ctx: Context, app: string, tarball: Buffer): Promise<ServicePlan[]> {
  const scan = await scanTarball(Readable.from([tarball]));
  const current = await ctx.store.currentRelease(app);
  const appRecord = await ctx.store.getApp(app);
  const rackDomain = inferRackDomain(current?.manifest.services ?? [], app) ?? `${ctx.rack.name}.internal`;
  const manifest = parseManifest(manifestText(scan), {
    app,
    owner: { rack: ctx.rack.name, ecrPrefix: ctx.rack.name, region: ctx.rack.region },
    rackDomain,
    files: scan.files,
    paths: scan.paths,
    links: scan.links,
  });
  const names = manifest.services.map((s) => serviceName(ctx.rack.name, app, s.name));
  const described = await ctx.aws.ecs.send(new DescribeServicesCommand({ cluster: ctx.rack.cluster, services: names }));
  const plans: ServicePlan[] = [];
  for (const spec of manifest.services) {
    const name = serviceName(ctx.rack.name, app, spec.name);
    const service = described.services?.find((s) => s.serviceName === name && s.status !== 'INACTIVE');
    const live = service?.taskDefinition ? (await ctx.aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition }))).taskDefinition : undefined;
    const accountId = live?.taskDefinitionArn?.split(':')[4] ?? '123456789012';
    const input = taskDefinitionInput({
      rack: ctx.rack.name,
      app,
      service: spec,
      image: spec.image ?? SAME_IMAGE,
      releaseId: 'NEW',
      region: ctx.rack.region,
      accountId,
      logGroup: `${ctx.rack.logGroupPrefix}/${app}`,
      executionRoleArn: live?.executionRoleArn ?? 'rack task execution role',
      ...(live?.taskRoleArn ? { taskRoleArn: live.taskRoleArn } : {}),
      appConfig: appRecord?.config ?? {},
    });
    const before = containerView(
      live?.containerDefinitions?.find((c) => c.name === spec.name),
      live,
    );
    const after = containerView(input.containerDefinitions?.[0], input);
    const changes = diffViews(before, after);
    if (service) {
      if ((service.desiredCount ?? 0) !== spec.scale.count) changes.push({ field: 'desired count', from: String(service.desiredCount ?? 0), to: String(spec.scale.count) });
      const config = service.deploymentConfiguration;
      const deployment = `${config?.minimumHealthyPercent ?? '?'}/${config?.maximumPercent ?? '?'}`;
      if (deployment !== `${spec.deployment.minimum}/${spec.deployment.maximum}`)
        changes.push({ field: 'deployment min/max %', from: deployment, to: `${spec.deployment.minimum}/${spec.deployment.maximum}` });
    } else {
      changes.push({ field: 'desired count', to: String(spec.scale.count) });
      if (spec.port) changes.push({ field: 'load balancer', to: `target group, host rules ${spec.domains.join(', ')}` });
    }
    const family = input.family!;
    // revisions only grow, deregistered and rolled-back ones included: the next is the newest + 1
    let newest = 0;
    for (const status of ['ACTIVE', 'INACTIVE'] as const) {
      const page = await ctx.aws.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status, sort: 'DESC', maxResults: 100 }));
      for (const arn of page.taskDefinitionArns ?? []) newest = Math.max(newest, Number(arn.split(':').pop()));
    }
    const revision = newest + 1;
    plans.push({
      service: spec.name,
      serviceName: name,
      action: !service ? 'create' : changes.length ? 'update' : 'unchanged',
      taskDefinition: { ...(live ? { from: `${live.family}:${live.revision}` } : {}), to: `${family}:${revision}` },
      changes,
    });
  }
  return plans;
}

function inferRackDomain(services: ServiceSpec[], app: string): string | undefined {
  for (const s of services) {
    const prefix = `${s.name}.${app}.`;
    const domain = s.domains.find((d) => d.startsWith(prefix));
    if (domain) return domain.slice(prefix.length);
  }
  return undefined;
}

export async function dryRun(ctx: Context, io: Io, app: string, tarball: Buffer): Promise<number> {
  let plans: ServicePlan[];
  try {
    plans = await planDeploy(ctx, app, tarball);
  } catch (error) {
    if (error instanceof RacklessError)
      throw new CliError(`this deploy would fail at Prepare or Release: ${error.message}`, 'fix the manifest or the app config (`rackless env set`) and dry-run again');
    throw error;
  }
  if (ctx.options.json) {
    json(io, { app, dryRun: true, services: plans });
    return 0;
  }
  const c = colors(io);
  io.out(`Dry run of ${app} on rack ${ctx.rack.name}: nothing uploaded, nothing changed.\n`);
  for (const plan of plans) {
    const action = plan.action === 'create' ? c.green('create') : plan.action === 'update' ? c.yellow('update') : c.dim('unchanged');
    io.out(`\nService ${plan.service} (${plan.serviceName}): ${action}\n`);
    io.out(`  task definition ${plan.taskDefinition.from ? `${plan.taskDefinition.from} → ` : ''}${plan.taskDefinition.to}${plan.taskDefinition.from ? '' : ' (new)'}\n`);
    for (const change of plan.changes) {
      if (change.from === undefined) io.out(`  ${c.green('+')} ${change.field}: ${change.to}\n`);
      else if (change.to === undefined) io.out(`  ${c.red('-')} ${change.field}: ${change.from}\n`);
      else io.out(`  ${c.yellow('~')} ${change.field}: ${change.from} → ${change.to}\n`);
    }
  }
  return 0;
}
