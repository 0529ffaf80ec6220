import { DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { taskDefinitionFamily } from '../../shared/taskdef/task-definition.js';
import { context, type GlobalOptions } from '../context.js';
import { ago, json, table, type Io } from '../io.js';
import { checkApp } from './deploy.js';
import { requireApp } from './common.js';

export async function ps(options: GlobalOptions & { app?: string }, io: Io): Promise<number> {
  const app = checkApp(options.app);
  const ctx = await context(options);
  const record = await requireApp(ctx, app);
  const current = record.currentRelease ? await ctx.store.getRelease(app, record.currentRelease) : undefined;
  const releases = await ctx.store.listReleases(app, 100);
  const services = current?.manifest.services.map((s) => s.name) ?? [];
  const tasks = [];
  for (const service of services) {
    // by family: service tasks and one-off `run` tasks of the service alike
    const arns = (await ctx.aws.ecs.send(new ListTasksCommand({ cluster: ctx.rack.cluster, family: taskDefinitionFamily(ctx.rack.name, app, service) }))).taskArns ?? [];
    if (!arns.length) continue;
    const described = await ctx.aws.ecs.send(new DescribeTasksCommand({ cluster: ctx.rack.cluster, tasks: arns }));
    for (const task of described.tasks ?? []) {
      const release = releases.find((r) => r.taskDefinitions[service] === task.taskDefinitionArn);
      tasks.push({
        id: task.taskArn?.split('/').pop() ?? '',
        service,
        release: release?.id ?? null,
        status: task.lastStatus ?? '',
        kind: task.group?.startsWith('service:') ? 'service' : 'one-off',
        startedAt: task.startedAt?.toISOString() ?? task.createdAt?.toISOString() ?? null,
        taskDefinition: task.taskDefinitionArn?.split('/').pop() ?? '',
      });
    }
  }
  if (options.json) {
    json(io, tasks);
    return 0;
  }
  if (!tasks.length) {
    io.out(`no tasks of ${app} are running\n`);
    return 0;
  }
  io.out(
    table(
      ['ID', 'SERVICE', 'RELEASE', 'STATUS', 'KIND', 'STARTED'],
      tasks.map((t) => [t.id.slice(0, 12), t.service, t.release ?? '-', t.status, t.kind, ago(t.startedAt ?? undefined)]),
    ),
  );
  return 0;
}
