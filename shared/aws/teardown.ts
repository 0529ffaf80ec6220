import { type ApplicationAutoScalingClient, DeregisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { type AutoScalingClient, DescribeAutoScalingGroupsCommand, SetInstanceProtectionCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { type CloudWatchLogsClient, DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DeleteRepositoryCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { DeleteTaskDefinitionsCommand, DeregisterTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { DeleteRuleCommand, type EventBridgeClient, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteRoleCommand, DeleteRolePolicyCommand, DetachRolePolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { DeleteParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { describeServices } from './ecs.js';
import { type AppRole, batches, type ObjectVersion, type ScalableTarget, type ScheduleChange } from '../uninstall/plan.js';

/**
 * Deletes, each tolerating "already gone", so a removal that failed half-way can simply run again.
 * The error names are the ones each API reference lists for a resource that does not exist.
 */

/** Runs `call`; a "not found" error of one of these names counts as done (false), anything else throws. */
export async function unlessGone(call: () => Promise<unknown>, ...names: string[]): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    if (names.includes((error as Error)?.name)) return false;
    throw error;
  }
}

/**
 * Waits until the services are INACTIVE or gone, at most `maxWaitSeconds`, polling every 5 s: a
 * deleted service is DRAINING until its tasks stopped, then INACTIVE, and later not described at all
 * (ECS API Reference, DeleteService). The SDK's services-inactive waiter fails on a service that is
 * no longer described (MISSING), which is the end state here, so this polls by itself.
 */
export async function waitServicesDrained(
  ecs: ECSClient,
  cluster: string,
  services: string[],
  maxWaitSeconds: number,
  clock: { now: () => number; sleep: (ms: number) => Promise<void> } = { now: Date.now, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
): Promise<void> {
  const deadline = clock.now() + maxWaitSeconds * 1000;
  for (;;) {
    const live = Object.keys(await describeServices(ecs, cluster, services));
    if (live.length === 0) return;
    if (clock.now() >= deadline)
      throw new Error(`${live.join(', ')} did not drain to INACTIVE within ${maxWaitSeconds} s (their tasks are still stopping); run the command again to go on`);
    await clock.sleep(5000);
  }
}

/** Deregisters scalable targets; "deletes the scaling policies and the scheduled actions that are associated with it" (DeregisterScalableTarget). */
export async function deregisterScalableTargets(scaling: ApplicationAutoScalingClient, targets: ScalableTarget[]): Promise<number> {
  let done = 0;
  for (const t of targets) {
    const deregistered = await unlessGone(
      () => scaling.send(new DeregisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: t.resourceId, ScalableDimension: t.dimension as never })),
      'ObjectNotFoundException',
    );
    if (deregistered) done++;
  }
  return done;
}

/** Removes the app's targets from each rule, and the rule when nothing else was on it (a rule must have no targets to be deleted). */
export async function removeSchedules(events: EventBridgeClient, changes: ScheduleChange[]): Promise<{ targets: number; rules: number }> {
  const done = { targets: 0, rules: 0 };
  for (const change of changes) {
    // RemoveTargets takes at most 100 ids (EventBridge API Reference, RemoveTargets)
    for (const ids of batches(change.targetIds, 100)) {
      if (await unlessGone(() => events.send(new RemoveTargetsCommand({ Rule: change.rule, Ids: ids })), 'ResourceNotFoundException')) done.targets += ids.length;
    }
    if (change.deleteRule && (await unlessGone(() => events.send(new DeleteRuleCommand({ Name: change.rule })), 'ResourceNotFoundException'))) done.rules++;
  }
  return done;
}

/**
 * ACTIVE revisions are deregistered, then every revision is deleted: "You must deregister a task
 * definition revision before you delete it", and DeleteTaskDefinitions takes up to 10
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteTaskDefinitions.html).
 * A deleted revision is DELETE_IN_PROGRESS until no task uses it, then gone.
 */
export async function deleteTaskDefinitions(ecs: ECSClient, revisions: { active: string[]; inactive: string[] }): Promise<number> {
  for (const arn of revisions.active) {
    await unlessGone(() => ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })), 'ClientException');
  }
  let deleted = 0;
  for (const batch of batches([...revisions.active, ...revisions.inactive], 10)) {
    const res = await ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: batch }));
    deleted += res.taskDefinitions?.length ?? 0;
    // a revision already deleted is reported as a failure "The specified task definition does not exist"
    const failed = (res.failures ?? []).filter((f) => !/does not exist|DELETE_IN_PROGRESS/i.test(`${f.reason} ${f.detail ?? ''}`));
    if (failed.length) throw new Error(`DeleteTaskDefinitions refused ${failed.map((f) => `${f.arn}: ${f.reason}${f.detail ? ` (${f.detail})` : ''}`).join('; ')}`);
  }
  return deleted;
}

