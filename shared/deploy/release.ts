import { RegisterTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { IAMClient } from '@aws-sdk/client-iam';
import { ensureRole, putInlinePolicy, syncAttachedPolicies } from '../aws/iam.js';
import { type AppAccount, executionPolicy, taskTrustPolicy } from '../iam/app-roles.js';
import type { Manifest } from '../manifest/types.js';
import { appNames } from '../names.js';
import { ensureLogGroup } from '../aws/logs.js';
import type { Store } from '../aws/store.js';
import { logGroupName, type Rack } from '../rack.js';
import type { ImageResolver } from '../images/resolve.js';
import { newReleaseId, releaseTaskDefinitions } from './render.js';

export { newReleaseId } from './render.js';
import { Superseded } from '../errors.js';
import { newerWaiting } from '../queue/decide.js';
import type { DeployState } from './state.js';

export interface ReleaseDeps {
  ecs: ECSClient;
  logs: CloudWatchLogsClient;
  iam: IAMClient;
  /** pins every image by digest */
  images: ImageResolver;
  store: Store;
  rack: Rack;
  accountId: string;
  /** aws, aws-cn, aws-us-gov: the partition of the ARNs Release builds */
  partition: string;
  /** the rack's permissions boundary for app roles (serverless.yml AppBoundary) */
  boundaryArn: string;
  now: () => number;
}

/** What both the release being deployed and the one it may roll back to need, in one manifest. */
function unionManifest(manifests: Array<Manifest | undefined>): Manifest {
  const present = manifests.filter((m): m is Manifest => !!m);
  return {
    services: present.flatMap((m) => m.services),
    policies: [...new Set(present.flatMap((m) => m.policies ?? []))],
    kms: [...new Set(present.flatMap((m) => m.kms ?? []))],
  };
}

/**
 * The app's execution and task roles (created on its first deploy), with policies that cover this
 * release and the current one: a rollback to the current release must still find its secrets and
 * images readable. The next successful deploy narrows them to what it runs and what it replaced.
 */
export async function ensureAppRoles(deps: ReleaseDeps, app: string, manifests: Array<Manifest | undefined>): Promise<{ executionRoleArn: string; taskRoleArn: string }> {
  const where: AppAccount = { partition: deps.partition, account: deps.accountId, region: deps.rack.region };
  const names = appNames(deps.rack, app);
  const needs = unionManifest(manifests);
  const role = (name: string, what: string) => ({
    name,
    path: names.rolePath,
    rack: deps.rack.name,
    app,
    boundaryArn: deps.boundaryArn,
    trust: taskTrustPolicy(where),
    description: `${what} of app ${app} on rack ${deps.rack.name}`,
  });
  const executionRoleArn = await ensureRole(deps.iam, role(names.executionRole, 'ECS task execution role'));
  await putInlinePolicy(deps.iam, names.executionRole, 'app', executionPolicy(deps.rack, app, where, needs));
  const taskRoleArn = await ensureRole(deps.iam, role(names.taskRole, 'ECS task role'));
  await syncAttachedPolicies(deps.iam, names.taskRole, needs.policies ?? []);
  return { executionRoleArn, taskRoleArn };
}

/** Release: one task definition per service (or the redeployed release's), and the release record. */
export async function release(state: DeployState, deps: ReleaseDeps): Promise<DeployState> {
  // the build took minutes: a newer tarball that arrived meanwhile wins before any ECS change
  const newer = newerWaiting(await deps.store.listQueue(state.app), state);
  if (newer) {
    throw new Superseded('SUPERSEDED', `a newer deploy (${newer.key ?? newer.execution}) arrived during the build; this one was not released`, { app: state.app });
  }
  const manifest = state.manifest!;
  const build = state.build!;
  const app = await deps.store.getApp(state.app);
  const current = state.previous ? await deps.store.getRelease(state.app, state.previous.id) : undefined;
  const roles = await ensureAppRoles(deps, state.app, [manifest, current?.manifest]);
  const allocated = await deps.store.allocateRelease(state.app, state.execution, () => newReleaseId(deps.now()));
  let taskDefinitions: Record<string, string>;
  let images = build.images;
  let basedOn: string | undefined;
  if (state.redeployRelease && state.trigger !== 'config') {
    // promoting release N runs N's task definitions: same images, same environment
    const base = await deps.store.getRelease(state.app, state.redeployRelease);
    taskDefinitions = base!.taskDefinitions;
    basedOn = base!.id;
  } else {
    // a config change re-registers the current release's images with the app's new environment
    basedOn = state.redeployRelease;
    // every image by digest: what the build pushed (its tag is immutable too), what Prepare pinned
    images = {};
    for (const [service, image] of Object.entries(build.images)) images[service] = await deps.images.pin(image);
    const logGroup = logGroupName(deps.rack, state.app);
    const logGroupArn = `arn:${deps.partition}:logs:${deps.rack.region}:${deps.accountId}:log-group:${logGroup}`;
    await ensureLogGroup(deps.logs, { name: logGroup, arn: logGroupArn, rack: deps.rack.name, app: state.app });
    const inputs = releaseTaskDefinitions({
      rack: deps.rack,
      app: state.app,
      manifest,
      images,
      releaseId: allocated.id,
      where: { partition: deps.partition, account: deps.accountId, region: deps.rack.region },
      appConfig: app?.config ?? {},
    });
    taskDefinitions = {};
    for (const service of manifest.services) {
      const input = { ...inputs[service.name]!, executionRoleArn: roles.executionRoleArn, taskRoleArn: roles.taskRoleArn };
      const res = await deps.ecs.send(new RegisterTaskDefinitionCommand(input));
      taskDefinitions[service.name] = res.taskDefinition!.taskDefinitionArn!;
    }
  }
  await deps.store.putRelease({
    id: allocated.id,
    number: allocated.number,
    app: state.app,
    status: 'pending',
    createdAt: new Date(deps.now()).toISOString(),
    execution: state.execution,
    trigger: state.trigger,
    manifest,
    taskDefinitions,
    images,
    ...(build.id ? { buildId: build.id } : {}),
    ...(state.source ? { source: state.source } : {}),
    ...(state.previous ? { previousReleaseId: state.previous.id } : {}),
    ...(basedOn ? { basedOn } : {}),
    ...(state.stripComponents !== undefined ? { stripComponents: state.stripComponents } : {}),
  });
  if (build.result && build.id) {
    await deps.store.updateBuild(state.app, build.id, { status: 'succeeded', codebuildId: build.result.id, ...(build.result.logs ? { logs: build.result.logs } : {}) });
  }
  return {
    ...state,
    release: { id: allocated.id, number: allocated.number, taskDefinitions, images, ...(build.id ? { buildId: build.id } : {}) },
  };
}
