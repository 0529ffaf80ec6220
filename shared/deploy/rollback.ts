import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { type ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { serviceAlarmNames } from '../aws/alarms.js';
import { CIRCUIT_BREAKER, describeServices } from '../aws/ecs.js';
import { findTargetGroup, rackListeners, targetGroupName } from '../aws/elb.js';
import { tagMap } from '../aws/owner.js';
import type { Store } from '../aws/store.js';
import { activeTaskDefinition, alarmsBefore, hostRulesTo, restoreAlarms, restoreHostRules, restoreTargetGroup } from '../aws/undo.js';
import { parseFailure } from '../errors.js';
import { foreignOwner, ownerTags } from '../names.js';
import type { Rack } from '../rack.js';
import { removeService } from './remove.js';
import type { DeployState, RolledBackService } from './state.js';
import { rulesToRestore, serviceDiffers, type UndoRecord } from './undo.js';

export interface RollbackDeps {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  cloudwatch: CloudWatchClient;
  store: Store;
  rack: Rack;
}

/**
 * Rollback: the recorded inverse of Promote. For each service Promote recorded (shared/deploy/undo.ts)
 * it restores what was there — task definition (registered again if it was deregistered), desired
 * count, load balancer mapping, deployment settings, the target group's health check and
 * deregistration delay, the host rules Promote added or removed, the alarms — and removes what
 * Promote created (a service, target group, rules and alarms that did not exist). Each service on its
 * own: a failure is reported and the others still go back. The release is marked failed; the
 * previous one stays current.
 */
export async function rollback(state: DeployState, deps: RollbackDeps): Promise<DeployState> {
  const records = state.release ? await deps.store.listUndo(state.app, state.release.id) : [];
  const touched = new Set(records.map((r) => r.service));
  const untouched: RolledBackService[] = (state.manifest?.services ?? []).filter((s) => !touched.has(s.name)).map((s) => ({ service: s.name, action: 'untouched' }));
  const current = await describeServices(
    deps.ecs,
    deps.rack.cluster,
    records.map((r) => r.serviceName),
  );
  const results: RolledBackService[] = [];
  for (const record of records) {
    try {
      results.push(await restore(record, current[record.serviceName], state, deps));
    } catch (error) {
      const e = error as Error;
      results.push({ service: record.service, action: 'failed', error: `${e.name}: ${e.message}`.slice(0, 500) });
    }
  }
  if (state.release) {
    const failure = parseFailure(state.failure);
    await deps.store.setReleaseStatus(state.app, state.release.id, 'failed', `${failure.code}: ${failure.message}`.slice(0, 2000));
  }
  return { ...state, rollback: { services: [...results, ...untouched].sort((a, b) => (a.service < b.service ? -1 : 1)) } };
}

async function restore(record: UndoRecord, service: Awaited<ReturnType<typeof describeServices>>[string], state: DeployState, deps: RollbackDeps): Promise<RolledBackService> {
  // a service at our name that another app owns was never changed by this deploy (Promote refuses it)
  if (service && foreignOwner(tagMap(service.tags), deps.rack.name, state.app) !== undefined) return { service: record.service, action: 'untouched' };
  const listeners = rackListeners(deps.rack);
  const alarmNames = serviceAlarmNames(deps.rack.name, state.app, record.service);
  const group = await findTargetGroup(deps.elb, targetGroupName(deps.rack.name, state.app, record.service));
  const groupIsOurs = group && foreignOwner(group.tags, deps.rack.name, state.app) === undefined;

  if (!record.ecs) {
    // Promote created it: nothing of it stays (its hosts are let go by Notify, which settles claims)
    await removeService(deps, {
      serviceName: record.serviceName,
      exists: !!service,
      ...(groupIsOurs && !record.targetGroup ? { targetGroupArn: group.arn } : {}),
      alarmNames: alarmNames.filter((n) => !record.alarms.some((a) => a.AlarmName === n)),
    });
    return { service: record.service, action: 'removed' };
  }

  const before = record.ecs;
  let taskDefinition = before.taskDefinition;
  let reregistered = false;
  if (service && serviceDiffers(before, service)) {
    const active = await activeTaskDefinition(deps.ecs, before.taskDefinition);
    taskDefinition = active.arn;
    reregistered = active.reregistered;
    if (reregistered) await pointReleaseAt(deps.store, state, record.service, before.taskDefinition, active.arn);
    await deps.ecs.send(
      new UpdateServiceCommand({
        cluster: deps.rack.cluster,
        service: record.serviceName,
        taskDefinition,
        desiredCount: before.desiredCount,
        // every mapping as it was, an empty list for a service that had none
        loadBalancers: before.loadBalancers,
        ...(before.loadBalancers.length > 0 && before.healthCheckGracePeriodSeconds !== undefined ? { healthCheckGracePeriodSeconds: before.healthCheckGracePeriodSeconds } : {}),
        deploymentConfiguration: {
          ...(before.minimumHealthyPercent !== undefined ? { minimumHealthyPercent: before.minimumHealthyPercent } : {}),
          ...(before.maximumPercent !== undefined ? { maximumPercent: before.maximumPercent } : {}),
          deploymentCircuitBreaker: { ...CIRCUIT_BREAKER },
        },
        // one call, one deployment back (sent only when the service differs from the record)
        forceNewDeployment: true,
      }),
    );
  }

  const tags = ownerTags(deps.rack.name, state.app, record.service);
  if (record.targetGroup) {
    await restoreTargetGroup(deps.elb, record.targetGroup);
    const now = await hostRulesTo(deps.elb, listeners, record.targetGroup.arn);
    await restoreHostRules(deps.elb, rulesToRestore(record.rules, now), record.targetGroup.arn, tags);
  } else if (groupIsOurs) {
    // the service had no target group: the one Promote created goes, with its rules
    await removeService(deps, { serviceName: record.serviceName, exists: false, targetGroupArn: group.arn, alarmNames: [] });
  }
  await restoreAlarms(
    deps.cloudwatch,
    (await alarmsBefore(deps.cloudwatch, alarmNames)).map((a) => a.AlarmName),
    record.alarms,
  );
  return { service: record.service, action: 'restored', taskDefinitionArn: taskDefinition, ...(reregistered ? { reregistered: true } : {}) };
}

/** The previous release's record names the task definition registered again, so a later redeploy of it works. */
async function pointReleaseAt(store: Store, state: DeployState, service: string, from: string, to: string): Promise<void> {
  if (!state.previous) return;
  const previous = await store.getRelease(state.app, state.previous.id);
  if (!previous || previous.taskDefinitions[service] !== from) return;
  await store.putRelease({ ...previous, taskDefinitions: { ...previous.taskDefinitions, [service]: to } });
}
