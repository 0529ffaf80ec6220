import { randomBytes } from 'node:crypto';
import { RegisterTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ensureLogGroup } from '../aws/logs.js';
import type { Store } from '../aws/store.js';
import { logGroupName, type Rack } from '../rack.js';
import { taskDefinitionInput } from '../taskdef/task-definition.js';
import { Superseded } from '../errors.js';
import { newerWaiting } from '../queue/decide.js';
import type { DeployState } from './state.js';

export interface ReleaseDeps {
  ecs: ECSClient;
  logs: CloudWatchLogsClient;
  store: Store;
  rack: Rack;
  accountId: string;
  /** aws, aws-cn, aws-us-gov: the partition of the ARNs Release builds */
  partition: string;
  executionRoleArn: string;
  taskRoleArn?: string;
  now: () => number;
}

/** Release ids sort by creation time (base-36 milliseconds), with a random tail: `R0MFQ3K2ZB7Q`. */
export function newReleaseId(now = Date.now()): string {
  const time = now.toString(36).toUpperCase().padStart(9, '0');
  const tail = Array.from(randomBytes(3), (b) => (b % 36).toString(36))
    .join('')
    .toUpperCase();
  return `R${time}${tail}`;
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
  const allocated = await deps.store.allocateRelease(state.app, state.execution, () => newReleaseId(deps.now()));
  let taskDefinitions: Record<string, string>;
  let basedOn: string | undefined;
  if (state.redeployRelease && state.trigger !== 'config') {
    // promoting release N runs N's task definitions: same images, same environment
    const base = await deps.store.getRelease(state.app, state.redeployRelease);
    taskDefinitions = base!.taskDefinitions;
    basedOn = base!.id;
  } else {
    // a config change re-registers the current release's images with the app's new environment
    basedOn = state.redeployRelease;
    const logGroup = logGroupName(deps.rack, state.app);
    const logGroupArn = `arn:${deps.partition}:logs:${deps.rack.region}:${deps.accountId}:log-group:${logGroup}`;
    await ensureLogGroup(deps.logs, { name: logGroup, arn: logGroupArn, rack: deps.rack.name, app: state.app });
    taskDefinitions = {};
    for (const service of manifest.services) {
      const input = taskDefinitionInput({
        rack: deps.rack.name,
        app: state.app,
        service,
        image: build.images[service.name]!,
        releaseId: allocated.id,
        region: deps.rack.region,
        accountId: deps.accountId,
        logGroup,
        executionRoleArn: deps.executionRoleArn,
        ...(deps.taskRoleArn ? { taskRoleArn: deps.taskRoleArn } : {}),
        appConfig: app?.config ?? {},
      });
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
    images: build.images,
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
    release: { id: allocated.id, number: allocated.number, taskDefinitions, images: build.images, ...(build.id ? { buildId: build.id } : {}) },
  };
}
