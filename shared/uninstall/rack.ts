import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetResourcesCommand, type ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { logGroupsNamed, objectVersions, parametersUnder, repositoriesUnder, rolesUnder, servicesNamed, targetGroupsTagged } from '../aws/inventory.js';
import { deleteStack, type StackDeletion, type StackResource } from '../aws/stack.js';
import { deleteObjectVersions, releaseScaleInProtection } from '../aws/teardown.js';
import { RemovalFailed } from '../errors.js';
import { rolePath } from '../names.js';
import { deleteApp, findApp, guardDeploys, type RemovalDeps } from './app.js';
import { type AppInventory, addDeleted, appsNamed, type Deleted, noneDeleted } from './plan.js';

/** What `rackless rack uninstall` found: the apps (each with its inventory), the bucket, the stack. */
export interface RackInventory {
  rack: string;
  stackId: string;
  apps: AppInventory[];
  /**
   * The stack's buckets (the source bucket, serverless's deployment bucket) with how many versions
   * and delete markers each holds: CloudFormation deletes only an empty bucket
   */
  buckets: Array<{ bucket: string; versions: number }>;
  stackResources: StackResource[];
  /** resources the template keeps when the stack goes (DeletionPolicy Retain), with their physical ids */
  retained: Array<{ logicalId: string; type: string; physicalId: string }>;
}

export interface RackRemovalDeps extends RemovalDeps {
  cfn: CloudFormationClient;
  asg: AutoScalingClient;
  tagging: ResourceGroupsTaggingAPIClient;
  stackId: string;
  stack: StackResource[];
  retained: Array<{ logicalId: string; type: string }>;
  /** longest wait for DeleteStack to finish */
  stackSeconds: number;
}

/** Every app the rack's resources name, not only those the table knows: a half-deleted app is found by what is left of it. */
export async function rackApps(deps: RackRemovalDeps): Promise<string[]> {
  const { aws, rack } = deps;
  // the stack's own resources under the same prefixes (its build log group) name no app
  const notStack = (name: string) => !rack.stackResources.has(name);
  return appsNamed({
    rack: rack.name,
    recorded: (await deps.store.listApps()).map((a) => a.app),
    services: (await servicesNamed(aws.ecs, rack.cluster, `${rack.name}--`)).map((s) => s.serviceName),
    repositories: (await repositoriesUnder(aws.ecr, rack.ecrPrefix)).filter(notStack),
    ecrPrefix: rack.ecrPrefix,
    logGroups: (await logGroupsNamed(aws.logs, `${rack.logGroupPrefix}/`)).map((g) => g.name).filter(notStack),
    logGroupPrefix: rack.logGroupPrefix,
    parameterPaths: (await parametersUnder(aws.ssm, `/rackless/${rack.name}/`)).filter(notStack),
    roles: (await rolesUnder(aws.iam, rolePath(rack))).filter((r) => notStack(r.name)),
    tagged: (await targetGroupsTagged(aws.elb, rack.name)).map((g) => g.tags),
  });
}

export async function findRack(deps: RackRemovalDeps): Promise<RackInventory> {
  const apps: AppInventory[] = [];
  for (const app of await rackApps(deps)) apps.push(await findApp(deps, app));
  const physical = new Map(deps.stack.map((r) => [r.logicalId, r.physicalId]));
  const kept = new Set(deps.retained.map((r) => r.logicalId));
  const names = [deps.rack.bucket, ...deps.stack.filter((r) => r.type === 'AWS::S3::Bucket' && !kept.has(r.logicalId)).map((r) => r.physicalId)];
  const buckets = [];
  for (const bucket of [...new Set(names)]) buckets.push({ bucket, versions: (await objectVersions(deps.aws.s3, bucket)).length });
  return {
    rack: deps.rack.name,
    stackId: deps.stackId,
    apps,
    buckets,
    stackResources: deps.stack,
    retained: deps.retained.map((r) => ({ ...r, physicalId: physical.get(r.logicalId) ?? '' })),
  };
}

export interface RackRemoval {
  deleted: Deleted;
  perApp: Record<string, Deleted>;
  /** versions and delete markers deleted, per bucket */
  bucketObjects: Record<string, number>;
  /** instances whose scale-in protection was turned off, per Auto Scaling group of the stack */
  unprotected: Record<string, number>;
  stack: StackDeletion;
  /** what is still tagged `rackless:rack=<rack>` after the stack went (the Resource Groups Tagging API's answer) */
  tagged: string[];
}

