import { DescribeTasksCommand, type ECSClient, paginateListTasks, StopTaskCommand, UpdateContainerInstancesStateCommand } from '@aws-sdk/client-ecs';
import type { DrainState } from './types.js';

/** Service tasks are rescheduled by their service; anything else would die with the instance. */
export function isStandaloneTask(task: { group?: string }): boolean {
  return !(task.group ?? '').startsWith('service:');
}

export function stopReason(state: Pick<DrainState, 'instanceId' | 'autoScalingGroupName'>): string {
  return `Rackless drain: instance ${state.instanceId} is leaving Auto Scaling group ${state.autoScalingGroupName}`.slice(0, 255);
}

/** Task ARNs ECS still wants running on the container instance. */
async function tasksOn(ecs: ECSClient, cluster: string, containerInstance: string): Promise<string[]> {
  const arns: string[] = [];
  for await (const page of paginateListTasks({ client: ecs, pageSize: 100 }, { cluster, containerInstance, desiredStatus: 'RUNNING' })) arns.push(...(page.taskArns ?? []));
  return arns;
}

/** Stops the tasks on the instance that no service will reschedule; returns how many. */
export async function stopStandaloneTasks(ecs: ECSClient, cluster: string, state: DrainState & { containerInstanceArn: string }): Promise<number> {
  const arns = await tasksOn(ecs, cluster, state.containerInstanceArn);
  let stopped = 0;
  for (let i = 0; i < arns.length; i += 100) {
    const described = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }));
    for (const task of described.tasks ?? []) {
      if (!task.taskArn || task.desiredStatus !== 'RUNNING' || !isStandaloneTask(task)) continue;
      await ecs.send(new StopTaskCommand({ cluster, task: task.taskArn, reason: stopReason(state) }));
      stopped += 1;
    }
  }
  return stopped;
}

/**
 * Sets the container instance DRAINING (ECS moves its service tasks elsewhere) and stops its
 * standalone tasks, as Convox does. Safe to repeat: a retry finds the stopped tasks no longer RUNNING.
 */
export async function startDraining(ecs: ECSClient, cluster: string, state: DrainState): Promise<DrainState> {
  const containerInstanceArn = state.containerInstanceArn;
  if (!containerInstanceArn) return state;
  await ecs.send(new UpdateContainerInstancesStateCommand({ cluster, containerInstances: [containerInstanceArn], status: 'DRAINING' }));
  const standaloneTasksStopped = await stopStandaloneTasks(ecs, cluster, { ...state, containerInstanceArn });
  return { ...state, standaloneTasksStopped: state.standaloneTasksStopped + standaloneTasksStopped, phase: 'draining' };
}
