import { ownerTags, serviceNames } from '../names.js';
import type { ContainerDefinition, KeyValuePair, RegisterTaskDefinitionCommandInput, Secret } from '@aws-sdk/client-ecs';
import { ManifestInvalid } from '../errors.js';
import { parseSecretReference } from './secret-reference.js';
import { CONTAINER_HEALTH } from '../manifest/limits.js';
import type { ServiceSpec } from '../manifest/types.js';

export interface TaskDefinitionArgs {
  rack: string;
  app: string;
  service: ServiceSpec;
  /** the image to run: the release's built image, or the manifest's `image` */
  image: string;
  releaseId: string;
  region: string;
  accountId: string;
  /** e.g. /rackless/<rack>/<app> */
  logGroup: string;
  executionRoleArn: string;
  taskRoleArn?: string;
  /** values for bare environment names in the manifest */
  appConfig: Record<string, string>;
}

// ECS RegisterTaskDefinition `family`: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens"
const FAMILY = /^[A-Za-z0-9_-]{1,255}$/;

/** `<rack>--<app>--<service>` (shared/names.ts); throws when ECS would refuse it as a family name. */
export function taskDefinitionFamily(rack: string, app: string, service: string): string {
  const family = serviceNames({ name: rack }, app, service).family;
  if (!FAMILY.test(family)) {
    throw new ManifestInvalid(
      'TASK_FAMILY_INVALID',
      `task definition family "${family}" must be 1–255 letters, digits, "_" or "-" (rack ${rack}, app ${app}, service ${service})`,
      { family },
    );
  }
  return family;
}

/** The ARN partition of a region: secrets in China or GovCloud live under their own partition. */
function partition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

/** An SSM name becomes its parameter ARN ("/a/b" → …:parameter/a/b, "b" → …:parameter/b); ARNs pass through. */
export function secretValueFrom(reference: string, region: string, accountId: string): string {
  if (reference.startsWith('arn:')) return reference;
  return `arn:${partition(region)}:ssm:${region}:${accountId}:parameter/${reference.replace(/^\/+/, '')}`;
}

const byName = <T extends { name?: string | undefined }>(a: T, b: T): number => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : 0);

/** Bare names whose app config value is an SSM reference (`env set --secret`): env name → parameter. */
function appSecrets(args: TaskDefinitionArgs): Map<string, string> {
  const found = new Map<string, string>();
  for (const entry of args.service.environment) {
    const value = entry.includes('=') ? undefined : args.appConfig[entry];
    const parameter = value === undefined ? undefined : parseSecretReference(value);
    if (parameter) found.set(entry, parameter);
  }
  return found;
}

function containerEnvironment(args: TaskDefinitionArgs): KeyValuePair[] {
  const { service } = args;
  const values = new Map<string, string>();
  const missing: string[] = [];
  const secret = appSecrets(args);
  for (const entry of service.environment) {
    const eq = entry.indexOf('=');
    if (eq !== -1) {
      values.set(entry.slice(0, eq), entry.slice(eq + 1));
      continue;
    }
    if (secret.has(entry)) continue;
    const value = args.appConfig[entry];
    if (value === undefined) missing.push(entry);
    else values.set(entry, value);
  }
  if (missing.length > 0) {
    throw new ManifestInvalid(
      'ENV_MISSING',
      `services.${service.name}.environment: ${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no value in the config of app ${args.app}`,
      { path: `services.${service.name}.environment`, missing },
    );
  }
  // Convox sets PORT to the container port; an explicit PORT in the manifest wins
  if (service.port !== undefined && !values.has('PORT')) values.set('PORT', String(service.port));
  // the rack's own names always win: they identify the task in logs and events
  values.set('RACKLESS_APP', args.app);
  values.set('RACKLESS_SERVICE', service.name);
  values.set('RACKLESS_RELEASE', args.releaseId);
  return [...values].map(([name, value]) => ({ name, value })).sort(byName);
}

function containerSecrets(args: TaskDefinitionArgs): Secret[] {
  // the manifest's secrets first; an app-level secret of the same name is the same parameter or loses
  const references = new Map([...appSecrets(args), ...Object.entries(args.service.secrets)]);
  return [...references].map(([name, reference]) => ({ name, valueFrom: secretValueFrom(reference, args.region, args.accountId) })).sort(byName);
}

/**
 * RegisterTaskDefinition input for one service of a release: one essential container named after
 * the service, bridge networking with dynamic host ports behind the ALB, task-level cpu/memory on the
 * EC2 launch type. Same arguments → same JSON, so a dry run can diff it against the live revision.
 */
export function taskDefinitionInput(args: TaskDefinitionArgs): RegisterTaskDefinitionCommandInput {
  const { service } = args;
  const family = taskDefinitionFamily(args.rack, args.app, service.name);
  const secrets = containerSecrets(args);
  const container: ContainerDefinition = {
    name: service.name,
    image: args.image,
    essential: true,
    ...(service.command ? { command: [...service.command] } : {}),
    // reserve the whole task memory: the scheduler then places by what the task really holds
    memoryReservation: service.scale.memory,
    // SIGTERM → SIGKILL; a release recorded before the manifest had termination.grace keeps ECS's own default
    ...(service.stopTimeout !== undefined ? { stopTimeout: service.stopTimeout } : {}),
    ...(service.port !== undefined ? { portMappings: [{ containerPort: service.port, hostPort: 0, protocol: 'tcp' }] } : {}),
    environment: containerEnvironment(args),
    ...(secrets.length > 0 ? { secrets } : {}),
    logConfiguration: {
      logDriver: 'awslogs',
      options: {
        'awslogs-group': args.logGroup,
        'awslogs-region': args.region,
        'awslogs-stream-prefix': service.name,
      },
    },
    ...(service.health.command
      ? {
          healthCheck: {
            command: [...service.health.command],
            interval: service.health.interval,
            timeout: service.health.timeout,
            retries: service.health.unhealthy,
            // the service's healthCheckGracePeriodSeconds covers any grace beyond ECS's 300 s cap
            startPeriod: Math.min(service.health.grace, CONTAINER_HEALTH.startPeriod),
          },
        }
      : {}),
  };
  const tags = { ...ownerTags(args.rack, args.app, service.name), 'rackless:release': args.releaseId };
  return {
    family,
    ...(args.taskRoleArn ? { taskRoleArn: args.taskRoleArn } : {}),
    executionRoleArn: args.executionRoleArn,
    networkMode: 'bridge',
    containerDefinitions: [container],
    requiresCompatibilities: ['EC2'],
    cpu: String(service.scale.cpu),
    memory: String(service.scale.memory),
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
  };
}
