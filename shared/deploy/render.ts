import { randomBytes } from 'node:crypto';
import type { RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import { type AppAccount, appRoleArns } from '../iam/app-roles.js';
import type { Manifest } from '../manifest/types.js';
import { appNames } from '../names.js';
import type { Rack } from '../rack.js';
import { taskDefinitionInput } from '../taskdef/task-definition.js';

/**
 * Every task definition of a release, rendered one way for both its users: Release registers these,
 * and Prepare measures them (with placeholders of the same length for what only later steps know:
 * the release id and the pushed images' digests) against ECS's size limit before any change.
 */
export function releaseTaskDefinitions(args: {
  rack: Rack;
  app: string;
  manifest: Manifest;
  /** service → pinned image */
  images: Record<string, string>;
  releaseId: string;
  where: AppAccount;
  appConfig: Record<string, string>;
}): Record<string, RegisterTaskDefinitionCommandInput> {
  const roles = appRoleArns(args.rack, args.app, args.where);
  const logGroup = appNames(args.rack, args.app).logGroup;
  return Object.fromEntries(
    args.manifest.services.map((service) => [
      service.name,
      taskDefinitionInput({
        rack: args.rack.name,
        app: args.app,
        service,
        image: args.images[service.name]!,
        releaseId: args.releaseId,
        region: args.where.region,
        accountId: args.where.account,
        logGroup,
        executionRoleArn: roles.executionRoleArn,
        taskRoleArn: roles.taskRoleArn,
        appConfig: args.appConfig,
      }),
    ]),
  );
}

/** ECS: "Task definition size" 64 KiB (Amazon ECS Developer Guide, "Amazon ECS service quotas"). */
export const TASK_DEFINITION_MAX_BYTES = 64 * 1024;

/** Bytes of the RegisterTaskDefinition request as ECS receives it (JSON, UTF-8). */
export function taskDefinitionBytes(input: RegisterTaskDefinitionCommandInput): number {
  return Buffer.byteLength(JSON.stringify(input), 'utf8');
}

/** The largest environment among the task definition's containers, in UTF-8 bytes of `NAME=value` as the process sees it. */
export function environmentBytes(input: RegisterTaskDefinitionCommandInput): number {
  const sizes = (input.containerDefinitions ?? []).map((container) =>
    (container.environment ?? []).reduce((sum, { name, value }) => sum + Buffer.byteLength(`${name ?? ''}=${value ?? ''}`, 'utf8'), 0),
  );
  return Math.max(0, ...sizes);
}

/** Release ids sort by creation time (base-36 milliseconds), with a random tail: `R0MFQ3K2ZB7Q`. */
export function newReleaseId(now = Date.now()): string {
  const time = now.toString(36).toUpperCase().padStart(9, '0');
  const tail = Array.from(randomBytes(3), (b) => (b % 36).toString(36))
    .join('')
    .toUpperCase();
  return `R${time}${tail}`;
}
