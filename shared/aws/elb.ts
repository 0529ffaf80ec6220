import { createHash } from 'node:crypto';
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type ElasticLoadBalancingV2Client,
  type ModifyTargetGroupCommandInput,
  paginateDescribeRules,
  type Rule,
  type TargetGroup,
  type TargetGroupAttribute,
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

/** The target group of this name as DescribeTargetGroups has it, with its tags, or undefined. */
export async function findTargetGroup(elb: ElasticLoadBalancingV2Client, name: string): Promise<{ arn: string; tags: Record<string, string>; group: TargetGroup } | undefined> {
  let group: TargetGroup | undefined;
  try {
    const found = await elb.send(new DescribeTargetGroupsCommand({ Names: [name] }));
    group = found.TargetGroups?.[0];
  } catch (error) {
    if ((error as Error).name === 'TargetGroupNotFoundException') return undefined;
    throw error;
  }
  if (!group?.TargetGroupArn) return undefined;
  const described = await elb.send(new DescribeTagsCommand({ ResourceArns: [group.TargetGroupArn] }));
  return { arn: group.TargetGroupArn, tags: tagMap(described.TagDescriptions?.[0]?.Tags), group };
}

/** The target group of this name when it is this app's (or untagged), undefined when there is none; NotOwned otherwise. */
export async function ownedTargetGroup(elb: ElasticLoadBalancingV2Client, name: string, rack: string, app: string): Promise<string | undefined> {
  return (await ownedTargetGroupFound(elb, name, rack, app))?.arn;
}

async function ownedTargetGroupFound(elb: ElasticLoadBalancingV2Client, name: string, rack: string, app: string) {
  const found = await findTargetGroup(elb, name);
  if (found) assertOwned('target group', name, found.tags, rack, app);
  return found;
}

/** A target group as it is now: its health check (DescribeTargetGroups) and its attributes. */
export interface TargetGroupNow {
  arn: string;
  group: TargetGroup;
  attributes: TargetGroupAttribute[];
}

/** ownedTargetGroup, with what Promote compares and records: the health check and the attributes. */
export async function ownedTargetGroupNow(elb: ElasticLoadBalancingV2Client, name: string, rack: string, app: string): Promise<TargetGroupNow | undefined> {
  const found = await ownedTargetGroupFound(elb, name, rack, app);
  if (!found) return undefined;
  const attributes = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: found.arn }));
  return { arn: found.arn, group: found.group, attributes: attributes.Attributes ?? [] };
}

const DEREGISTRATION_DELAY = 'deregistration_delay.timeout_seconds';

/** Pure: the health check settings of a manifest's health section, in the target group API's fields. */
export function healthCheckSettings(health: HealthCheck) {
  return {
    HealthCheckProtocol: 'HTTP' as const,
    HealthCheckPath: health.path,
    HealthCheckIntervalSeconds: health.interval,
    HealthCheckTimeoutSeconds: health.timeout,
    HealthyThresholdCount: health.healthy,
    UnhealthyThresholdCount: health.unhealthy,
    Matcher: { HttpCode: health.codes },
  };
}

/** Pure: the health check fields that differ from what the target group has; undefined when none do. */
export function healthCheckChanges(group: TargetGroup, health: HealthCheck): Omit<ModifyTargetGroupCommandInput, 'TargetGroupArn'> | undefined {
  const wanted = healthCheckSettings(health);
  const changes: Omit<ModifyTargetGroupCommandInput, 'TargetGroupArn'> = {};
  if (group.HealthCheckProtocol !== wanted.HealthCheckProtocol) changes.HealthCheckProtocol = wanted.HealthCheckProtocol;
  if (group.HealthCheckPath !== wanted.HealthCheckPath) changes.HealthCheckPath = wanted.HealthCheckPath;
  if (group.HealthCheckIntervalSeconds !== wanted.HealthCheckIntervalSeconds) changes.HealthCheckIntervalSeconds = wanted.HealthCheckIntervalSeconds;
  if (group.HealthCheckTimeoutSeconds !== wanted.HealthCheckTimeoutSeconds) changes.HealthCheckTimeoutSeconds = wanted.HealthCheckTimeoutSeconds;
  if (group.HealthyThresholdCount !== wanted.HealthyThresholdCount) changes.HealthyThresholdCount = wanted.HealthyThresholdCount;
  if (group.UnhealthyThresholdCount !== wanted.UnhealthyThresholdCount) changes.UnhealthyThresholdCount = wanted.UnhealthyThresholdCount;
  if (group.Matcher?.HttpCode !== wanted.Matcher.HttpCode) changes.Matcher = wanted.Matcher;
  return Object.keys(changes).length ? changes : undefined;
}

/** Pure: the attributes to write so the target group has this deregistration delay; empty when it has. */
export function attributeChanges(attributes: TargetGroupAttribute[], deregistrationDelay: number): TargetGroupAttribute[] {
  const wanted = String(deregistrationDelay);
  return attributes.find((a) => a.Key === DEREGISTRATION_DELAY)?.Value === wanted ? [] : [{ Key: DEREGISTRATION_DELAY, Value: wanted }];
}

/**
 * Creates the target group, or brings an existing one (`existing`, already checked to be this app's)
 * to these settings, writing only what differs from what it has.
 */
