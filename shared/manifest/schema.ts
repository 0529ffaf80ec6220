import { z } from 'zod';
import { ALB_HEALTH, ENV_NAME, SERVICE_NAME, TASK_CPU, TASK_MEMORY } from './limits.js';

/**
 * The shape of rackless.yml as written (before defaults), in zod. Ranges are the AWS limits, so a
 * manifest that passes here is one ECS and ELB accept. A custom issue carries its error code in
 * `params.code`; the parser maps everything else (wrong type, unknown key) to a code by kind.
 */

// the limits live apart so the task definition renderer can use them without bundling the validator
export { ALB_HEALTH, CONTAINER_HEALTH, ENV_NAME, SERVICE_NAME, TASK_CPU, TASK_MEMORY } from './limits.js';

/** Renders a rejected value for a message: `"lots"`, `3`, `a list`, `a map`, `nothing`. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return JSON.stringify(value);
}

/** An integer in [min, max]; every failure (type or range) says the same thing, with `code` on range misses. */
function intBetween(min: number, max: number, rangeCode = 'MANIFEST_TYPE') {
  const expected = `expected an integer between ${min} and ${max}`;
  return z
    .int({ error: (issue) => `${expected}, got ${describeValue(issue.input)}` })
    .refine((n) => n >= min && n <= max, {
      error: (issue) => `${expected}, got ${describeValue(issue.input)}`,
      params: { code: rangeCode },
    });
}

const text = (what: string) =>
  z.string({ error: (issue) => `expected ${what}, got ${describeValue(issue.input)}` });

/** `K=V` or bare `K` (value from app config); RACKLESS_* names are set by the rack itself. */
const environmentEntry = text('"NAME=value" or a bare NAME').refine(
  (entry) => ENV_NAME.test(entry.split('=', 1)[0]!) && !entry.startsWith('RACKLESS_'),
  {
    error: (issue) =>
      `expected "NAME=value" or a bare NAME (letters, digits, _; not starting with a digit or RACKLESS_), got ${describeValue(issue.input)}`,
    params: { code: 'MANIFEST_ENV' },
  },
);

const environment = z
  .array(environmentEntry, { error: (issue) => `expected a list of "NAME=value" or NAME, got ${describeValue(issue.input)}` })
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    entries.forEach((entry, index) => {
      const name = entry.split('=', 1)[0]!;
      if (seen.has(name)) {
        ctx.addIssue({ code: 'custom', path: [index], message: `${name} is set twice in this list`, params: { code: 'MANIFEST_ENV' } });
      }
      seen.add(name);
    });
  });

/** Like a string, or a map with `error` naming both accepted forms. */
const strictMap = <T extends z.core.$ZodLooseShape>(shape: T, forms: string) =>
  z.strictObject(shape, {
    error: (issue) => (issue.code === 'invalid_type' ? `expected ${forms}, got ${describeValue(issue.input)}` : undefined),
  });

const build = z.preprocess(
  (value) => (typeof value === 'string' ? { path: value } : value),
  strictMap(
    { path: text('a directory').default('.'), manifest: text('a Dockerfile name relative to path').default('Dockerfile') },
    'a directory or a map with path and manifest',
  ),
);

const command = z.preprocess(
  (value) => (typeof value === 'string' ? ['sh', '-c', value] : value),
  z
    .array(text('a string'), { error: (issue) => `expected a string or a list of strings, got ${describeValue(issue.input)}` })
    .refine((words) => words.length > 0 && words.at(-1) !== '', { error: 'expected a non-empty command' }),
);

const domain = z.preprocess(
  (value) => (typeof value === 'string' ? [value] : value),
  z.array(text('a host name'), { error: (issue) => `expected a host name or a list of them, got ${describeValue(issue.input)}` }),
);

const healthCommand = z.preprocess(
  // ECS wants CMD/CMD-SHELL first: a string runs in the shell, a bare list is exec form
  (value) =>
    typeof value === 'string'
      ? ['CMD-SHELL', value]
      : Array.isArray(value) && value[0] !== 'CMD' && value[0] !== 'CMD-SHELL'
        ? ['CMD', ...(value as unknown[])]
        : value,
  z
    .array(text('a string'), { error: (issue) => `expected a string or a list of strings, got ${describeValue(issue.input)}` })
    .refine((words) => words.length > 1 && words.slice(1).some((word) => word !== ''), { error: 'expected a non-empty command' }),
);

