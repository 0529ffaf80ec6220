import type { CloudWatchClient, MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { ECSClient, Service } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import pLimit from 'p-limit';
import { describeAlarms, serviceAlarmNames, syncServiceAlarms } from '../aws/alarms.js';
import { applyService, assertServicesOwned, clientToken, describeServices, primaryDeploymentId, serviceName } from '../aws/ecs.js';
import { ensureTargetGroup, ListenerRules, ownedTargetGroupNow, rackListeners, type TargetGroupNow, targetGroupName } from '../aws/elb.js';
import type { Store } from '../aws/store.js';
import { alarmBefore, hostRulesIn, targetGroupBefore } from '../aws/undo.js';
import { isTransient, PromoteFailed } from '../errors.js';
import type { ServiceSpec } from '../manifest/types.js';
import { ownerTags } from '../names.js';
import type { Rack } from '../rack.js';
import type { DeployState, PromotedService } from './state.js';
import { serviceAction, serviceBefore, type UndoRecord } from './undo.js';

/**
 * How many services Promote changes at once. The control planes throttle per account and Region
 * with token buckets, shared by every deploy of the rack and every other tool of the account:
 * Elastic Load Balancing's non-mutating actions (Describe*) have a bucket of 40 tokens refilled at
 * 10 a second ("Request throttling for the ELB API",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html), and
 * Amazon ECS's cluster reads a bucket of 50 ("Request throttling for the Amazon ECS API",
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html, whose
 * per-action table also holds the service writes). A service costs Promote up to three ELB
 * Describe calls (its target group, tags and attributes; the listeners' rules are read once per
 * Promote) and one ECS write: five at once keep one Promote at ≤ 15 ELB reads in a burst, well
 * inside the ELB bucket with room for two more concurrent deploys; the SDK's retries absorb a
 * throttle past that.
 */
export const PROMOTE_CONCURRENCY = 5;

export interface PromoteDeps {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  store: Store;
  rack: Rack;
  /** the service's CloudWatch alarms: read before Promote changes them (for Rollback), then brought to the manifest */
  cloudwatch?: CloudWatchClient;
  /** where the alarms notify (with `cloudwatch`) */
  alarmTopicArn?: string;
  now?: () => number;
  /** services promoted at once (default PROMOTE_CONCURRENCY) */
  concurrency?: number;
}

/** What Promote read before any change: the services, target groups, listener rules and alarms as they are. */
interface Found {
  services: Record<string, Service | undefined>;
  targetGroups: Record<string, TargetGroupNow | undefined>;
  rules: ListenerRules;
  alarms: MetricAlarm[];
}

/**
 * Promote: every service at once, up to `concurrency`; per service, in order: its undo record, its
 * target group and host rules (ECS refuses a target group without a listener), then the service
 * created or rolled to the release's task definition, then its alarms. Target group settings, rules
 * and alarms are written only where they differ from what is there.
 */
export async function promote(state: DeployState, deps: PromoteDeps): Promise<DeployState> {
  const manifest = state.manifest!;
  await deps.store.setReleaseStatus(state.app, state.release!.id, 'promoting');
  const limit = pLimit(deps.concurrency ?? PROMOTE_CONCURRENCY);
  const found = await readBefore(state, deps, limit);
  // a failed service stops the ones not yet started, as a serial loop would; those started finish
  let failure: { error: unknown } | undefined;
  const results = await Promise.allSettled(
    manifest.services.map((spec) =>
      limit(async () => {
        if (failure) return undefined;
        try {
          return await promoteService(spec, state, deps, found);
        } catch (error) {
          failure ??= { error };
          throw error;
        }
      }),
    ),
  );
  if (failure) throw failure.error;
  const promoted = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined)).filter((p): p is PromotedService => !!p);
  return { ...state, promoted };
}

