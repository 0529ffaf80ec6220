import * as v from 'valibot';
import { NAME_RULES } from '../names.js';
import { ALB_HEALTH, DEREGISTRATION_DELAY, ENV_NAME, SERVICE_NAME, STOP_TIMEOUT, TASK_CPU, TASK_MEMORY } from './limits.js';

/**
 * The shape of rackless.yml as written (before defaults), in valibot. Ranges are the AWS limits, so a
 * manifest that passes here is one ECS and ELB accept. A check wrapped in `coded` tags its issues with
 * an error code (read back with `issueCode`); the parser maps everything else (wrong type, unknown key)
 * to a code by kind.
 */

// the limits live apart so the task definition renderer can use them without bundling the validator
export { ALB_HEALTH, CONTAINER_HEALTH, DEREGISTRATION_DELAY, ENV_NAME, SERVICE_NAME, STOP_TIMEOUT, TASK_CPU, TASK_MEMORY } from './limits.js';

/** Renders a rejected value for a message: `"lots"`, `3`, `a list`, `a map`, `nothing`. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return JSON.stringify(value);
}

type Issue = v.BaseIssue<unknown>;

/** `expected …, got <the rejected value>` */
const got = (expected: string) => (issue: Issue) => `${expected}, got ${describeValue(issue.input)}`;

// valibot issues have no field for our code, so the issue objects a coded check raised are remembered here
const issueCodes = new WeakMap<Issue, string>();

/** The error code a `coded` check gave this issue, if any. */
export function issueCode(issue: Issue): string | undefined {
  return issueCodes.get(issue);
}

/** Tags every issue `action` raises with `code`. */
// biome-ignore lint/suspicious/noExplicitAny: any input and output: the wrapper only forwards them
function coded<T extends v.BaseValidation<any, any, Issue>>(code: string, action: T): T {
  return {
    ...action,
    '~run'(dataset, config) {
      const before = dataset.issues?.length ?? 0;
      const result = action['~run'](dataset, config);
      for (const issue of result.issues?.slice(before) ?? []) issueCodes.set(issue, code);
      return result;
    },
    // biome-ignore lint/suspicious/noExplicitAny: as above
  } satisfies v.BaseValidation<any, any, Issue> as T;
}

/** Runs `prepare` on the raw value, then validates what it returns. */
const preprocess = <S extends v.GenericSchema>(prepare: (value: unknown) => unknown, schema: S) => v.pipe(v.unknown(), v.transform(prepare), schema);

/** An integer in [min, max]; every failure (type or range) says the same thing, with `code` on range misses. */
function intBetween(min: number, max: number, rangeCode = 'MANIFEST_TYPE') {
  const message = got(`expected an integer between ${min} and ${max}`);
  return v.pipe(
    // a type check, not number() + integer(): a fraction stops here instead of also missing the range
    v.custom<number>(Number.isSafeInteger, message),
    coded(
      rangeCode,
      v.check((n: number) => n >= min && n <= max, message),
    ),
  );
}

const text = (what: string) => v.string(got(`expected ${what}`));

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A map with exactly these keys; anything else fails with `forms` naming both accepted forms. */
const strictMap = <const T extends v.ObjectEntries>(entries: T, forms: string) => {
  const message = got(`expected ${forms}`);
  // valibot's objects take a list as a map of its indexes; the manifest means a YAML map
  return v.pipe(v.custom<Record<string, unknown>>(isMap, message), v.strictObject(entries, message));
};

/** A map of any keys; the entries go through a Map because valibot's record skips "constructor" and "prototype". */
const mapOf = <K extends v.GenericSchema<string, string>, V extends v.GenericSchema>(key: K, value: V, forms: string) => {
  const message = got(`expected ${forms}`);
  return v.pipe(
    v.custom<Record<string, unknown>>(isMap, message),
    v.transform((input) => new Map(Object.entries(input))),
    v.map(key, value, message),
    v.transform((entries) => Object.fromEntries(entries) as Record<v.InferOutput<K>, v.InferOutput<V>>),
  );
};

