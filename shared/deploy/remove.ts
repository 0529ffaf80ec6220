import { DeleteAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DeleteServiceCommand, type ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DeleteTargetGroupCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { deleteRulesForwardingTo, rackListeners } from '../aws/elb.js';
import { unlessGone } from '../aws/teardown.js';
import type { Rack } from '../rack.js';

export interface RemovedService {
  service: boolean;
  rules: number;
  targetGroup: boolean;
  alarms: number;
}

/**
 * Removes one service and what routes to it: scaled to 0 and deleted, its host rules and target
 * group, the alarms named. Retire does this for a service the manifest dropped; Rollback for one the
 * failed deploy created; `rackless apps delete` for every service of the app. The caller has checked
 * every piece is this app's. What is already gone counts as done, so a removal can run again.
 */
export async function removeService(
  deps: { ecs: ECSClient; elb: ElasticLoadBalancingV2Client; cloudwatch: CloudWatchClient; rack: Pick<Rack, 'cluster' | 'listenerArn' | 'httpsListenerArn'> },
  what: { serviceName: string; exists: boolean; targetGroupArn?: string; alarmNames: string[] },
): Promise<RemovedService> {
  const removed: RemovedService = { service: false, rules: 0, targetGroup: false, alarms: 0 };
  // a service being deleted is DRAINING: UpdateService then answers ServiceNotActiveException
  const serviceGone = ['ServiceNotFoundException', 'ServiceNotActiveException'];
  if (what.exists) {
    await unlessGone(() => deps.ecs.send(new UpdateServiceCommand({ cluster: deps.rack.cluster, service: what.serviceName, desiredCount: 0 })), ...serviceGone);
    removed.service = await unlessGone(() => deps.ecs.send(new DeleteServiceCommand({ cluster: deps.rack.cluster, service: what.serviceName, force: true })), ...serviceGone);
  }
  if (what.targetGroupArn) {
    // a target group referenced by a rule cannot be deleted: the rules go first
    removed.rules = (await deleteRulesForwardingTo(deps.elb, rackListeners(deps.rack), what.targetGroupArn)).length;
    const arn = what.targetGroupArn;
    removed.targetGroup = await unlessGone(() => deps.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })), 'TargetGroupNotFoundException');
  }
  if (what.alarmNames.length > 0) {
    const names = what.alarmNames;
    if (await unlessGone(() => deps.cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: names })), 'ResourceNotFound')) removed.alarms = names.length;
  }
  return removed;
}
