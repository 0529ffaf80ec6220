import { paginateGetLogEvents } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeServicesCommand, DescribeTasksCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { serviceName } from '../../shared/aws/ecs.js';
import { context, isLoopback, type GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { checkApp } from './deploy.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One-off task: the service's live task definition, the command overridden; logs streamed; exit code passed through. */
export async function runTask(service: string, command: string[], options: GlobalOptions & { app?: string; timeout?: number }, io: Io): Promise<number> {
  const app = checkApp(options.app);
  if (command.length === 0) throw new CliError('no command given', `rackless run --app ${app} ${service} -- CMD ARGS…`);
  const ctx = await context(options);
  const name = serviceName(ctx.rack.name, app, service);
  const described = await ctx.aws.ecs.send(new DescribeServicesCommand({ cluster: ctx.rack.cluster, services: [name] }));
  const live = described.services?.find((s) => s.status !== 'INACTIVE');
  if (!live?.taskDefinition) throw new CliError(`app ${app} has no service ${service} (ECS service ${name})`, `see the services with \`rackless apps info ${app}\``);
  const res = await ctx.aws.ecs.send(
    new RunTaskCommand({
      cluster: ctx.rack.cluster,
      taskDefinition: live.taskDefinition,
      launchType: 'EC2',
      startedBy: 'rackless-run',
      overrides: { containerOverrides: [{ name: service, command }] },
    }),
  );
  const task = res.tasks?.[0];
  if (!task?.taskArn)
    throw new CliError(
      `ECS did not start the task: ${(res.failures ?? []).map((f) => `${f.reason ?? ''} ${f.detail ?? ''}`.trim()).join('; ') || 'no reason given'}`,
      'is there a container instance with room in the cluster?',
    );
  const taskId = task.taskArn.split('/').pop()!;
  io.err(`Running ${command.join(' ')} on ${service} (task ${taskId}, ${live.taskDefinition.split('/').pop()})\n`);
  const group = `${ctx.rack.logGroupPrefix}/${app}`;
  const stream = `${service}/${service}/${taskId}`;
  let token: string | undefined;
  const pump = async () => {
    try {
      // the paginator stops when the forward token repeats: the end of the stream for now
      for await (const page of paginateGetLogEvents(
        { client: ctx.aws.logs, stopOnSameToken: true, ...(token ? { startingToken: token } : {}) },
        { logGroupName: group, logStreamName: stream, startFromHead: true },
      )) {
        for (const e of page.events ?? []) io.out(`${(e.message ?? '').trimEnd()}\n`);
        token = page.nextForwardToken ?? token;
      }
    } catch (error) {
      if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    }
  };
  const deadline = Date.now() + (options.timeout ?? 3600) * 1000;
  const pollMs = isLoopback(options.endpointUrl) ? 100 : 2000;
  for (;;) {
    await pump();
    const now = await ctx.aws.ecs.send(new DescribeTasksCommand({ cluster: ctx.rack.cluster, tasks: [task.taskArn] }));
    const current = now.tasks?.[0];
    if (current?.lastStatus === 'STOPPED') {
      await pump();
      const container = current.containers?.find((c) => c.name === service) ?? current.containers?.[0];
      if (container?.exitCode === undefined) {
        throw new CliError(`task ${taskId} stopped without an exit code: ${current.stoppedReason ?? container?.reason ?? 'no reason given'}`, undefined, 1);
      }
      return container.exitCode;
    }
    if (Date.now() > deadline) throw new CliError(`task ${taskId} is still running`, `follow it with \`rackless logs --app ${app} ${service} --follow\``, 3);
    await sleep(pollMs);
  }
}
