import { ConfigError } from './errors.js';

/**
 * The one place that reads environment variables. Each handler names what it needs at cold start;
 * a missing variable fails with its name rather than as an `undefined` deep inside a call.
 */
export const ENV_NAMES = {
  TABLE_NAME: 'DynamoDB table holding apps, builds, releases, locks and events',
  TOPIC_ARN: 'SNS topic for notifications',
  ALARM_TOPIC_ARN: 'internal SNS topic CloudWatch alarms publish to (rendered, then sent on to TOPIC_ARN)',
  SOURCE_BUCKET: 'bucket that receives apps/<app>/*.tar.gz',
  STATE_MACHINE_ARN: 'deploy state machine ARN',
  DRAIN_STATE_MACHINE_ARN: 'drain state machine ARN',
  RACK_NAME: 'rack (stack) name, prefix of task definition families',
  CLUSTER: 'ECS cluster name or ARN',
  LISTENER_ARN: 'shared ALB HTTP listener ARN',
  HTTPS_LISTENER_ARN: 'shared ALB HTTPS listener ARN (optional)',
  VPC_ID: 'VPC of the cluster and load balancer',
  RACK_DOMAIN: 'domain under which <service>.<app>.<domain> hosts are made',
  LOAD_BALANCER_DNS: 'DNS name of the shared ALB',
  CODEBUILD_PROJECT: 'CodeBuild project that builds images',
  EXECUTION_ROLE_ARN: 'ECS task execution role (pulls images, reads secrets, writes logs)',
  TASK_ROLE_ARN: 'ECS task role for app containers',
  ECR_PREFIX: 'prefix of per-app ECR repositories',
  LOG_GROUP_PREFIX: 'prefix of per-app CloudWatch log groups',
  DEREGISTRATION_DELAY: 'target group deregistration delay in seconds',
  WATCH_DEADLINE_SECONDS: 'hard deadline for a rollout',
  FAIL_FAST_STOPS: 'failed task starts before a deploy fails',
  ALARM_WINDOW_SECONDS: 'storm-suppression window for crash alarms',
  BASE_IMAGE_APPS: 'JSON map of ECR repository name → apps that build on it',
  DRAIN_MAX_SECONDS: 'longest an instance drain may take before CONTINUE with a warning',
  TARBALL_MAX_ENTRIES: 'most entries a tarball may hold (default 10000)',
  TARBALL_MAX_BYTES: 'largest uncompressed tarball content in bytes (default 2 GiB)',
  TARBALL_MAX_RATIO: 'highest compression ratio before a tarball counts as a bomb (default 100)',
  AWS_REGION: 'AWS region',
} as const;

export type EnvName = keyof typeof ENV_NAMES;

export function env(name: EnvName, fallback?: string): string {
  const value = process.env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError('CONFIG_MISSING', `environment variable ${name} (${ENV_NAMES[name]}) is not set`, { name });
}

export function envInt(name: EnvName, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError('CONFIG_INVALID', `environment variable ${name} must be a non-negative integer, got "${raw}"`, { name });
  }
  return value;
}

/** Reads the named variables now, so a handler fails at cold start naming what is missing. */
export function requireEnv<const N extends EnvName>(...names: N[]): Record<N, string> {
  return Object.fromEntries(names.map((n) => [n, env(n)])) as Record<N, string>;
}