const health = z.preprocess(
  (value) => (typeof value === 'string' ? { path: value } : value),
  strictMap(
    {
      path: text('an HTTP path').optional(),
      interval: intBetween(ALB_HEALTH.interval[0], ALB_HEALTH.interval[1], 'MANIFEST_HEALTH').optional(),
      timeout: intBetween(ALB_HEALTH.timeout[0], ALB_HEALTH.timeout[1], 'MANIFEST_HEALTH').optional(),
      grace: intBetween(0, 2_147_483_647, 'MANIFEST_HEALTH').optional(),
      healthy: intBetween(ALB_HEALTH.threshold[0], ALB_HEALTH.threshold[1], 'MANIFEST_HEALTH').optional(),
      unhealthy: intBetween(ALB_HEALTH.threshold[0], ALB_HEALTH.threshold[1], 'MANIFEST_HEALTH').optional(),
      // YAML reads `codes: 200` as a number; the ALB matcher is a string
      codes: z.preprocess((v) => (typeof v === 'number' ? String(v) : v), text('a matcher like "200-399"')).optional(),
      command: healthCommand.optional(),
    },
    'an HTTP path or a map with path, interval, timeout, grace, healthy, unhealthy, codes, command',
  ),
);

const scale = strictMap(
  {
    count: intBetween(0, 1000).optional(),
    cpu: intBetween(TASK_CPU.min, TASK_CPU.max, 'MANIFEST_CPU_MEMORY').optional(),
    memory: intBetween(TASK_MEMORY.min, TASK_MEMORY.max, 'MANIFEST_CPU_MEMORY').optional(),
  },
  'a map with count, cpu, memory',
);

// ECS rolling update: minimumHealthyPercent 0–100 and maximumPercent 100–200 (Convox's bounds);
// the cross-check max > min lives in the parser.
const deployment = strictMap(
  { minimum: intBetween(0, 100).optional(), maximum: intBetween(100, 200).optional() },
  'a map with minimum, maximum',
);

const alarms = strictMap(
  {
    cpu: intBetween(1, 100).optional(),
    memory: intBetween(1, 100).optional(),
    http5xx: intBetween(1, 1_000_000).optional(),
    unhealthy: intBetween(1, 1000).optional(),
  },
  'a map with cpu, memory, http5xx, unhealthy',
);

const secrets = z.record(
  z.string().refine((name) => ENV_NAME.test(name) && !name.startsWith('RACKLESS_'), {
    error: 'expected an environment variable name (letters, digits, _; not starting with a digit or RACKLESS_)',
    params: { code: 'MANIFEST_SECRET' },
  }),
  text('an SSM parameter name or an SSM/Secrets Manager ARN'),
  { error: (issue) => `expected a map of NAME: /ssm/parameter/name, got ${describeValue(issue.input)}` },
);

export const serviceSchema = strictMap(
  {
    build: build.optional(),
    image: text('an image reference').optional(),
    command: command.optional(),
    port: intBetween(1, 65535, 'MANIFEST_PORT').optional(),
    domain: domain.optional(),
    health: health.optional(),
    scale: scale.optional(),
    deployment: deployment.optional(),
    environment: environment.optional(),
    secrets: secrets.optional(),
    deregistrationDelay: intBetween(0, 3600).optional(),
    alarms: alarms.optional(),
  },
  'a map of service settings',
);

export const manifestSchema = strictMap(
  {
    environment: environment.optional(),
    services: z.record(
      z.string().regex(SERVICE_NAME),
      serviceSchema,
      { error: (issue) => `expected a map of service name → settings, got ${describeValue(issue.input)}` },
    ),
  },
  'a map with environment and services',
);

export type RawManifest = z.output<typeof manifestSchema>;
export type RawService = z.output<typeof serviceSchema>;

/** Keys allowed at each manifest level, for "did you mean" hints on unknown keys. */
export function allowedKeys(path: ReadonlyArray<PropertyKey>): string[] {
  const levels: Record<string, string[]> = {
    '': ['environment', 'services'],
    service: Object.keys(serviceSchema.shape),
    build: ['path', 'manifest'],
    health: ['path', 'interval', 'timeout', 'grace', 'healthy', 'unhealthy', 'codes', 'command'],
    scale: ['count', 'cpu', 'memory'],
    deployment: ['minimum', 'maximum'],
    alarms: ['cpu', 'memory', 'http5xx', 'unhealthy'],
  };
  if (path.length === 0) return levels['']!;
  if (path.length === 2 && path[0] === 'services') return levels.service!;
  return levels[String(path.at(-1))] ?? [];
}
