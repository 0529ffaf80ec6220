import { DeleteAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DeleteServiceCommand, type ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DeleteTargetGroupCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { deleteRulesForwardingTo, rackListeners } from '../aws/elb.js';
import type { Rack } from '../rack.js';

/**
 * Removes one service and what routes to it: scaled to 0 and deleted, its host rules and target
 * group, the alarms named. Retire does this for a service the manifest dropped; Rollback for one the
 * failed deploy created. The caller has checked every piece is this app's.
 */
export async function removeService(
  deps: { ecs: ECSClient; elb: ElasticLoadBalancingV2Client; cloudwatch: CloudWatchClient; rack: Rack },
  what: { serviceName: string; exists: boolean; targetGroupArn?: string; alarmNames: string[] },
): Promise<void> {
  if (what.exists) {
    await deps.ecs.send(new UpdateServiceCommand({ cluster: deps.rack.cluster, service: what.serviceName, desiredCount: 0 }));
    await deps.ecs.send(new DeleteServiceCommand({ cluster: deps.rack.cluster, service: what.serviceName, force: true }));
  }
  if (what.targetGroupArn) {
    // a target group referenced by a rule cannot be deleted: the rules go first
    await deleteRulesForwardingTo(deps.elb, rackListeners(deps.rack), what.targetGroupArn);
    await deps.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: what.targetGroupArn }));
  }
  if (what.alarmNames.length > 0) await deps.cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: what.alarmNames }));
}
