import { APP_NAME, foreignOwner, parseAlarmName, parseServiceName } from '../names.js';

/**
 * Pure: what `rackless apps delete` and `rackless rack uninstall` remove, decided from what the
 * inventory (shared/aws/inventory.ts) read. Nothing here calls AWS: every rule about which resource
 * is whose, what a schedule target means and what a failed stack says is a table-tested function.
 */

/** One ECS service of the app and what routes to it: removed together (shared/deploy/remove.ts). */
export interface ServiceUnit {
  /** the manifest's service name */
  service: string;
  /** `<rack>--<app>--<service>` */
  serviceName: string;
  /** ACTIVE: scaled to 0 and deleted; DRAINING: already deleted, waited for */
  status?: 'ACTIVE' | 'DRAINING';
  targetGroupArn?: string;
  alarmNames: string[];
  /** its deployments' ids (the table's outcome items name them) */
  deploymentIds: string[];
}

/** A rule target of the rack's redeploy function whose input names the app. */
export interface ScheduleChange {
  rule: string;
  /** the app's targets on the rule: removed */
  targetIds: string[];
  /** no other target stays: the rule goes too */
  deleteRule: boolean;
}

export interface ScalableTarget {
  resourceId: string;
  dimension: string;
}

export interface AppRole {
  name: string;
  inlinePolicies: string[];
  attachedPolicies: string[];
}

export interface ObjectVersion {
  key: string;
  versionId?: string;
}

/** Found at a name of the app's but owned by someone else: left as it is, and said. */
export interface Skipped {
  kind: string;
  name: string;
  reason: string;
}

export interface AppInventory {
  app: string;
  services: ServiceUnit[];
  scalableTargets: ScalableTarget[];
  schedules: ScheduleChange[];
  /** rules of the rack's own stack that schedule the app: CloudFormation's, left to serverless.yml */
  stackSchedules: string[];
  /** ARNs, ACTIVE (deregistered, then deleted) and INACTIVE (deleted) */
  taskDefinitions: { active: string[]; inactive: string[] };
  repository?: string;
  logGroup?: string;
  parameters: string[];
  roles: AppRole[];
  /** every version and delete marker of its tarballs and build contexts */
  objects: ObjectVersion[];
  /** hosts the app claims in the rack's domain registry */
  domains: string[];
  /** the app has a record in the table */
  recorded: boolean;
  skipped: Skipped[];
}

/** What a run deleted, per resource type (the keys of DELETED_KINDS). */
export type Deleted = Record<DeletedKind, number>;
export const DELETED_KINDS = [
  'ecs services',
  'target groups',
  'listener rules',
  'cloudwatch alarms',
  'scalable targets',
  'schedule targets',
  'schedule rules',
  'task definitions',
  'ecr repositories',
  'log groups',
  'ssm parameters',
  'iam roles',
  'source objects',
  'domain claims',
  'table items',
] as const;
export type DeletedKind = (typeof DELETED_KINDS)[number];

export function noneDeleted(): Deleted {
  return Object.fromEntries(DELETED_KINDS.map((kind) => [kind, 0])) as Deleted;
}

export function addDeleted(total: Deleted, more: Deleted): Deleted {
  return Object.fromEntries(DELETED_KINDS.map((kind) => [kind, total[kind] + more[kind]])) as Deleted;
}

/** Tags that name exactly this rack and app (a resource found by tag, not by a name of the app's). */
export function taggedFor(tags: Record<string, string | undefined>, rack: string, app?: string): boolean {
  return tags['rackless:rack'] === rack && (app === undefined || tags['rackless:app'] === app);
}

/** A resource found at a name of the app's that another app or rack owns: what is skipped, and why. */
export function foreignAt(kind: string, name: string, tags: Record<string, string>, rack: string, app: string): Skipped | undefined {
  const reason = foreignOwner(tags, rack, app);
  return reason ? { kind, name, reason } : undefined;
}

/**
 * The app's services, from everything that names one: ECS services of the cluster, target groups
 * tagged `rackless:service`, alarms `<rack>--<app>--<service>--<metric>`, and the services its
 * releases declared. One unit per service, in name order.
 */
