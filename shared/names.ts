import { createHash } from 'node:crypto';
import { ManifestInvalid } from './errors.js';

/**
 * Every AWS name Rackless makes for an app and its services, from one function, so two apps can
 * never share one. Parts are joined by `--`, which no app or service name may hold (nor end in `-`),
 * so a name splits back into its parts one way only: `<rack>--<app>--<service>`.
 *
 * Where AWS allows fewer characters than the parts need (a target group's 32, a role's 64), the name
 * is a readable prefix and a hash of the full tuple (60 bits): collision-resistant rather than
 * injective, and every mutating step still refuses a resource tagged for another app.
 *
 * AWS limits, from the API references: ECS service name and task definition family "up to 255
 * letters (uppercase and lowercase), numbers, underscores, and hyphens"; ELBv2 target group name "a
 * maximum of 32 characters, must contain only alphanumeric characters or hyphens, and must not begin
 * or end with a hyphen"; CloudWatch AlarmName 1–255; IAM role name 64 characters of [\w+=,.@-];
 * ECR repository name 2–256 of lowercase letters, digits and ._-/ ; log group name 1–512.
 */

/** App names: 2–30 of a–z 0–9 and single hyphens, a letter first, not ending in a hyphen (a DNS label: <service>.<app>.<domain>). */
export const APP_NAME = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,29}$/;
/** Service names: the same rules, 1–30 characters. */
export const SERVICE_NAME = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,29}$/;
export const NAME_RULES = 'a lowercase letter first, then lowercase letters, digits and single hyphens, not ending in a hyphen';

const SEPARATOR = '--';

export interface RackNaming {
  /** the rack (stack) name, `rackless-<stage>` */
  name: string;
  /** prefix of the apps' ECR repositories */
  ecrPrefix: string;
  /** prefix of the apps' log groups */
  logGroupPrefix: string;
}

/** base32 (RFC 4648 alphabet, lowercase) of a SHA-256 digest, `length` characters: 5 bits each. */
export function shortHash(text: string, length = 12): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const digest = createHash('sha256').update(text).digest();
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= length) break;
  }
  return out;
}

/** The name, or — when it is longer than `max` — its first characters, a hyphen and a hash of the whole. */
function fitted(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = shortHash(name);
  return `${name.slice(0, max - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

function checkPart(kind: 'app' | 'service', value: string): void {
  const pattern = kind === 'app' ? APP_NAME : SERVICE_NAME;
  if (!pattern.test(value)) {
    throw new ManifestInvalid('NAME_INVALID', `${kind} name "${value}" must be ${kind === 'app' ? '2' : '1'}–30 characters: ${NAME_RULES}`, { [kind]: value });
  }
}

export interface AppNames {
  /** ECR repository of the app's built images */
  repository: string;
  /** CloudWatch log group of the app's tasks */
  logGroup: string;
  /** SSM parameter path of the app's config secrets, with its trailing slash */
  parameterPath: string;
  /** IAM path of the app's roles (every app role of the rack lives under it) */
  rolePath: string;
  executionRole: string;
  taskRole: string;
}

export function appNames(rack: RackNaming, app: string): AppNames {
  checkPart('app', app);
  return {
    repository: `${rack.ecrPrefix}/${app}`,
    logGroup: `${rack.logGroupPrefix}/${app}`,
    parameterPath: parameterPath(rack, app),
    rolePath: rolePath(rack),
    executionRole: fitted(`${rack.name}${SEPARATOR}${app}${SEPARATOR}execution`, 64),
    taskRole: fitted(`${rack.name}${SEPARATOR}${app}${SEPARATOR}task`, 64),
  };
}

/** The SSM path of an app's parameters, with its trailing slash: its execution role reads only these. */
export function parameterPath(rack: Pick<RackNaming, 'name'>, app: string): string {
  checkPart('app', app);
  return `/rackless/${rack.name}/${app}/`;
}

/** The IAM path every app role of the rack lives under (the deploying function may create roles only there). */
export function rolePath(rack: Pick<RackNaming, 'name'>): string {
  return `/rackless/${rack.name}/`;
}

export interface ServiceNames {
  /** ECS service name */
  service: string;
  /** task definition family */
  family: string;
  /** ELBv2 target group name */
  targetGroup: string;
  /** awslogs stream prefix inside the app's log group */
  logStreamPrefix: string;
  /** CloudWatch alarm name of one metric (cpu, memory, unhealthy, 5xx) */
  alarm(metric: string): string;
}

export function serviceNames(rack: Pick<RackNaming, 'name'>, app: string, service: string): ServiceNames {
  checkPart('app', app);
  checkPart('service', service);
  const full = [rack.name, app, service].join(SEPARATOR);
  return {
    service: full,
    family: full,
    targetGroup: `${`${app}-${service}`.slice(0, 19).replace(/-+$/, '')}-${shortHash(full)}`,
    logStreamPrefix: service,
    alarm: (metric: string) => {
      if (!/^[a-z0-9]+$/.test(metric)) throw new ManifestInvalid('NAME_INVALID', `alarm metric "${metric}" must be lowercase letters and digits`, { metric });
      return `${full}${SEPARATOR}${metric}`;
    },
  };
}

/** The metrics a service has alarms for. */
export const ALARM_METRICS = ['cpu', 'memory', 'unhealthy', '5xx'] as const;

/** `<rack>--<app>--<service>` back into its parts; undefined for a name not of this rack (or of none, without a rack). */
export function parseServiceName(name: string, rack?: string): { rack: string; app: string; service: string } | undefined {
  const parts = name.split(SEPARATOR);
  if (parts.length < 3) return undefined;
  const service = parts.pop()!;
  const app = parts.pop()!;
  const owner = parts.join(SEPARATOR);
  if (rack !== undefined && owner !== rack) return undefined;
  if (!APP_NAME.test(app) || !SERVICE_NAME.test(service) || owner === '') return undefined;
  return { rack: owner, app, service };
}

/** `<rack>--<app>--<service>--<metric>` back into its parts. */
export function parseAlarmName(name: string, rack?: string): { rack: string; app: string; service: string; metric: string } | undefined {
  const at = name.lastIndexOf(SEPARATOR);
  if (at <= 0) return undefined;
  const metric = name.slice(at + SEPARATOR.length);
  const owner = parseServiceName(name.slice(0, at), rack);
  return owner && /^[a-z0-9]+$/.test(metric) ? { ...owner, metric } : undefined;
}

/** The tags every resource Rackless makes for an app (and a service) carries. */
export function ownerTags(rack: string, app: string, service?: string): Record<string, string> {
  return { 'rackless:rack': rack, 'rackless:app': app, ...(service ? { 'rackless:service': service } : {}) };
}

/**
 * Pure: why a resource's tags make it another app's (or rack's), or undefined when it is this app's
 * or untagged (a resource Rackless made before tags, adopted by name).
 */
export function foreignOwner(tags: Record<string, string | undefined>, rack: string, app: string): string | undefined {
  const taggedRack = tags['rackless:rack'];
  const taggedApp = tags['rackless:app'];
  if (taggedRack !== undefined && taggedRack !== rack) return `it belongs to rack ${taggedRack}`;
  if (taggedApp !== undefined && taggedApp !== app) return `it belongs to app ${taggedApp}`;
  return undefined;
}
