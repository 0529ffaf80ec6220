import { type ApplicationAutoScalingClient, DescribeScalableTargetsCommand } from '@aws-sdk/client-application-auto-scaling';
import { type CloudWatchClient, ListTagsForResourceCommand as ListAlarmTagsCommand, paginateDescribeAlarms } from '@aws-sdk/client-cloudwatch';
import { type CloudWatchLogsClient, ListTagsForResourceCommand as ListLogGroupTagsCommand, paginateDescribeLogGroups } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeRepositoriesCommand, type ECRClient, ListTagsForResourceCommand as ListRepositoryTagsCommand, paginateDescribeRepositories } from '@aws-sdk/client-ecr';
import { type ECSClient, paginateListServices, paginateListTaskDefinitionFamilies, paginateListTaskDefinitions } from '@aws-sdk/client-ecs';
import { DescribeTagsCommand, type ElasticLoadBalancingV2Client, paginateDescribeTargetGroups } from '@aws-sdk/client-elastic-load-balancing-v2';
import { type EventBridgeClient, ListRuleNamesByTargetCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetRoleCommand, type IAMClient, paginateListAttachedRolePolicies, paginateListRolePolicies, paginateListRoles } from '@aws-sdk/client-iam';
import { ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { paginateGetParametersByPath, type SSMClient } from '@aws-sdk/client-ssm';
import { batches, type ObjectVersion, type ScalableTarget, taggedFor } from '../uninstall/plan.js';
import { describeServices } from './ecs.js';
import { tagMap } from './owner.js';

/**
 * Read-only look-ups of what a rack's apps made at runtime, by the names shared/names.ts gives them
 * and the `rackless:*` tags they carry. Each takes its client; the decisions are shared/uninstall/plan.ts's.
 */

const isGone = (error: unknown, ...names: string[]) => names.includes((error as Error)?.name);

/** The cluster's services whose names start with `prefix` (`<rack>--` or `<rack>--<app>--`), with status, tags and deployment ids. */
export async function servicesNamed(
  ecs: ECSClient,
  cluster: string,
  prefix: string,
): Promise<Array<{ serviceName: string; status: string; tags: Record<string, string>; deploymentIds: string[] }>> {
  const names: string[] = [];
  try {
    for await (const page of paginateListServices({ client: ecs }, { cluster })) {
      for (const arn of page.serviceArns ?? []) {
        const name = arn.split('/').pop()!;
        if (name.startsWith(prefix)) names.push(name);
      }
    }
  } catch (error) {
    if (isGone(error, 'ClusterNotFoundException')) return [];
    throw error;
  }
  const found = await describeServices(ecs, cluster, names);
  return Object.values(found)
    .filter((s) => s !== undefined)
    .map((s) => ({ serviceName: s.serviceName!, status: s.status ?? '', tags: tagMap(s.tags), deploymentIds: (s.deployments ?? []).map((d) => d.id!).filter(Boolean) }));
}

/** Every target group tagged `rackless:rack=<rack>` (and the app, when given), with its `rackless:*` tags. */
export async function targetGroupsTagged(elb: ElasticLoadBalancingV2Client, rack: string, app?: string): Promise<Array<{ arn: string; tags: Record<string, string> }>> {
  const arns: string[] = [];
  for await (const page of paginateDescribeTargetGroups({ client: elb }, {}))
    for (const group of page.TargetGroups ?? []) if (group.TargetGroupArn) arns.push(group.TargetGroupArn);
  const tagged: Array<{ arn: string; tags: Record<string, string> }> = [];
  // DescribeTags takes at most 20 resource ARNs (ELBv2 API Reference, DescribeTags)
  for (const batch of batches(arns, 20)) {
    const described = await elb.send(new DescribeTagsCommand({ ResourceArns: batch }));
    for (const d of described.TagDescriptions ?? []) {
      const tags = tagMap(d.Tags);
      if (d.ResourceArn && taggedFor(tags, rack, app)) tagged.push({ arn: d.ResourceArn, tags });
    }
  }
  return tagged;
}

/** Metric alarms whose names start with `prefix`, each with its tags. */
export async function alarmsNamed(cloudwatch: CloudWatchClient, prefix: string): Promise<Array<{ name: string; tags: Record<string, string> }>> {
  const found: Array<{ name: string; tags: Record<string, string> }> = [];
  for await (const page of paginateDescribeAlarms({ client: cloudwatch }, { AlarmNamePrefix: prefix, AlarmTypes: ['MetricAlarm'] })) {
    for (const alarm of page.MetricAlarms ?? []) {
      const tags = await cloudwatch.send(new ListAlarmTagsCommand({ ResourceARN: alarm.AlarmArn }));
      found.push({ name: alarm.AlarmName!, tags: tagMap(tags.Tags) });
    }
  }
  return found;
}

/** Application Auto Scaling targets of these ECS services (`service/<cluster>/<name>`). */
export async function scalableTargetsOf(scaling: ApplicationAutoScalingClient, cluster: string, serviceNames: string[]): Promise<ScalableTarget[]> {
  const found: ScalableTarget[] = [];
  // ResourceIds takes at most 50 (Application Auto Scaling API Reference, DescribeScalableTargets)
  for (const batch of batches(
    serviceNames.map((name) => `service/${cluster}/${name}`),
    50,
  )) {
    let NextToken: string | undefined;
    do {
      const page = await scaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: batch, NextToken }));
      for (const t of page.ScalableTargets ?? []) found.push({ resourceId: t.ResourceId!, dimension: t.ScalableDimension! });
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return found;
}