/**
 * Every app deleted (refused up front while one deploys, unless `force`), the stack's buckets
 * emptied of every version and delete marker, its instances' scale-in protection turned off, then
 * DeleteStack and its wait. Each part tolerates
 * what an earlier run already removed.
 */
export async function uninstallRack(deps: RackRemovalDeps, inventory: RackInventory, force: boolean): Promise<RackRemoval> {
  for (const app of inventory.apps) await guardDeploys(deps, app.app, force);
  const perApp: Record<string, Deleted> = {};
  let deleted = noneDeleted();
  for (const app of inventory.apps) {
    deps.progress?.(`App ${app.app}:`);
    perApp[app.app] = await deleteApp(deps, app);
    deleted = addDeleted(deleted, perApp[app.app]!);
  }
  const bucketObjects: Record<string, number> = {};
  for (const { bucket } of inventory.buckets) {
    deps.progress?.(`Emptying bucket ${bucket} (every version and delete marker)`);
    try {
      bucketObjects[bucket] = await deleteObjectVersions(deps.aws.s3, bucket, await objectVersions(deps.aws.s3, bucket));
    } catch (error) {
      throw new RemovalFailed('DELETE_FAILED', `emptying bucket ${bucket} failed: ${(error as Error).message}`, { step: 'bucket', bucket }, { cause: error });
    }
  }
  const unprotected: Record<string, number> = {};
  for (const group of deps.stack.filter((r) => r.type === 'AWS::AutoScaling::AutoScalingGroup').map((r) => r.physicalId)) {
    deps.progress?.(`Turning scale-in protection off in Auto Scaling group ${group} (the stack would wait on protected instances)`);
    try {
      unprotected[group] = await releaseScaleInProtection(deps.asg, group);
    } catch (error) {
      throw new RemovalFailed(
        'DELETE_FAILED',
        `turning scale-in protection off in ${group} failed: ${(error as Error).message}`,
        { step: 'scale-in protection', group },
        { cause: error },
      );
    }
  }
  deps.progress?.(`Deleting stack ${deps.rack.name} and waiting for it (at most ${deps.stackSeconds} s)`);
  const stack = await deleteStack(deps.cfn, deps.stackId, deps.stackSeconds);
  return { deleted, perApp, bucketObjects, unprotected, stack, tagged: stack.status === 'DELETE_COMPLETE' ? await taggedWith(deps.tagging, deps.rack.name) : [] };
}

/**
 * The services a rack's resources live in: its stack's (S3, Logs, Lambda, Step Functions, EventBridge,
 * EC2, ELB, ECS, IAM, Auto Scaling, DynamoDB, SNS, SQS, CodeBuild) and its apps' (ECR, CloudWatch,
 * SSM, Application Auto Scaling). `ResourceTypeFilters` takes "the service name … the same as that
 * embedded in a resource's ARN" (Resource Groups Tagging API Reference, GetResources).
 */
export const RACK_SERVICES = [
  'application-autoscaling',
  'autoscaling',
  'cloudwatch',
  'codebuild',
  'dynamodb',
  'ec2',
  'ecr',
  'ecs',
  'elasticloadbalancing',
  'events',
  'iam',
  'lambda',
  'logs',
  's3',
  'sns',
  'sqs',
  'ssm',
  'states',
];

/**
 * ARNs still tagged `rackless:rack=<rack>`, asked one service at a time (a service the API does not
 * cover answers InvalidParameterException and is passed over); GetResources pages by
 * PaginationToken, an empty one ends.
 */
export async function taggedWith(tagging: ResourceGroupsTaggingAPIClient, rack: string, services: string[] = RACK_SERVICES): Promise<string[]> {
  const arns = new Set<string>();
  for (const service of services) {
    let PaginationToken: string | undefined;
    try {
      do {
        const page = await tagging.send(
          new GetResourcesCommand({ TagFilters: [{ Key: 'rackless:rack', Values: [rack] }], ResourceTypeFilters: [service], ...(PaginationToken ? { PaginationToken } : {}) }),
        );
        for (const r of page.ResourceTagMappingList ?? []) if (r.ResourceARN) arns.add(r.ResourceARN);
        PaginationToken = page.PaginationToken || undefined;
      } while (PaginationToken);
    } catch (error) {
      if ((error as Error).name !== 'InvalidParameterException') throw error;
    }
  }
  return [...arns].sort();
}