/** `K=V` or bare `K` (value from app config); RACKLESS_* names are set by the rack itself. */
const environmentEntry = v.pipe(
  text('"NAME=value" or a bare NAME'),
  coded(
    'MANIFEST_ENV',
    v.check(
      (entry: string) => ENV_NAME.test(entry.split('=', 1)[0]!) && !entry.startsWith('RACKLESS_'),
      got('expected "NAME=value" or a bare NAME (letters, digits, _; not starting with a digit or RACKLESS_)'),
    ),
  ),
);

const environment = v.pipe(
  v.array(environmentEntry, got('expected a list of "NAME=value" or NAME')),
  coded(
    'MANIFEST_ENV',
    v.rawCheck<string[]>(({ dataset, addIssue }) => {
      // a pipe runs its checks after a failed entry too; names are only comparable once every entry is text
      if (!dataset.typed) return;
      const seen = new Set<string>();
      dataset.value.forEach((entry, index) => {
        const name = entry.split('=', 1)[0]!;
        if (seen.has(name)) {
          addIssue({
            message: `${name} is set twice in this list`,
            path: [{ type: 'array', origin: 'value', input: dataset.value, key: index, value: entry }],
          });
        }
        seen.add(name);
      });
    }),
  ),
);

const build = preprocess(
  (value) => (typeof value === 'string' ? { path: value } : value),
  strictMap(
    {
      path: v.optional(text('a directory'), '.'),
      manifest: v.optional(text('a Dockerfile name relative to path'), 'Dockerfile'),
    },
    'a directory or a map with path and manifest',
  ),
);

const command = preprocess(
  (value) => (typeof value === 'string' ? ['sh', '-c', value] : value),
  v.pipe(
    v.array(text('a string'), got('expected a string or a list of strings')),
    v.check((words) => words.length > 0 && words.at(-1) !== '', 'expected a non-empty command'),
  ),
);

const domain = preprocess((value) => (typeof value === 'string' ? [value] : value), v.array(text('a host name'), got('expected a host name or a list of them')));

const healthCommand = preprocess(
  // ECS wants CMD/CMD-SHELL first: a string runs in the shell, a bare list is exec form
  (value) => (typeof value === 'string' ? ['CMD-SHELL', value] : Array.isArray(value) && value[0] !== 'CMD' && value[0] !== 'CMD-SHELL' ? ['CMD', ...(value as unknown[])] : value),
  v.pipe(
    v.array(text('a string'), got('expected a string or a list of strings')),
    v.check((words) => words.length > 1 && words.slice(1).some((word) => word !== ''), 'expected a non-empty command'),
  ),
);

const health = preprocess(
  (value) => (typeof value === 'string' ? { path: value } : value),
  strictMap(
    {
      path: v.optional(text('an HTTP path')),
      interval: v.optional(intBetween(ALB_HEALTH.interval[0], ALB_HEALTH.interval[1], 'MANIFEST_HEALTH')),
      timeout: v.optional(intBetween(ALB_HEALTH.timeout[0], ALB_HEALTH.timeout[1], 'MANIFEST_HEALTH')),
      grace: v.optional(intBetween(0, 2_147_483_647, 'MANIFEST_HEALTH')),
      healthy: v.optional(intBetween(ALB_HEALTH.threshold[0], ALB_HEALTH.threshold[1], 'MANIFEST_HEALTH')),
      unhealthy: v.optional(intBetween(ALB_HEALTH.threshold[0], ALB_HEALTH.threshold[1], 'MANIFEST_HEALTH')),
      // YAML reads `codes: 200` as a number; the ALB matcher is a string
      codes: v.optional(preprocess((value) => (typeof value === 'number' ? String(value) : value), text('a matcher like "200-399"'))),
      command: v.optional(healthCommand),
    },
    'an HTTP path or a map with path, interval, timeout, grace, healthy, unhealthy, codes, command',
  ),
);

