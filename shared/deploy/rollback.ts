import { UpdateServiceCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { deleteRulesForwardingTo, ownedTargetGroup, rackListeners, targetGroupName } from '../aws/elb.js';
import { describeServices, serviceName } from '../aws/ecs.js';
import { tagMap } from '../aws/owner.js';
import { foreignOwner } from '../names.js';
import type { Store } from '../aws/store.js';
import { parseFailure } from '../errors.js';
import type { Rack } from '../rack.js';
import type { DeployState } from './state.js';

export interface RollbackDeps {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  store: Store;
  rack: Rack;
}

export type RollbackAction = { service: string; action: 'restored' | 'scaled-to-zero' | 'untouched'; taskDefinitionArn?: string; desiredCount?: number };

/** Pure: what each service of the failed release goes back to. */
export function rollbackPlan(
  services: string[],
  exists: (service: string) => boolean,
  previous: { taskDefinitions: Record<string, string>; counts: Record<string, number> } | undefined,
): RollbackAction[] {
  return services.map((service) => {
    if (!exists(service)) return { service, action: 'untouched' };
    const taskDefinitionArn = previous?.taskDefinitions[service];
    if (taskDefinitionArn) return { service, action: 'restored', taskDefinitionArn, desiredCount: previous.counts[service] ?? 1 };
    return { service, action: 'scaled-to-zero', desiredCount: 0 };
  });
}

/**
 * Rollback: every service of the failed release goes back to the previous release's task
 * definition (brand-new services scale to 0); the release is marked failed, the previous stays current.
 */
export async function rollback(state: DeployState, deps: RollbackDeps): Promise<DeployState> {
  const services = state.manifest?.services.map((s) => s.name) ?? [];
  const names = Object.fromEntries(services.map((s) => [s, serviceName(deps.rack.name, state.app, s)]));
  const existing = await describeServices(deps.ecs, deps.rack.cluster, Object.values(names));
  const previousRecord = state.previous ? await deps.store.getRelease(state.app, state.previous.id) : undefined;
  const previous = previousRecord && {
    taskDefinitions: previousRecord.taskDefinitions,
    counts: Object.fromEntries(previousRecord.manifest.services.map((s) => [s.name, s.scale.count])),
  };
  // a service another app owns was never promoted by this deploy (Promote refuses it): leave it be
  const ours = (s: string) => {
    const found = existing[names[s]!];
    return !!found && foreignOwner(tagMap(found.tags), deps.rack.name, state.app) === undefined;
  };
  const plan = rollbackPlan(services, ours, previous);
  for (const step of plan) {
    if (step.action === 'untouched') continue;
    await deps.ecs.send(
      new UpdateServiceCommand({
        cluster: deps.rack.cluster,
        service: names[step.service],
        desiredCount: step.desiredCount,
        ...(step.taskDefinitionArn ? { taskDefinition: step.taskDefinitionArn } : {}),
        forceNewDeployment: step.action === 'restored',
      }),
    );
    // a service this deploy created routes nothing any more: its host rules go, so its hosts are
    // free for another app once Notify lets go of the claim
    if (step.action === 'scaled-to-zero') {
      const targetGroupArn = await ownedTargetGroup(deps.elb, targetGroupName(deps.rack.name, state.app, step.service), deps.rack.name, state.app);
      if (targetGroupArn) await deleteRulesForwardingTo(deps.elb, rackListeners(deps.rack), targetGroupArn);
    }
  }
  if (state.release) {
    const failure = parseFailure(state.failure);
    await deps.store.setReleaseStatus(state.app, state.release.id, 'failed', `${failure.code}: ${failure.message}`.slice(0, 2000));
  }
  return { ...state, rollback: { services: plan.map(({ service, action, taskDefinitionArn }) => ({ service, action, ...(taskDefinitionArn ? { taskDefinitionArn } : {}) })) } };
}
