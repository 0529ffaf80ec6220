import { createHash } from 'node:crypto';
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type ElasticLoadBalancingV2Client,
  paginateDescribeRules,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { hostTagValue } from '../domains.js';
import type { HealthCheck } from '../manifest/types.js';
import { serviceNames } from '../names.js';
import { assertOwned, tagMap } from './owner.js';

/** ≤ 32 chars, deterministic per rack/app/service so CreateTargetGroup stays idempotent (shared/names.ts). */
export function targetGroupName(rack: string, app: string, service: string): string {
  return serviceNames({ name: rack }, app, service).targetGroup;
}

export function targetGroupNameFromArn(arn: string): string | undefined {
  return /:targetgroup\/([^/]+)\//.exec(arn)?.[1];
}

export async function listRules(elb: ElasticLoadBalancingV2Client, listenerArn: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  for await (const page of paginateDescribeRules({ client: elb }, { ListenerArn: listenerArn })) rules.push(...(page.Rules ?? []));
  return rules;
}

export function ruleHosts(rule: Rule): string[] {
  return (rule.Conditions ?? []).filter((c) => c.Field === 'host-header').flatMap((c) => c.HostHeaderConfig?.Values ?? c.Values ?? []);
}

export function ruleTargetGroups(rule: Rule): string[] {
  return (rule.Actions ?? []).flatMap((a) => [a.TargetGroupArn, ...(a.ForwardConfig?.TargetGroups ?? []).map((t) => t.TargetGroupArn)]).filter((x): x is string => !!x);
}

/** Domains already routed to a target group other than the one this service owns. */
export function domainConflicts(rules: Rule[], domains: string[], ownTargetGroup: string): Array<{ domain: string; targetGroup: string }> {
  const conflicts: Array<{ domain: string; targetGroup: string }> = [];
  for (const rule of rules) {
    if (rule.IsDefault) continue;
    for (const host of ruleHosts(rule)) {
      if (!domains.includes(host)) continue;
      for (const tg of ruleTargetGroups(rule)) {
        const name = targetGroupNameFromArn(tg) ?? tg;
        if (name !== ownTargetGroup) conflicts.push({ domain: host, targetGroup: name });
      }
    }
  }
  return conflicts;
}

/** The target group of this name with its tags, or undefined. */
export async function findTargetGroup(elb: ElasticLoadBalancingV2Client, name: string): Promise<{ arn: string; tags: Record<string, string> } | undefined> {
  let arn: string | undefined;
  try {
    const found = await elb.send(new DescribeTargetGroupsCommand({ Names: [name] }));
    arn = found.TargetGroups?.[0]?.TargetGroupArn;
  } catch (error) {
    if ((error as Error).name === 'TargetGroupNotFoundException') return undefined;
    throw error;
  }
  if (!arn) return undefined;
  const described = await elb.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
  return { arn, tags: tagMap(described.TagDescriptions?.[0]?.Tags) };
}

/** The target group of this name when it is this app's (or untagged), undefined when there is none; NotOwned otherwise. */
export async function ownedTargetGroup(elb: ElasticLoadBalancingV2Client, name: string, rack: string, app: string): Promise<string | undefined> {
  const found = await findTargetGroup(elb, name);
  if (found) assertOwned('target group', name, found.tags, rack, app);
  return found?.arn;
}

/** Creates the target group, or brings an existing one (`existingArn`, already checked to be this app's) to these settings. */
export async function ensureTargetGroup(
  elb: ElasticLoadBalancingV2Client,
  args: { name: string; existingArn?: string; vpcId: string; health: HealthCheck; deregistrationDelay: number; tags: Record<string, string> },
): Promise<string> {
  const healthSettings = {
    HealthCheckProtocol: 'HTTP' as const,
    HealthCheckPath: args.health.path,
    HealthCheckIntervalSeconds: args.health.interval,
    HealthCheckTimeoutSeconds: args.health.timeout,
    HealthyThresholdCount: args.health.healthy,
    UnhealthyThresholdCount: args.health.unhealthy,
    Matcher: { HttpCode: args.health.codes },
  };
  let arn = args.existingArn;
  if (arn) {
    await elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: arn, ...healthSettings }));
  } else {
    const created = await elb.send(
      new CreateTargetGroupCommand({
        Name: args.name,
        Protocol: 'HTTP',
        // instances register on ECS's dynamic host ports; this port is only a default
        Port: 80,
        VpcId: args.vpcId,
        TargetType: 'instance',
        ...healthSettings,
        Tags: Object.entries(args.tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    arn = created.TargetGroups?.[0]?.TargetGroupArn;
    if (!arn) throw new Error(`CreateTargetGroup ${args.name} returned no ARN`);
  }
  await elb.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: arn,
      Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(args.deregistrationDelay) }],
    }),
  );
  return arn;
}