export async function ensureTargetGroup(
  elb: ElasticLoadBalancingV2Client,
  args: { name: string; existing?: TargetGroupNow; vpcId: string; health: HealthCheck; deregistrationDelay: number; tags: Record<string, string> },
): Promise<string> {
  let arn = args.existing?.arn;
  if (args.existing) {
    const changes = healthCheckChanges(args.existing.group, args.health);
    if (changes) await elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: args.existing.arn, ...changes }));
  } else {
    const created = await elb.send(
      new CreateTargetGroupCommand({
        Name: args.name,
        Protocol: 'HTTP',
        // instances register on ECS's dynamic host ports; this port is only a default
        Port: 80,
        VpcId: args.vpcId,
        TargetType: 'instance',
        ...healthCheckSettings(args.health),
        Tags: Object.entries(args.tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    arn = created.TargetGroups?.[0]?.TargetGroupArn;
    if (!arn) throw new Error(`CreateTargetGroup ${args.name} returned no ARN`);
  }
  // a new target group's attributes are not read: the delay is written
  const attributes = attributeChanges(args.existing?.attributes ?? [], args.deregistrationDelay);
  if (attributes.length) await elb.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: attributes }));
  return arn!;
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
 * The rules of the rack's listeners as one Promote reads them, shared by its services: each listener
 * is listed once per Promote (not once per service), and the snapshot follows the Promote's own
 * changes. Priorities this Promote is about to take are reserved at once, so its services, running
 * concurrently, never reach for the same one; a priority another Promote took meanwhile
 * (PriorityInUse) re-lists that listener and tries again.
 */
export class ListenerRules {
  private readonly reserved = new Map<string, Set<number>>();

  private constructor(
    private readonly elb: ElasticLoadBalancingV2Client,
    private readonly rules: Map<string, Rule[]>,
  ) {}

  static async read(elb: ElasticLoadBalancingV2Client, listenerArns: string[]): Promise<ListenerRules> {
    const rules = new Map<string, Rule[]>();
    for (const listenerArn of listenerArns) rules.set(listenerArn, await listRules(elb, listenerArn));
    return new ListenerRules(elb, rules);
  }

  get listeners(): string[] {
    return [...this.rules.keys()];
  }

  /** The non-default rules forwarding to the target group, per listener, as the snapshot has them. */
  forwardingTo(targetGroupArn: string): Array<{ listenerArn: string; rule: Rule }> {
    return this.listeners.flatMap((listenerArn) =>
      (this.rules.get(listenerArn) ?? []).filter((r) => !r.IsDefault && ruleTargetGroups(r).includes(targetGroupArn)).map((rule) => ({ listenerArn, rule })),
    );
  }

  private async delete(listenerArn: string, rule: Rule): Promise<void> {
    await this.elb.send(new DeleteRuleCommand({ RuleArn: rule.RuleArn }));
    this.rules.set(
      listenerArn,
      (this.rules.get(listenerArn) ?? []).filter((r) => r.RuleArn !== rule.RuleArn),
    );
  }

  /** Deletes every rule that forwards to the target group; the rules deleted. */
  async deleteForwardingTo(targetGroupArn: string): Promise<string[]> {
    const found = this.forwardingTo(targetGroupArn);
    for (const { listenerArn, rule } of found) await this.delete(listenerArn, rule);
    return found.map(({ rule }) => rule.RuleArn!);
  }

  /**
   * One host-header rule per domain forwarding to the service's target group on this listener; rules
   * of this target group for domains no longer in the manifest are removed. Nothing is written when
   * the rules are already so.
   */
  async ensureHostRules(args: { listenerArn: string; targetGroupArn: string; domains: string[]; tags: Record<string, string> }): Promise<string[]> {
    const reserved = this.reserved.get(args.listenerArn) ?? new Set<number>();
    this.reserved.set(args.listenerArn, reserved);
    for (let attempt = 0; ; attempt++) {
      const rules = this.rules.get(args.listenerArn) ?? [];
      const ours = rules.filter((r) => !r.IsDefault && ruleTargetGroups(r).includes(args.targetGroupArn));
      const missing = args.domains.filter((d) => !ours.some((r) => ruleHosts(r).includes(d)));
      const taken = new Set([...rules.map((r) => Number(r.Priority)).filter(Number.isFinite), ...reserved]);
      const picked = missing.map((host) => {
        const priority = pickPriority(host, taken, attempt);
        taken.add(priority);
        reserved.add(priority);
        return { host, priority };
      });
      try {
        const ruleArns: string[] = [];
        for (const { host, priority } of picked) {
          const rule = { listenerArn: args.listenerArn, priority, host, targetGroupArn: args.targetGroupArn, tags: args.tags };
          const ruleArn = await createHostRule(this.elb, rule);
          this.rules.get(args.listenerArn)?.push({
            RuleArn: ruleArn,
            Priority: String(priority),
            IsDefault: false,
            Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [host] } }],
            Actions: [{ Type: 'forward', TargetGroupArn: args.targetGroupArn }],
          });
          ruleArns.push(ruleArn);
        }
        for (const rule of ours) {
          if (ruleHosts(rule).some((h) => !args.domains.includes(h))) await this.delete(args.listenerArn, rule);
          else ruleArns.push(rule.RuleArn ?? '');
        }
        return ruleArns.filter(Boolean);
      } catch (error) {
        if ((error as Error).name !== 'PriorityInUseException' || attempt >= 9) throw error;
        // another promote took one: read the listener as it is now
        this.rules.set(args.listenerArn, await listRules(this.elb, args.listenerArn));
      } finally {
        for (const { priority } of picked) reserved.delete(priority);
      }
    }
  }
}
