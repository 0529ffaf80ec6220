/**
 * Rollout verdicts, pure. A deploy is followed by the id of the ECS deployment it created — never by
 * "is the service stable", which ECS also reports after a circuit-breaker rollback.
 */
export interface WatchedDeployment {
  service: string;
  serviceName: string;
  deploymentId: string;
  taskDefinitionArn: string;
  desiredCount: number;
}

export type Observation = { outcome: 'completed' | 'failed' | 'in-progress'; reason?: string; failedTasks?: number; runningCount?: number };

export interface StopSummary {
  taskArn: string;
  cause: string;
  summary: string;
  stoppedReason?: string;
  exitCode?: number;
  oom?: boolean;
  healthCheck?: string;
  container?: string;
}

export interface StopTally {
  count: number;
  last?: StopSummary;
}

export type Verdict =
  | { status: 'waiting'; pending: string[] }
  | { status: 'completed'; detail: string }
  | { status: 'failed'; code: 'ROLLOUT_FAILED' | 'TOO_MANY_FAILED_TASKS' | 'ROLLOUT_DEADLINE'; service: string; reason: string; stop?: StopSummary };

export function rolloutVerdict(
  deployments: WatchedDeployment[],
  observations: Record<string, Observation | undefined>,
  stops: Record<string, StopTally | undefined>,
  failFastStops: number,
): Verdict {
  for (const d of deployments) {
    const seen = observations[d.deploymentId];
    if (seen?.outcome === 'failed') {
      const tally = stops[d.taskDefinitionArn];
      return {
        status: 'failed',
        code: 'ROLLOUT_FAILED',
        service: d.service,
        reason: `deployment ${d.deploymentId} of service ${d.serviceName} failed: ${seen.reason ?? 'no reason given'}`,
        ...(tally?.last ? { stop: tally.last } : {}),
      };
    }
  }
  for (const d of deployments) {
    const tally = stops[d.taskDefinitionArn];
    if (tally && tally.count >= failFastStops) {
      return {
        status: 'failed',
        code: 'TOO_MANY_FAILED_TASKS',
        service: d.service,
        reason: `${tally.count} tasks of ${shortTaskDefinition(d.taskDefinitionArn)} stopped unexpectedly (limit ${failFastStops})${tally.last ? `; last: ${tally.last.summary}` : ''}`,
        ...(tally.last ? { stop: tally.last } : {}),
      };
    }
  }
  const pending = deployments.filter((d) => observations[d.deploymentId]?.outcome !== 'completed').map((d) => d.service);
  if (pending.length > 0) return { status: 'waiting', pending };
  return { status: 'completed', detail: deployments.map((d) => `${d.service}: ${d.deploymentId} completed`).join('; ') };
}

/** At the deadline, whatever is still in progress has failed; `deadline` says how the deadline was reached (shared/rollout/deadline.ts). */
export function deadlineVerdict(
  deployments: WatchedDeployment[],
  observations: Record<string, Observation | undefined>,
  stops: Record<string, StopTally | undefined>,
  failFastStops: number,
  deadlineSeconds: number,
  deadline?: string,
): Verdict {
  const verdict = rolloutVerdict(deployments, observations, stops, failFastStops);
  if (verdict.status !== 'waiting') return verdict;
  const first = deployments.find((d) => verdict.pending.includes(d.service))!;
  const seen = observations[first.deploymentId];
  const tally = stops[first.taskDefinitionArn];
  return {
    status: 'failed',
    code: 'ROLLOUT_DEADLINE',
    service: first.service,
    reason:
      `deployment ${first.deploymentId} of service ${first.serviceName} did not complete within ${deadlineSeconds}s ` +
      `(${seen ? `rollout ${seen.outcome}, ${seen.runningCount ?? 0}/${first.desiredCount} running, ${seen.failedTasks ?? 0} failed tasks` : 'not found'})` +
      (deadline ? `; the deadline is the manifest's longest healthy rollout, ${deadline}` : ''),
    ...(tally?.last ? { stop: tally.last } : {}),
  };
}

/** What DescribeServices says about one deployment id. */
export function observeDeployment(
  service: { deployments?: Array<{ id?: string; status?: string; rolloutState?: string; rolloutStateReason?: string; failedTasks?: number; runningCount?: number }> } | undefined,
  deploymentId: string,
): Observation | undefined {
  const deployment = service?.deployments?.find((d) => d.id === deploymentId);
  if (!deployment) {
    // gone from the list: ECS replaced it (circuit-breaker rollback or a newer update)
    return service ? { outcome: 'failed', reason: `deployment ${deploymentId} is no longer active on the service` } : undefined;
  }
  const counts = { failedTasks: deployment.failedTasks ?? 0, runningCount: deployment.runningCount ?? 0 };
  switch (deployment.rolloutState) {
    case 'COMPLETED':
      return { outcome: 'completed', reason: deployment.rolloutStateReason, ...counts };
    case 'FAILED':
      return { outcome: 'failed', reason: deployment.rolloutStateReason, ...counts };
    default:
      return { outcome: 'in-progress', reason: deployment.rolloutStateReason, ...counts };
  }
}

export function shortTaskDefinition(arn: string): string {
  return arn.split('/').pop() ?? arn;
}