/** Deletes every rule of these listeners that forwards to the target group; the rules deleted. */
export async function deleteRulesForwardingTo(elb: ElasticLoadBalancingV2Client, listenerArns: string[], targetGroupArn: string): Promise<string[]> {
  const deleted: string[] = [];
  for (const listenerArn of listenerArns) {
    for (const rule of await listRules(elb, listenerArn)) {
      if (rule.IsDefault || !ruleTargetGroups(rule).includes(targetGroupArn)) continue;
      await elb.send(new DeleteRuleCommand({ RuleArn: rule.RuleArn }));
      deleted.push(rule.RuleArn!);
    }
  }
  return deleted;
}

/** The rack's listeners: HTTP, and HTTPS when it has a certificate. */
export function rackListeners(rack: { listenerArn: string; httpsListenerArn?: string }): string[] {
  return [rack.listenerArn, rack.httpsListenerArn].filter((arn): arn is string => !!arn);
}

/** ALB listener rule priorities run 1–50000; wildcard hosts sort after exact ones. */
const EXACT_PRIORITIES = [1, 39_999] as const;
const WILDCARD_PRIORITIES = [40_000, 50_000] as const;

/**
 * Pure: a free priority for a host, spread by a hash of the host so that racks deploying many apps
 * at once rarely reach for the same number (max+1 makes every concurrent promote collide).
 */
export function pickPriority(host: string, taken: Set<number>, attempt = 0): number {
  const [low, high] = host.startsWith('*.') ? WILDCARD_PRIORITIES : EXACT_PRIORITIES;
  const span = high - low + 1;
  const start = Number.parseInt(createHash('sha256').update(`${host}#${attempt}`).digest('hex').slice(0, 8), 16) % span;
  for (let i = 0; i < span; i++) {
    const priority = low + ((start + i) % span);
    if (!taken.has(priority)) return priority;
  }
  throw new Error(`no free listener rule priority between ${low} and ${high}`);
}

/** One host-header rule forwarding to the target group, tagged with its owner and its host; its ARN. */
export async function createHostRule(
  elb: ElasticLoadBalancingV2Client,
  rule: { listenerArn: string; priority: number; host: string; targetGroupArn: string; tags: Record<string, string> },
): Promise<string> {
  const created = await elb.send(
    new CreateRuleCommand({
      ListenerArn: rule.listenerArn,
      Priority: rule.priority,
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [rule.host] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: rule.targetGroupArn }],
      Tags: Object.entries({ ...rule.tags, domain: hostTagValue(rule.host) }).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  return created.Rules?.[0]?.RuleArn ?? '';
}

/**
 * One host-header rule per domain forwarding to the service's target group; rules of this target group
 * for domains no longer in the manifest are removed. A priority taken by a concurrent promote is retried.
 */
export async function ensureHostRules(
  elb: ElasticLoadBalancingV2Client,
  args: { listenerArn: string; targetGroupArn: string; domains: string[]; tags: Record<string, string> },
): Promise<string[]> {
  for (let attempt = 0; ; attempt++) {
    const ruleArns: string[] = [];
    const rules = await listRules(elb, args.listenerArn);
    const ours = rules.filter((r) => !r.IsDefault && ruleTargetGroups(r).includes(args.targetGroupArn));
    const missing = args.domains.filter((d) => !ours.some((r) => ruleHosts(r).includes(d)));
    const taken = new Set(rules.map((r) => Number(r.Priority)).filter(Number.isFinite));
    try {
      for (const domain of missing) {
        const priority = pickPriority(domain, taken, attempt);
        taken.add(priority);
        ruleArns.push(await createHostRule(elb, { listenerArn: args.listenerArn, priority, host: domain, targetGroupArn: args.targetGroupArn, tags: args.tags }));
      }
      for (const rule of ours) {
        if (ruleHosts(rule).some((h) => !args.domains.includes(h))) await elb.send(new DeleteRuleCommand({ RuleArn: rule.RuleArn }));
        else ruleArns.push(rule.RuleArn ?? '');
      }
      return ruleArns.filter(Boolean);
    } catch (error) {
      if ((error as Error).name !== 'PriorityInUseException' || attempt >= 9) throw error;
    }
  }
}