/** Reads only: a service, target group or alarm that another app owns stops the promote before any change. */
async function readBefore(state: DeployState, deps: PromoteDeps, limit: ReturnType<typeof pLimit>): Promise<Found> {
  const specs = state.manifest!.services;
  const services = await describeServices(
    deps.ecs,
    deps.rack.cluster,
    specs.map((s) => serviceName(deps.rack.name, state.app, s.name)),
  );
  assertServicesOwned(services, deps.rack.name, state.app);
  // with or without a port now: a service that drops its port loses the target group's rules
  const groups = await Promise.all(specs.map((s) => limit(() => ownedTargetGroupNow(deps.elb, targetGroupName(deps.rack.name, state.app, s.name), deps.rack.name, state.app))));
  const rules = await ListenerRules.read(deps.elb, rackListeners(deps.rack));
  const alarms = deps.cloudwatch
    ? await describeAlarms(
        deps.cloudwatch,
        specs.flatMap((s) => serviceAlarmNames(deps.rack.name, state.app, s.name)),
      )
    : [];
  return { services, targetGroups: Object.fromEntries(specs.map((s, i) => [s.name, groups[i]])), rules, alarms };
}

async function promoteService(spec: ServiceSpec, state: DeployState, deps: PromoteDeps, found: Found): Promise<PromotedService> {
  const release = state.release!;
  const name = serviceName(deps.rack.name, state.app, spec.name);
  const tags = ownerTags(deps.rack.name, state.app, spec.name);
  const existing = found.services[name];
  const group = found.targetGroups[spec.name];
  const alarmNames = new Set(serviceAlarmNames(deps.rack.name, state.app, spec.name));
  const alarms = found.alarms.filter((a) => alarmNames.has(a.AlarmName!));
  try {
    // what this service is before any change of ours: the first record wins, so a retry keeps it
    const undo = await deps.store.recordUndo(recordBefore(deps, state, spec.name, existing, group, found.rules, alarms));
    let targetGroupArn: string | undefined;
    if (!spec.port && group) {
      // no port any more: no host routes to it (the empty target group goes when the service does)
      await found.rules.deleteForwardingTo(group.arn);
    }
    if (spec.port) {
      targetGroupArn = await ensureTargetGroup(deps.elb, {
        name: targetGroupName(deps.rack.name, state.app, spec.name),
        ...(group ? { existing: group } : {}),
        vpcId: deps.rack.vpcId,
        health: spec.health,
        deregistrationDelay: spec.deregistrationDelay,
        tags,
      });
      for (const listenerArn of found.rules.listeners) {
        await found.rules.ensureHostRules({ listenerArn, targetGroupArn, domains: spec.domains, tags });
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
        tags: { ...tags, 'rackless:release': release.id },
        clientToken: clientToken(release.id, spec.name),
      },
      existing,
      serviceAction(undo.ecs, existing, taskDefinitionArn),
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
    if (deps.cloudwatch && deps.alarmTopicArn) {
      await syncServiceAlarms(deps.cloudwatch, { rack: deps.rack, app: state.app, service: entry, manifest: state.manifest!, alarmTopicArn: deps.alarmTopicArn }, alarms);
    }
    return entry;
  } catch (error) {
    // throttling and 5xx stay retryable (the handler turns them into TransientError)
    if (error instanceof PromoteFailed || isTransient(error)) throw error;
    const e = error as Error;
    throw new PromoteFailed('PROMOTE_FAILED', `service ${spec.name}: ${e.name}: ${e.message}`, { service: spec.name }, { cause: error });
  }
}

/** Pure: the service, its target group, its host rules and its alarms as Promote read them, before any change. */
function recordBefore(
  deps: PromoteDeps,
  state: DeployState,
  service: string,
  current: Service | undefined,
  group: TargetGroupNow | undefined,
  rules: ListenerRules,
  alarms: MetricAlarm[],
): UndoRecord {
  return {
    app: state.app,
    release: state.release!.id,
    service,
    serviceName: serviceName(deps.rack.name, state.app, service),
    ...(current ? { ecs: serviceBefore(current) } : {}),
    ...(group ? { targetGroup: targetGroupBefore(group) } : {}),
    rules: group ? hostRulesIn(rules, group.arn) : [],
    alarms: alarms.map(alarmBefore),
    recordedAt: new Date(deps.now?.() ?? Date.now()).toISOString(),
  };
}