const scale = strictMap(
  {
    count: v.optional(intBetween(0, 1000)),
    cpu: v.optional(intBetween(TASK_CPU.min, TASK_CPU.max, 'MANIFEST_CPU_MEMORY')),
    memory: v.optional(intBetween(TASK_MEMORY.min, TASK_MEMORY.max, 'MANIFEST_CPU_MEMORY')),
  },
  'a map with count, cpu, memory',
);

// ECS rolling update: minimumHealthyPercent 0–100 and maximumPercent 100–200 (Convox's bounds);
// the cross-check max > min lives in the parser.
const deployment = strictMap({ minimum: v.optional(intBetween(0, 100)), maximum: v.optional(intBetween(100, 200)) }, 'a map with minimum, maximum');

// Convox's `termination.grace`: the seconds a container has to exit after SIGTERM (ECS stopTimeout)
const termination = strictMap({ grace: v.optional(intBetween(STOP_TIMEOUT.min, STOP_TIMEOUT.max)) }, 'a map with grace');

const alarms = strictMap(
  {
    cpu: v.optional(intBetween(1, 100)),
    memory: v.optional(intBetween(1, 100)),
    http5xx: v.optional(intBetween(1, 1_000_000)),
    unhealthy: v.optional(intBetween(1, 1000)),
  },
  'a map with cpu, memory, http5xx, unhealthy',
);

const secrets = mapOf(
  v.pipe(
    v.string(),
    coded(
      'MANIFEST_SECRET',
      v.check(
        (name: string) => ENV_NAME.test(name) && !name.startsWith('RACKLESS_'),
        'expected an environment variable name (letters, digits, _; not starting with a digit or RACKLESS_)',
      ),
    ),
  ),
  text('an SSM parameter name or an SSM/Secrets Manager ARN'),
  'a map of NAME: /ssm/parameter/name',
);

const arnList = preprocess((value) => (typeof value === 'string' ? [value] : value), v.array(text('an ARN'), got('expected an ARN or a list of them')));

const serviceEntries = {
  build: v.optional(build),
  image: v.optional(text('an image reference')),
  command: v.optional(command),
  port: v.optional(intBetween(1, 65535, 'MANIFEST_PORT')),
  domain: v.optional(domain),
  health: v.optional(health),
  scale: v.optional(scale),
  deployment: v.optional(deployment),
  environment: v.optional(environment),
  secrets: v.optional(secrets),
  deregistrationDelay: v.optional(intBetween(DEREGISTRATION_DELAY.min, DEREGISTRATION_DELAY.max)),
  termination: v.optional(termination),
  alarms: v.optional(alarms),
  // Convox's per-service policies; they all go on the app's one task role
  policies: v.optional(arnList),
};

export const serviceSchema = strictMap(serviceEntries, 'a map of service settings');

const serviceName = v.pipe(v.string(), coded('MANIFEST_SERVICE_NAME', v.regex(SERVICE_NAME, `service names are 1–30 characters: ${NAME_RULES}`)));

export const manifestSchema = strictMap(
  {
    environment: v.optional(environment),
    services: mapOf(serviceName, serviceSchema, 'a map of service name → settings'),
    policies: v.optional(arnList),
    kms: v.optional(arnList),
  },
  'a map with environment, services, policies and kms',
);

export type RawManifest = v.InferOutput<typeof manifestSchema>;
export type RawService = v.InferOutput<typeof serviceSchema>;

/** Keys allowed at each manifest level, for "did you mean" hints on unknown keys. */
export function allowedKeys(path: ReadonlyArray<PropertyKey>): string[] {
  const levels: Record<string, string[]> = {
    '': ['environment', 'services', 'policies', 'kms'],
    service: Object.keys(serviceEntries),
    build: ['path', 'manifest'],
    health: ['path', 'interval', 'timeout', 'grace', 'healthy', 'unhealthy', 'codes', 'command'],
    scale: ['count', 'cpu', 'memory'],
    deployment: ['minimum', 'maximum'],
    termination: ['grace'],
    alarms: ['cpu', 'memory', 'http5xx', 'unhealthy'],
  };
  if (path.length === 0) return levels['']!;
  if (path.length === 2 && path[0] === 'services') return levels.service!;
  return levels[String(path.at(-1))] ?? [];
}