/** The repository and its images (`force`: "deletes the images in the repository" — ECR API Reference, DeleteRepository). */
export async function deleteRepository(ecr: ECRClient, name: string): Promise<boolean> {
  return unlessGone(() => ecr.send(new DeleteRepositoryCommand({ repositoryName: name, force: true })), 'RepositoryNotFoundException');
}

export async function deleteLogGroup(logs: CloudWatchLogsClient, name: string): Promise<boolean> {
  return unlessGone(() => logs.send(new DeleteLogGroupCommand({ logGroupName: name })), 'ResourceNotFoundException');
}

/** DeleteParameters takes up to 10 names and lists the ones that did not exist as InvalidParameters. */
export async function deleteParameters(ssm: SSMClient, names: string[]): Promise<number> {
  let deleted = 0;
  for (const batch of batches(names, 10)) {
    const res = await ssm.send(new DeleteParametersCommand({ Names: batch }));
    deleted += res.DeletedParameters?.length ?? 0;
  }
  return deleted;
}

/** A role can be deleted only without policies: inline ones deleted, managed ones detached, then the role. */
export async function deleteRole(iam: IAMClient, role: AppRole): Promise<boolean> {
  const gone = ['NoSuchEntityException', 'NoSuchEntity'];
  for (const policy of role.inlinePolicies) await unlessGone(() => iam.send(new DeleteRolePolicyCommand({ RoleName: role.name, PolicyName: policy })), ...gone);
  for (const arn of role.attachedPolicies) await unlessGone(() => iam.send(new DetachRolePolicyCommand({ RoleName: role.name, PolicyArn: arn })), ...gone);
  return unlessGone(() => iam.send(new DeleteRoleCommand({ RoleName: role.name })), ...gone);
}

/**
 * Deletes object versions and delete markers, 1,000 per request: "The request can contain a list of
 * up to 1,000 keys" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html). Naming
 * the VersionId deletes that version for good, delete markers included. Keys that failed are an error.
 */
export async function deleteObjectVersions(s3: S3Client, bucket: string, versions: ObjectVersion[]): Promise<number> {
  let deleted = 0;
  for (const batch of batches(versions, 1000)) {
    const res = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: batch.map((v) => ({ Key: v.key, ...(v.versionId ? { VersionId: v.versionId } : {}) })), Quiet: true },
      }),
    );
    const errors = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchVersion' && e.Code !== 'NoSuchKey');
    if (errors.length) throw new Error(`DeleteObjects on ${bucket} failed for ${errors.map((e) => `${e.Key}@${e.VersionId}: ${e.Code} ${e.Message ?? ''}`.trim()).join('; ')}`);
    deleted += batch.length - (res.Errors?.length ?? 0);
  }
  return deleted;
}

/**
 * Turns scale-in protection off for the group's instances and the ones it launches next. The
 * capacity provider's managed termination protection needs every instance protected, and deleting
 * the group does not terminate protected instances, so DeleteStack would wait on them
 * (https://github.com/aws/containers-roadmap/issues/2862; aws-cdk's capacity provider does the same
 * on deletion, https://github.com/aws/aws-cdk/pull/9192). SetInstanceProtection takes up to 50
 * instances (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_SetInstanceProtection.html).
 * Returns how many instances it unprotected; a group already gone counts as done.
 */
export async function releaseScaleInProtection(asg: AutoScalingClient, group: string): Promise<number> {
  const found = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }))).AutoScalingGroups?.[0];
  if (!found) return 0;
  await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: group, NewInstancesProtectedFromScaleIn: false }));
  const protectedIds = (found.Instances ?? []).filter((i) => i.ProtectedFromScaleIn).map((i) => i.InstanceId!);
  for (const ids of batches(protectedIds, 50)) {
    await asg.send(new SetInstanceProtectionCommand({ AutoScalingGroupName: group, InstanceIds: ids, ProtectedFromScaleIn: false }));
  }
  return protectedIds.length;
}
