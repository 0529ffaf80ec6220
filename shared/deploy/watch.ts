import type { ECSClient } from '@aws-sdk/client-ecs';
import { describeServices } from '../aws/ecs.js';
import type { Store } from '../aws/store.js';
import { RolloutFailed } from '../errors.js';
import type { Rack } from '../rack.js';
import { deadlineVerdict, observeDeployment, type Observation, type WatchedDeployment } from '../rollout/verdict.js';
import { registerWatch, type TaskTokenSender, verdictInputs } from '../watch/watch.js';
import type { DeployState } from './state.js';

export interface WatchDeps {
  ecs: ECSClient;
  store: Store;
  sender: TaskTokenSender;
  rack: Rack;
}

function watched(state: DeployState): WatchedDeployment[] {
  return (state.promoted ?? []).map((p) => ({
    service: p.service,
    serviceName: p.serviceName,
    deploymentId: p.deploymentId,
    taskDefinitionArn: p.taskDefinitionArn,
    desiredCount: p.desiredCount,
  }));
}

async function describe(deps: WatchDeps, deployments: WatchedDeployment[]): Promise<Record<string, Observation | undefined>> {
  const services = await describeServices(
    deps.ecs,
    deps.rack.cluster,
    deployments.map((d) => d.serviceName),
  );
  return Object.fromEntries(deployments.map((d) => [d.deploymentId, observeDeployment(services[d.serviceName], d.deploymentId)]));
}

/** Watch: register the task token, then re-check what ECS already says (events may have come first). */
export async function startWatch(state: DeployState, token: string, deps: WatchDeps) {
  const deployments = watched(state);
  return registerWatch(
    deps.store,
    deps.sender,
    { execution: state.execution, app: state.app, releaseId: state.release!.id, token, deployments, failFastStops: state.watch!.failFastStops },
    await describe(deps, deployments),
  );
}

/** Verify: the deadline passed with no verdict; one final DescribeServices decides. */
export async function verifyAtDeadline(state: DeployState, deps: WatchDeps): Promise<DeployState> {
  const deployments = watched(state);
  const described = await describe(deps, deployments);
  const watch = await deps.store.getWatch(state.execution);
  const recorded = watch ? verdictInputs(watch) : { seen: {}, stops: {} };
  const merged = Object.fromEntries(deployments.map((d) => [d.deploymentId, pickFinal(recorded.seen[d.deploymentId], described[d.deploymentId])]));
  const verdict = deadlineVerdict(deployments, merged, recorded.stops, state.watch!.failFastStops, state.watch!.deadlineSeconds, state.watch!.deadline);
  // no late event may send the token of a state that has moved on
  await deps.store.closeWatch(state.execution, verdict);
  if (verdict.status === 'completed') return { ...state, rollout: { outcome: 'completed', detail: `${verdict.detail} (confirmed at the deadline)` } };
  if (verdict.status === 'failed') {
    throw new RolloutFailed(verdict.code, verdict.reason, { service: verdict.service, ...(verdict.stop ? { stop: verdict.stop } : {}) });
  }
  throw new RolloutFailed('ROLLOUT_DEADLINE', `rollout still waiting on ${verdict.pending.join(', ')} at the deadline`);
}

function pickFinal(a: Observation | undefined, b: Observation | undefined): Observation | undefined {
  if (a && a.outcome !== 'in-progress') return a;
  return b ?? a;
}