export function serviceUnits(args: {
  rack: string;
  app: string;
  ecs: Array<{ serviceName: string; status: string; deploymentIds: string[] }>;
  targetGroups: Array<{ arn: string; service: string }>;
  alarms: string[];
  declared: string[];
}): ServiceUnit[] {
  const units = new Map<string, ServiceUnit>();
  const unit = (service: string): ServiceUnit => {
    let found = units.get(service);
    if (!found) {
      found = { service, serviceName: `${args.rack}--${args.app}--${service}`, alarmNames: [], deploymentIds: [] };
      units.set(service, found);
    }
    return found;
  };
  for (const service of args.ecs) {
    const parsed = parseServiceName(service.serviceName, args.rack);
    if (parsed?.app !== args.app) continue;
    const found = unit(parsed.service);
    if (service.status === 'ACTIVE' || service.status === 'DRAINING') found.status = service.status;
    found.deploymentIds.push(...service.deploymentIds);
  }
  for (const group of args.targetGroups) unit(group.service).targetGroupArn = group.arn;
  for (const name of args.alarms) {
    const parsed = parseAlarmName(name, args.rack);
    if (parsed?.app === args.app) unit(parsed.service).alarmNames.push(name);
  }
  for (const service of args.declared) unit(service);
  return [...units.values()].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
}

