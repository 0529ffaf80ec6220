import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import { serviceName } from '../../shared/aws/ecs.js';
import { context, type GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { checkApp } from './deploy.js';

/**
 * `scale`: --count changes the service's desired count now; --cpu/--memory register a revision of
 * the live task definition with new sizes and roll the service onto it. The next deploy applies the
 * manifest's scale again (the pipeline has no per-app scale override yet).
 */
export async function scale(service: string, options: GlobalOptions & { app?: string; count?: number; cpu?: number; memory?: number }, io: Io): Promise<number> {
  const app = checkApp(options.app);
  if (options.count === undefined && options.cpu === undefined && options.memory === undefined) throw new CliError('nothing to change', 'pass --count, --cpu or --memory');
  const ctx = await context(options);
  const name = serviceName(ctx.rack.name, app, service);
  const described = await ctx.aws.ecs.send(new DescribeServicesCommand({ cluster: ctx.rack.cluster, services: [name] }));
  const live = described.services?.find((s) => s.status !== 'INACTIVE');
  if (!live?.taskDefinition) throw new CliError(`app ${app} has no service ${service} (ECS service ${name})`, `see the services with \`rackless apps info ${app}\``);
  let taskDefinition: string | undefined;
  if (options.cpu !== undefined || options.memory !== undefined) {
    const current = (await ctx.aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: live.taskDefinition, include: ['TAGS'] }))).taskDefinition!;
    const memory = options.memory ?? Number(current.memory);
    const input: RegisterTaskDefinitionCommandInput = {
      family: current.family,
      ...(current.taskRoleArn ? { taskRoleArn: current.taskRoleArn } : {}),
      ...(current.executionRoleArn ? { executionRoleArn: current.executionRoleArn } : {}),
      ...(current.networkMode ? { networkMode: current.networkMode } : {}),
      containerDefinitions: (current.containerDefinitions ?? []).map((c) => (c.name === service ? { ...c, memoryReservation: memory } : c)),
      ...(current.requiresCompatibilities ? { requiresCompatibilities: current.requiresCompatibilities } : {}),
      cpu: String(options.cpu ?? current.cpu),
      memory: String(memory),
    };
    const registered = await ctx.aws.ecs.send(new RegisterTaskDefinitionCommand(input));
    taskDefinition = registered.taskDefinition!.taskDefinitionArn!;
  }
  await ctx.aws.ecs.send(
    new UpdateServiceCommand({
      cluster: ctx.rack.cluster,
      service: name,
      ...(options.count !== undefined ? { desiredCount: options.count } : {}),
      ...(taskDefinition ? { taskDefinition } : {}),
    }),
  );
  const parts = [
    options.count !== undefined ? `count ${live.desiredCount ?? 0} → ${options.count}` : '',
    taskDefinition ? `task definition ${live.taskDefinition.split('/').pop()} → ${taskDefinition.split('/').pop()}` : '',
  ].filter(Boolean);
  io.out(`Scaling ${app}/${service}: ${parts.join(', ')}... OK\n`);
  if (taskDefinition) io.err(`note: the next deploy of ${app} applies rackless.yml's scale again; put the new sizes in rackless.yml to keep them\n`);
  return 0;
}
