import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECSClient, Service } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { applyService, assertServicesOwned, clientToken, describeServices, primaryDeploymentId, serviceName } from '../aws/ecs.js';
import { serviceAlarmNames } from '../aws/alarms.js';
import { deleteRulesForwardingTo, ensureHostRules, ensureTargetGroup, ownedTargetGroup, rackListeners, targetGroupName } from '../aws/elb.js';
import { alarmsBefore, hostRulesTo, targetGroupBefore } from '../aws/undo.js';
import { ownerTags } from '../names.js';
import type { Store } from '../aws/store.js';
import { isTransient, PromoteFailed } from '../errors.js';
import type { Rack } from '../rack.js';
import type { DeployState, PromotedService } from './state.js';
import { serviceAction, serviceBefore, type UndoRecord } from './undo.js';

export interface PromoteDeps {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  store: Store;
  rack: Rack;
  /** reads the service's alarms before Promote changes them (for Rollback) */
  cloudwatch?: CloudWatchClient;
  now?: () => number;
  /** per-service extras at promote time (CloudWatch alarms) */
  afterService?: (service: PromotedService, state: DeployState) => Promise<void>;
}

/**
 * Promote: per service, target group and host rules first (ECS refuses a target group without a
 * listener), then create the service or roll it to the release's task definition.
 */
export async function promote(state: DeployState, deps: PromoteDeps): Promise<DeployState> {
  const manifest = state.manifest!;
  const release = state.release!;
  await deps.store.setReleaseStatus(state.app, release.id, 'promoting');
  const names = manifest.services.map((s) => serviceName(deps.rack.name, state.app, s.name));
  // reads first: a service or target group at one of these names that another app owns stops the
  // promote before any change
  const existing = await describeServices(deps.ecs, deps.rack.cluster, names);
  assertServicesOwned(existing, deps.rack.name, state.app);
  const targetGroups: Record<string, string | undefined> = {};
  for (const spec of manifest.services) {
    // with or without a port now: a service that drops its port loses the target group's rules
    targetGroups[spec.name] = await ownedTargetGroup(deps.elb, targetGroupName(deps.rack.name, state.app, spec.name), deps.rack.name, state.app);
  }
  const listeners = rackListeners(deps.rack);
  const promoted: PromotedService[] = [];
  for (const spec of manifest.services) {
    const name = serviceName(deps.rack.name, state.app, spec.name);
    const tags = ownerTags(deps.rack.name, state.app, spec.name);
    const serviceTags = { ...tags, 'rackless:release': release.id };
    let targetGroupArn: string | undefined;
    try {
      // what this service is before any change of ours: the first record wins, so a retry keeps it
      const undo = await deps.store.recordUndo(await recordBefore(deps, state, spec.name, existing[name], targetGroups[spec.name]));
      if (!spec.port && targetGroups[spec.name]) {
        // no port any more: no host routes to it (the empty target group goes when the service does)
        await deleteRulesForwardingTo(deps.elb, listeners, targetGroups[spec.name]!);
      }
      if (spec.port) {
        const existingArn = targetGroups[spec.name];
        targetGroupArn = await ensureTargetGroup(deps.elb, {
          name: targetGroupName(deps.rack.name, state.app, spec.name),
          ...(existingArn ? { existingArn } : {}),
          vpcId: deps.rack.vpcId,
          health: spec.health,
          deregistrationDelay: spec.deregistrationDelay,
          tags,
        });
        for (const listenerArn of listeners) {
          await ensureHostRules(deps.elb, { listenerArn, targetGroupArn, domains: spec.domains, tags });
        }
      }
      const taskDefinitionArn = release.taskDefinitions[spec.name]!;
      const { service, created } = await applyService(
        deps.ecs,
        {
          cluster: deps.rack.cluster,
          name,
          spec,
          taskDefinitionArn,
          ...(targetGroupArn ? { targetGroupArn } : {}),
          tags: serviceTags,
          clientToken: clientToken(release.id, spec.name),
        },
        existing[name],
        serviceAction(undo.ecs, existing[name], taskDefinitionArn),
      );
      const entry: PromotedService = {
        service: spec.name,
        serviceName: name,
        serviceArn: service.serviceArn ?? name,
        created,
        deploymentId: primaryDeploymentId(service),
        taskDefinitionArn,
        desiredCount: spec.scale.count,
        endpoints: spec.port ? spec.domains.map((d) => `http://${d}`) : [],
        ...(targetGroupArn ? { targetGroupArn } : {}),
      };
      promoted.push(entry);
      await deps.afterService?.(entry, state);
    } catch (error) {
      // throttling and 5xx stay retryable (the handler turns them into TransientError)
      if (error instanceof PromoteFailed || isTransient(error)) throw error;
      const e = error as Error;
      throw new PromoteFailed('PROMOTE_FAILED', `service ${spec.name}: ${e.name}: ${e.message}`, { service: spec.name }, { cause: error });
    }
  }
  return { ...state, promoted };
}

/** Read-only: the service, its target group, its host rules and its alarms as they are now. */
async function recordBefore(deps: PromoteDeps, state: DeployState, service: string, current: Service | undefined, targetGroupArn: string | undefined): Promise<UndoRecord> {
  return {
    app: state.app,
    release: state.release!.id,
    service,
    serviceName: serviceName(deps.rack.name, state.app, service),
    ...(current ? { ecs: serviceBefore(current) } : {}),
    ...(targetGroupArn ? { targetGroup: await targetGroupBefore(deps.elb, targetGroupArn) } : {}),
    rules: targetGroupArn
      ? (await hostRulesTo(deps.elb, rackListeners(deps.rack), targetGroupArn)).map(({ listenerArn, host, priority }) => ({ listenerArn, host, priority }))
      : [],
    alarms: deps.cloudwatch ? await alarmsBefore(deps.cloudwatch, serviceAlarmNames(deps.rack.name, state.app, service)) : [],
    recordedAt: new Date(deps.now?.() ?? Date.now()).toISOString(),
  };
}
