import type { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { S3Client } from '@aws-sdk/client-s3';
import { type SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { executionStatuses, stillRuns } from '../aws/executions.js';
import {
  alarmsNamed,
  logGroupNamed,
  objectVersions,
  parametersUnder,
  repositoryNamed,
  roleNamed,
  rulesTargeting,
  scalableTargetsOf,
  servicesNamed,
  targetGroupsTagged,
  taskDefinitionsNamed,
} from '../aws/inventory.js';
import type { Store } from '../aws/store.js';
import {
  deleteLogGroup,
  deleteObjectVersions,
  deleteParameters,
  deleteRepository,
  deleteRole,
  deleteTaskDefinitions,
  deregisterScalableTargets,
  removeSchedules,
  unlessGone,
  waitServicesDrained,
} from '../aws/teardown.js';
import { settleDomains } from '../deploy/claims.js';
import { removeService } from '../deploy/remove.js';
import { RemovalFailed, RemovalRefused } from '../errors.js';
import { appNames } from '../names.js';
import { type AppInventory, type Deleted, foreignAt, noneDeleted, type Skipped, scheduleChanges, serviceUnits } from './plan.js';

/** The clients a removal uses: the operator's credentials, not a rack role (docs/iam.md). */
export interface RemovalClients {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  cloudwatch: CloudWatchClient;
  ecr: ECRClient;
  logs: CloudWatchLogsClient;
  ssm: SSMClient;
  iam: IAMClient;
  events: EventBridgeClient;
  scaling: ApplicationAutoScalingClient;
  s3: S3Client;
  sfn: SFNClient;
}

/** What a removal needs to know of the rack (its stack's outputs and resources). */
export interface RackScope {
  name: string;
  cluster: string;
  listenerArn: string;
  httpsListenerArn?: string;
  bucket: string;
  ecrPrefix: string;
  logGroupPrefix: string;
  /** the rack's redeploy function: schedule rules target it */
  redeployFunctionArn?: string;
  /** physical ids of the stack's resources: those are CloudFormation's to delete */
  stackResources: Set<string>;
}

export interface RemovalDeps {
  aws: RemovalClients;
  store: Store;
  rack: RackScope;
  /** longest wait for the app's services to drain (INACTIVE) */
  drainSeconds: number;
  /** one line per step, as it starts and ends */
  progress?: (line: string) => void;
}

const servicePrefix = (rack: string, app: string) => `${rack}--${app}--`;

/** Reads everything of the app's; changes nothing. Resources at its names that another app or rack owns are `skipped`. */
export async function findApp(deps: RemovalDeps, app: string): Promise<AppInventory> {
  const { aws, rack, store } = deps;
  const names = appNames(rack, app);
  const prefix = servicePrefix(rack.name, app);
  const skipped: Skipped[] = [];
  const owned = <T extends { tags: Record<string, string> }>(kind: string, name: (r: T) => string, found: T[]): T[] =>
    found.filter((r) => {
      // a resource of the rack's own stack is CloudFormation's, whatever its name says
      const foreign = rack.stackResources.has(name(r)) ? { kind, name: name(r), reason: "it is part of the rack's stack" } : foreignAt(kind, name(r), r.tags, rack.name, app);
      if (foreign) skipped.push(foreign);
      return !foreign;
    });

  const ecs = owned('ECS service', (s) => s.serviceName, await servicesNamed(aws.ecs, rack.cluster, prefix));
  const targetGroups = (await targetGroupsTagged(aws.elb, rack.name, app)).filter((g) => g.tags['rackless:service']);
  const alarms = owned('CloudWatch alarm', (a) => a.name, await alarmsNamed(aws.cloudwatch, prefix));
  const releases = await store.listReleases(app, 1000);
  const declared = [...new Set(releases.flatMap((r) => r.manifest?.services?.map((s) => s.name) ?? []))];
  const services = serviceUnits({
    rack: rack.name,
    app,
    ecs,
    targetGroups: targetGroups.map((g) => ({ arn: g.arn, service: g.tags['rackless:service']! })),
    alarms: alarms.map((a) => a.name),
    declared,
  });
  const scalableTargets = await scalableTargetsOf(
    aws.scaling,
    rack.cluster,
    services.map((s) => s.serviceName),
  );
  const schedules = rack.redeployFunctionArn
    ? scheduleChanges(await rulesTargeting(aws.events, rack.redeployFunctionArn), rack.redeployFunctionArn, app, rack.stackResources)
    : { changes: [], stackSchedules: [] };
  const repository = await repositoryNamed(aws.ecr, names.repository);
  const logGroup = await logGroupNamed(aws.logs, names.logGroup);
  const roles = [];
  for (const name of [names.executionRole, names.taskRole]) {
    const role = await roleNamed(aws.iam, name);
    if (role && owned('IAM role', (r) => r.name, [role]).length) roles.push({ name, inlinePolicies: role.inlinePolicies, attachedPolicies: role.attachedPolicies });
  }
  return {
    app,
    services,
    scalableTargets,
    schedules: schedules.changes,
    stackSchedules: schedules.stackSchedules,
    taskDefinitions: await taskDefinitionsNamed(aws.ecs, prefix),
    ...(repository && owned('ECR repository', (r) => r.name, [repository]).length ? { repository: repository.name } : {}),
    ...(logGroup && owned('log group', (g) => g.name, [logGroup]).length ? { logGroup: logGroup.name } : {}),
    parameters: (await parametersUnder(aws.ssm, names.parameterPath)).filter((name) => !rack.stackResources.has(name)),
    roles,
    objects: await objectVersions(aws.s3, rack.bucket, [`apps/${app}/`, `builds/${app}/`]),
    domains: (await store.getDomains()).claims.filter((c) => c.app === app).map((c) => c.host),
    recorded: (await store.getApp(app)) !== undefined,
    skipped,
  };
}

/** The deploys of the app that still run: the lock's holder, and deploys waiting in its queue. */
export async function runningDeploys(deps: Pick<RemovalDeps, 'aws' | 'store'>, app: string): Promise<Array<{ execution: string; executionArn?: string; holdsLock: boolean }>> {
  const statuses = executionStatuses(deps.aws.sfn);
  const running: Array<{ execution: string; executionArn?: string; holdsLock: boolean }> = [];
  const lock = await deps.store.getLock(app);
  // a lock whose holder Step Functions says ended is stale (the queue hands it on): no deploy runs
  if (lock && (!lock.executionArn || stillRuns(await statuses.status(lock.executionArn)))) {
    running.push({ execution: lock.holder, ...(lock.executionArn ? { executionArn: lock.executionArn } : {}), holdsLock: true });
  }
  for (const item of await deps.store.listQueue(app)) {
    if (item.status !== 'waiting' || !item.executionArn || item.execution === lock?.holder) continue;
    if (stillRuns(await statuses.status(item.executionArn))) running.push({ execution: item.execution, executionArn: item.executionArn, holdsLock: false });
  }
  return running;
}

/**
 * Refuses while a deploy of the app runs (it would create again what is deleted); with `force`,
 * stops those executions first (StopExecution) and goes on.
 */
export async function guardDeploys(deps: RemovalDeps, app: string, force: boolean): Promise<void> {
  const running = await runningDeploys(deps, app);
  if (running.length === 0) return;
  if (!force) {
    const holder = running.find((r) => r.holdsLock) ?? running[0]!;
    throw new RemovalRefused(
      'DEPLOY_RUNNING',
      `a deploy of app ${app} is running (execution ${holder.execution}${running.length > 1 ? ` and ${running.length - 1} more` : ''}); nothing was deleted`,
      {
        app,
        executions: running.map((r) => r.execution),
      },
    );
  }
  for (const r of running) {
    if (!r.executionArn) continue;
    deps.progress?.(`Stopping deploy ${r.execution} of ${app}`);
    const arn = r.executionArn;
    await unlessGone(
      () => deps.aws.sfn.send(new StopExecutionCommand({ executionArn: arn, error: 'AppDeleted', cause: `rackless apps delete ${app} --force` })),
      'ExecutionDoesNotExist',
    );
  }
}

/** Runs one named step; a failure is a RemovalFailed that names the step and what it was deleting. */
async function step<T>(deps: RemovalDeps, app: string, what: string, run: () => Promise<T>, doing = 'deleting'): Promise<T> {
  deps.progress?.(`${doing[0]!.toUpperCase()}${doing.slice(1)} ${what}`);
  try {
    return await run();
  } catch (error) {
    const e = error as Error;
    throw new RemovalFailed('DELETE_FAILED', `${doing} ${what} of app ${app} failed: ${e.name}: ${e.message}`, { app, step: what }, { cause: error });
  }
}

/**
 * Deletes what the inventory found, in an order AWS accepts (rules before target groups, services
 * drained before their task definitions go, roles once no task runs with them) and the table's
 * items last: a run that fails half-way leaves the app findable, and a second run goes on where it
 * stopped (every delete counts "already gone" as done).
 */
export async function deleteApp(deps: RemovalDeps, inventory: AppInventory): Promise<Deleted> {
  const { aws, rack, store } = deps;
  const app = inventory.app;
  const deleted = noneDeleted();
  if (inventory.scalableTargets.length) {
    deleted['scalable targets'] = await step(deps, app, `${inventory.scalableTargets.length} Application Auto Scaling targets`, () =>
      deregisterScalableTargets(aws.scaling, inventory.scalableTargets),
    );
  }
  if (inventory.schedules.length) {
    const done = await step(deps, app, `redeploy schedules ${inventory.schedules.map((s) => s.rule).join(', ')}`, () => removeSchedules(aws.events, inventory.schedules));
    deleted['schedule targets'] = done.targets;
    deleted['schedule rules'] = done.rules;
  }
  for (const unit of inventory.services) {
    if (!unit.status && !unit.targetGroupArn && unit.alarmNames.length === 0) continue;
    const removed = await step(
      deps,
      app,
      `service ${unit.serviceName}${unit.targetGroupArn ? ', its target group and rules' : ''}${unit.alarmNames.length ? ', its alarms' : ''}`,
      () =>
        removeService(
          { ecs: aws.ecs, elb: aws.elb, cloudwatch: aws.cloudwatch, rack },
          {
            serviceName: unit.serviceName,
            exists: unit.status === 'ACTIVE',
            ...(unit.targetGroupArn ? { targetGroupArn: unit.targetGroupArn } : {}),
            alarmNames: unit.alarmNames,
          },
        ),
    );
    if (removed.service) deleted['ecs services']++;
    if (removed.targetGroup) deleted['target groups']++;
    deleted['listener rules'] += removed.rules;
    deleted['cloudwatch alarms'] += removed.alarms;
  }
  const draining = inventory.services.filter((s) => s.status).map((s) => s.serviceName);
  if (draining.length) {
    await step(deps, app, `services ${draining.join(', ')} to drain`, () => waitServicesDrained(aws.ecs, rack.cluster, draining, deps.drainSeconds), 'waiting for');
  }
  const revisions = inventory.taskDefinitions;
  if (revisions.active.length + revisions.inactive.length) {
    deleted['task definitions'] = await step(deps, app, `${revisions.active.length + revisions.inactive.length} task definition revisions`, () =>
      deleteTaskDefinitions(aws.ecs, revisions),
    );
  }
  const repository = inventory.repository;
  if (repository && (await step(deps, app, `ECR repository ${repository}`, () => deleteRepository(aws.ecr, repository)))) deleted['ecr repositories']++;
  const logGroup = inventory.logGroup;
  if (logGroup && (await step(deps, app, `log group ${logGroup}`, () => deleteLogGroup(aws.logs, logGroup)))) deleted['log groups']++;
  if (inventory.parameters.length) {
    deleted['ssm parameters'] = await step(deps, app, `SSM parameters ${inventory.parameters.join(', ')}`, () => deleteParameters(aws.ssm, inventory.parameters));
  }
  for (const role of inventory.roles) {
    if (await step(deps, app, `IAM role ${role.name}`, () => deleteRole(aws.iam, role))) deleted['iam roles']++;
  }
  if (inventory.objects.length) {
    deleted['source objects'] = await step(deps, app, `${inventory.objects.length} object versions in ${rack.bucket}`, () =>
      deleteObjectVersions(aws.s3, rack.bucket, inventory.objects),
    );
  }
  if (inventory.domains.length) {
    await step(deps, app, `domain claims ${inventory.domains.join(', ')}`, () => settleDomains(store, app, {}));
    deleted['domain claims'] = inventory.domains.length;
  }
  deleted['table items'] = await step(deps, app, `its items in table`, () =>
    store.deleteAppItems(app, { servicePrefix: servicePrefix(rack.name, app), deploymentIds: inventory.services.flatMap((s) => s.deploymentIds) }),
  );
  return deleted;
}
