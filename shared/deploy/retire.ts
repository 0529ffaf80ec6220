import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { assertAlarmsOwned, serviceAlarmNames } from '../aws/alarms.js';
import { assertServicesOwned, describeServices, serviceName } from '../aws/ecs.js';
import { ownedTargetGroup, targetGroupName } from '../aws/elb.js';
import type { Store } from '../aws/store.js';
import type { Manifest } from '../manifest/types.js';
import type { Rack } from '../rack.js';
import { removeService } from './remove.js';
import type { DeployState } from './state.js';

export interface RetireDeps {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  cloudwatch: CloudWatchClient;
  store: Store;
  rack: Rack;
}

/** Pure: services the previous release ran that the new manifest no longer names. */
export function retiredServices(previous: Manifest | undefined, current: Manifest): string[] {
  const kept = new Set(current.services.map((s) => s.name));
  return (previous?.services ?? []).map((s) => s.name).filter((name) => !kept.has(name));
}

/**
 * Retire: after the new release is serving, the services its manifest dropped go — scaled to 0 and
 * deleted, with their host rules, target group and alarms — as Convox does. Only after success: a
 * rolled-back deploy still has them running.
 */
export async function retire(state: DeployState, deps: RetireDeps): Promise<DeployState> {
  const previous = state.previous ? await deps.store.getRelease(state.app, state.previous.id) : undefined;
  const retired = retiredServices(previous?.manifest, state.manifest!);
  if (retired.length === 0) return state;
  const names = Object.fromEntries(retired.map((s) => [s, serviceName(deps.rack.name, state.app, s)]));
  // reads first: nothing is deleted when any of it turns out to be another app's
  const running = await describeServices(deps.ecs, deps.rack.cluster, Object.values(names));
  assertServicesOwned(running, deps.rack.name, state.app);
  const targetGroups: Record<string, string | undefined> = {};
  for (const service of retired) {
    targetGroups[service] = await ownedTargetGroup(deps.elb, targetGroupName(deps.rack.name, state.app, service), deps.rack.name, state.app);
  }
  const alarms = retired.flatMap((service) => serviceAlarmNames(deps.rack.name, state.app, service));
  await assertAlarmsOwned(deps.cloudwatch, alarms, deps.rack.name, state.app);
  for (const service of retired) {
    const name = names[service]!;
    const targetGroupArn = targetGroups[service];
    await removeService(deps, {
      serviceName: name,
      exists: !!running[name],
      ...(targetGroupArn ? { targetGroupArn } : {}),
      alarmNames: serviceAlarmNames(deps.rack.name, state.app, service),
    });
  }
  return { ...state, retired };
}
