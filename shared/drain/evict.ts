import { DescribeTasksCommand, ListTasksCommand, StopTaskCommand, UpdateContainerInstancesStateCommand, type ECSClient } from '@aws-sdk/client-ecs';
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
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListTasksCommand({ cluster, containerInstance, desiredStatus: 'RUNNING', nextToken, maxResults: 100 }));
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
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