/** The `app` a rule target's constant input names (a schedule's `{"app": "shop", "rebuild": true}`), if any. */
export function targetApp(input: string | undefined): string | undefined {
  if (!input) return undefined;
  try {
    const parsed = JSON.parse(input) as unknown;
    const app = parsed && typeof parsed === 'object' ? (parsed as { app?: unknown }).app : undefined;
    return typeof app === 'string' ? app : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The app's targets on rules that invoke the rack's redeploy function: removed, and the rule with
 * them when nothing else stays on it. A rule of the rack's own stack (serverless.yml) is never
 * changed here: CloudFormation owns it, and removing it is a change to the template.
 */
export function scheduleChanges(
  rules: Array<{ rule: string; targets: Array<{ id: string; arn: string; input?: string }> }>,
  functionArn: string,
  app: string,
  stackRules: Set<string>,
): { changes: ScheduleChange[]; stackSchedules: string[] } {
  const changes: ScheduleChange[] = [];
  const stackSchedules: string[] = [];
  for (const { rule, targets } of rules) {
    const own = targets.filter((t) => sameFunction(t.arn, functionArn) && targetApp(t.input) === app);
    if (own.length === 0) continue;
    if (stackRules.has(rule)) {
      stackSchedules.push(rule);
      continue;
    }
    changes.push({ rule, targetIds: own.map((t) => t.id).sort(), deleteRule: own.length === targets.length });
  }
  return { changes: changes.sort((a, b) => (a.rule < b.rule ? -1 : 1)), stackSchedules: stackSchedules.sort() };
}

/** A target names the function by its ARN, or by a version or alias of it (`…:function:name:alias`). */
function sameFunction(targetArn: string, functionArn: string): boolean {
  return targetArn === functionArn || targetArn.startsWith(`${functionArn}:`);
}

/** App names the rack's resources name, wherever they are found (table, services, repositories, …). */
export function appsNamed(args: {
  rack: string;
  recorded: string[];
  services: string[];
  repositories: string[];
  ecrPrefix: string;
  logGroups: string[];
  logGroupPrefix: string;
  parameterPaths: string[];
  roles: Array<{ name: string; tags: Record<string, string> }>;
  tagged: Array<Record<string, string>>;
}): string[] {
  const apps = new Set(args.recorded);
  for (const name of args.services) {
    const parsed = parseServiceName(name, args.rack);
    if (parsed) apps.add(parsed.app);
  }
  const after = (value: string, prefix: string) => (value.startsWith(prefix) ? value.slice(prefix.length).split('/')[0] : undefined);
  for (const repository of args.repositories) {
    const app = after(repository, `${args.ecrPrefix}/`);
    if (app) apps.add(app);
  }
  for (const group of args.logGroups) {
    const app = after(group, `${args.logGroupPrefix}/`);
    if (app) apps.add(app);
  }
  for (const name of args.parameterPaths) {
    const app = after(name, `/rackless/${args.rack}/`);
    if (app) apps.add(app);
  }
  for (const role of args.roles) if (taggedFor(role.tags, args.rack) && role.tags['rackless:app']) apps.add(role.tags['rackless:app']);
  for (const tags of args.tagged) if (taggedFor(tags, args.rack) && tags['rackless:app']) apps.add(tags['rackless:app']);
  return [...apps].filter((app) => APP_NAME.test(app)).sort();
}

/** Lists cut into batches of at most `size` (DeleteObjects: 1,000 keys; DeleteParameters: 10; …). */
export function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** One line per resource type the inventory found, for the confirmation list (empty types left out). */
export function inventoryLines(inventory: AppInventory): string[] {
  const lines: string[] = [];
  const add = (kind: string, names: string[]) => {
    if (names.length) lines.push(`${kind} (${names.length}): ${names.join(', ')}`);
  };
  const services = inventory.services;
  add(
    'ECS services',
    services.filter((s) => s.status).map((s) => s.serviceName),
  );
  add(
    'target groups and their listener rules',
    services.flatMap((s) => (s.targetGroupArn ? [s.targetGroupArn.split(':').pop()!] : [])),
  );
  add(
    'CloudWatch alarms',
    services.flatMap((s) => s.alarmNames),
  );
  add(
    'Application Auto Scaling targets',
    inventory.scalableTargets.map((t) => `${t.resourceId} ${t.dimension}`),
  );
  add(
    'redeploy schedules (EventBridge rule targets)',
    inventory.schedules.map((s) => `${s.rule}${s.deleteRule ? '' : ` (targets ${s.targetIds.join(', ')} only)`}`),
  );
  add(
    'task definitions',
    [...inventory.taskDefinitions.active, ...inventory.taskDefinitions.inactive].map((arn) => arn.split('/').pop()!),
  );
  add('ECR repository (with its images)', inventory.repository ? [inventory.repository] : []);
  add('log group', inventory.logGroup ? [inventory.logGroup] : []);
  add('SSM parameters', inventory.parameters);
  add(
    'IAM roles',
    inventory.roles.map((r) => r.name),
  );
  if (inventory.objects.length)
    lines.push(`source bucket objects: ${inventory.objects.length} versions and delete markers under apps/${inventory.app}/ and builds/${inventory.app}/`);
  add('domain claims', inventory.domains);
  if (inventory.recorded) lines.push(`table items: the app's record, releases, builds, history and watches`);
  return lines;
}

/** Pure: the resources a stack's events report as DELETE_FAILED, with their reasons, newest first per resource. */
export function deleteFailures(events: Array<{ logicalId?: string; type?: string; status?: string; reason?: string }>): Array<{ logicalId: string; type: string; reason: string }> {
  const seen = new Set<string>();
  const failures: Array<{ logicalId: string; type: string; reason: string }> = [];
  for (const event of events) {
    if (event.status !== 'DELETE_FAILED' || !event.logicalId || seen.has(event.logicalId)) continue;
    seen.add(event.logicalId);
    failures.push({ logicalId: event.logicalId, type: event.type ?? '', reason: event.reason ?? 'no reason given' });
  }
  return failures;
}

/**
 * Pure: the template's resources that DeleteStack leaves in place, from their DeletionPolicy
 * ("Retain" and "RetainExceptOnCreate" keep the resource when the stack is deleted — CloudFormation
 * User Guide, DeletionPolicy attribute: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
 */
export function retainedResources(template: { Resources?: Record<string, { Type?: string; DeletionPolicy?: unknown }> }): Array<{ logicalId: string; type: string }> {
  return Object.entries(template.Resources ?? {})
    .filter(([, r]) => r.DeletionPolicy === 'Retain' || r.DeletionPolicy === 'RetainExceptOnCreate')
    .map(([logicalId, r]) => ({ logicalId, type: r.Type ?? '' }))
    .sort((a, b) => (a.logicalId < b.logicalId ? -1 : 1));
}

/** Pure: why a retained resource is left, and how to delete it once it is no longer wanted. */
export function retainedAdvice(type: string, physicalId: string): string {
  const why = 'the template keeps it when the stack is deleted (DeletionPolicy Retain), so the rack';
  if (type === 'AWS::DynamoDB::Table') {
    return `${why}'s history (releases, events) outlives it; delete it with \`aws dynamodb update-table --table-name ${physicalId} --no-deletion-protection-enabled\` and \`aws dynamodb delete-table --table-name ${physicalId}\``;
  }
  if (type === 'AWS::S3::Bucket')
    return `${why}'s objects outlive it; delete it with \`aws s3 rb s3://${physicalId} --force\` (a versioned bucket needs its versions deleted first)`;
  if (type === 'AWS::Logs::LogGroup') return `${why}'s logs outlive it; delete it with \`aws logs delete-log-group --log-group-name ${physicalId}\``;
  return `${why} leaves it in place; delete it yourself when it is no longer needed`;
}