/** Rules with a target on this function, and each rule's targets (id, ARN, constant input). */
export async function rulesTargeting(
  events: EventBridgeClient,
  functionArn: string,
): Promise<Array<{ rule: string; targets: Array<{ id: string; arn: string; input?: string }> }>> {
  const rules: string[] = [];
  // the SDK has no paginator for these two: NextToken by hand
  let NextToken: string | undefined;
  do {
    const page = await events.send(new ListRuleNamesByTargetCommand({ TargetArn: functionArn, NextToken }));
    rules.push(...(page.RuleNames ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  const found: Array<{ rule: string; targets: Array<{ id: string; arn: string; input?: string }> }> = [];
  for (const rule of rules) {
    const targets: Array<{ id: string; arn: string; input?: string }> = [];
    try {
      let next: string | undefined;
      do {
        const page = await events.send(new ListTargetsByRuleCommand({ Rule: rule, NextToken: next }));
        for (const t of page.Targets ?? []) targets.push({ id: t.Id!, arn: t.Arn!, ...(t.Input ? { input: t.Input } : {}) });
        next = page.NextToken;
      } while (next);
    } catch (error) {
      if (isGone(error, 'ResourceNotFoundException')) continue;
      throw error;
    }
    found.push({ rule, targets });
  }
  return found;
}

/** Every task definition revision of the families starting with `prefix`, by status. */
export async function taskDefinitionsNamed(ecs: ECSClient, prefix: string): Promise<{ active: string[]; inactive: string[] }> {
  const families: string[] = [];
  // familyPrefix filters families by the start of their name (ECS API Reference, ListTaskDefinitionFamilies)
  for await (const page of paginateListTaskDefinitionFamilies({ client: ecs }, { familyPrefix: prefix, status: 'ALL' })) {
    families.push(...(page.families ?? []).filter((f) => f.startsWith(prefix)));
  }
  const result = { active: [] as string[], inactive: [] as string[] };
  for (const family of families) {
    for (const status of ['ACTIVE', 'INACTIVE'] as const) {
      // ListTaskDefinitions' familyPrefix is "the full family name" (ECS API Reference, ListTaskDefinitions)
      for await (const page of paginateListTaskDefinitions({ client: ecs }, { familyPrefix: family, status })) {
        const arns = (page.taskDefinitionArns ?? []).filter((arn) => arn.split('/').pop()!.split(':')[0] === family);
        (status === 'ACTIVE' ? result.active : result.inactive).push(...arns);
      }
    }
  }
  return result;
}

/** The repository and its tags, or undefined. */
export async function repositoryNamed(ecr: ECRClient, name: string): Promise<{ name: string; tags: Record<string, string> } | undefined> {
  try {
    const found = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0];
    if (!found) return undefined;
    const tags = await ecr.send(new ListRepositoryTagsCommand({ resourceArn: found.repositoryArn }));
    return { name, tags: tagMap(tags.tags) };
  } catch (error) {
    if (isGone(error, 'RepositoryNotFoundException')) return undefined;
    throw error;
  }
}

/** Names of the repositories under `<prefix>/`. */
export async function repositoriesUnder(ecr: ECRClient, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateDescribeRepositories({ client: ecr }, {})) {
    for (const r of page.repositories ?? []) if (r.repositoryName?.startsWith(`${prefix}/`)) names.push(r.repositoryName);
  }
  return names.sort();
}

/** Log groups whose names start with `prefix`, with their ARNs (without the trailing `:*`). */
export async function logGroupsNamed(logs: CloudWatchLogsClient, prefix: string): Promise<Array<{ name: string; arn: string }>> {
  const found: Array<{ name: string; arn: string }> = [];
  for await (const page of paginateDescribeLogGroups({ client: logs }, { logGroupNamePrefix: prefix })) {
    for (const g of page.logGroups ?? []) if (g.logGroupName) found.push({ name: g.logGroupName, arn: (g.arn ?? '').replace(/:\*$/, '') });
  }
  return found;
}

/** The log group of exactly this name, with its tags, or undefined. */
export async function logGroupNamed(logs: CloudWatchLogsClient, name: string): Promise<{ name: string; tags: Record<string, string> } | undefined> {
  const group = (await logGroupsNamed(logs, name)).find((g) => g.name === name);
  if (!group) return undefined;
  const tags = await logs.send(new ListLogGroupTagsCommand({ resourceArn: group.arn }));
  return { name, tags: tags.tags ?? {} };
}

/** Names of every parameter under the path (recursively). */
export async function parametersUnder(ssm: SSMClient, path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateGetParametersByPath({ client: ssm }, { Path: path, Recursive: true })) for (const p of page.Parameters ?? []) if (p.Name) names.push(p.Name);
  return names.sort();
}

/** The role with its tags and policies, or undefined when there is none. */
export async function roleNamed(
  iam: IAMClient,
  name: string,
): Promise<{ name: string; tags: Record<string, string>; inlinePolicies: string[]; attachedPolicies: string[] } | undefined> {
  let tags: Record<string, string>;
  try {
    tags = tagMap((await iam.send(new GetRoleCommand({ RoleName: name }))).Role?.Tags);
  } catch (error) {
    if (isGone(error, 'NoSuchEntityException', 'NoSuchEntity')) return undefined;
    throw error;
  }
  const inlinePolicies: string[] = [];
  for await (const page of paginateListRolePolicies({ client: iam }, { RoleName: name })) inlinePolicies.push(...(page.PolicyNames ?? []));
  const attachedPolicies: string[] = [];
  for await (const page of paginateListAttachedRolePolicies({ client: iam }, { RoleName: name })) {
    for (const p of page.AttachedPolicies ?? []) if (p.PolicyArn) attachedPolicies.push(p.PolicyArn);
  }
  return { name, tags, inlinePolicies: inlinePolicies.sort(), attachedPolicies: attachedPolicies.sort() };
}

/** Roles under the IAM path, with their tags. */
export async function rolesUnder(iam: IAMClient, path: string): Promise<Array<{ name: string; tags: Record<string, string> }>> {
  const names: string[] = [];
  for await (const page of paginateListRoles({ client: iam }, { PathPrefix: path })) for (const r of page.Roles ?? []) if (r.RoleName) names.push(r.RoleName);
  const roles: Array<{ name: string; tags: Record<string, string> }> = [];
  // ListRoles does not return tags: GetRole does
  for (const name of names.sort()) {
    const role = await roleNamed(iam, name);
    if (role) roles.push({ name, tags: role.tags });
  }
  return roles;
}

/** Every version and delete marker under the prefixes (ListObjectVersions pages hold up to 1,000). */
export async function objectVersions(s3: S3Client, bucket: string, prefixes: string[] = ['']): Promise<ObjectVersion[]> {
  const found: ObjectVersion[] = [];
  try {
    for (const prefix of prefixes) {
      // no SDK paginator: a truncated page names the next key and version marker
      let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
      for (;;) {
        const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, ...markers }));
        for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) if (v.Key) found.push({ key: v.Key, ...(v.VersionId ? { versionId: v.VersionId } : {}) });
        if (!page.IsTruncated) break;
        markers = { ...(page.NextKeyMarker ? { KeyMarker: page.NextKeyMarker } : {}), ...(page.NextVersionIdMarker ? { VersionIdMarker: page.NextVersionIdMarker } : {}) };
      }
    }
  } catch (error) {
    if (isGone(error, 'NoSuchBucket')) return [];
    throw error;
  }
  return found;
}
