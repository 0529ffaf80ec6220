import { ConfigError } from './errors.js';

/**
 * Environment variables: what each name means, and one reader for them. Handlers read a function's
 * environment through `configOf(env)` when they are wired (at cold start on Lambda), so a missing
 * variable fails with its name rather than as an `undefined` deep inside a call. serverless.yml
 * writes these names; test/infra/wiring.test.ts checks that every function the template declares
 * can be wired from the environment the template gives it.
 */
export const ENV_NAMES = {
  TABLE_NAME: 'DynamoDB table holding apps, builds, releases, locks and events',
  TOPIC_ARN: 'SNS topic for notifications',
  ALARM_TOPIC_ARN: 'internal SNS topic CloudWatch alarms publish to (rendered, then sent on to TOPIC_ARN)',
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
  APP_BOUNDARY_ARN: "permissions boundary of every app's execution and task role",
  APP_SECRETS_MANAGER: "'true' when apps may name this account's Secrets Manager secrets",
  ECR_PREFIX: 'prefix of per-app ECR repositories',
  LOG_GROUP_PREFIX: 'prefix of per-app CloudWatch log groups',
  DEREGISTRATION_DELAY: 'target group deregistration delay in seconds',
  WATCH_DEADLINE_SECONDS: "cap on a rollout's deadline (each deploy's own follows its manifest; a manifest over the cap is refused)",
  FAIL_FAST_STOPS: 'failed task starts before a deploy fails',
  ALARM_WINDOW_SECONDS: 'storm-suppression window for crash alarms',
  DRAIN_MAX_SECONDS: 'longest an instance drain may take before CONTINUE with a warning',
  TARBALL_MAX_ENTRIES: 'most entries a tarball may hold',
  TARBALL_MAX_BYTES: 'largest uncompressed tarball content in bytes',
  TARBALL_MAX_RATIO: 'highest compression ratio before a tarball counts as a bomb',
  LOG_LEVEL: 'level of the JSON log lines (read by the Powertools logger)',
  AWS_REGION: 'AWS region (set by Lambda)',
  AWS_ENDPOINT_URL: 'AWS-compatible endpoint for every client (moto, LocalStack); unset on AWS',
} as const;

export type EnvName = keyof typeof ENV_NAMES;

/** A function's environment: `process.env` on Lambda, the template's resolved variables locally. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The process's own environment: the one place that reads it. */
export function processEnv(): Env {
  return process.env;
}

/** True inside the Lambda runtime, where a handler is wired at cold start. */
export function inLambda(env: Env = processEnv()): boolean {
  return !!env.LAMBDA_TASK_ROOT;
}

export interface Config {
  /** the value, or `fallback`; without a fallback a missing or empty value fails with its name */
  str(name: EnvName, fallback?: string): string;
  /** a non-negative integer, or `fallback` when unset */
  int(name: EnvName, fallback: number): number;
}

/** Reads a function's environment; every failure names the variable and what it is for. */
export function configOf(env: Env): Config {
  return {
    str(name, fallback) {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      throw new ConfigError('CONFIG_MISSING', `environment variable ${name} (${ENV_NAMES[name]}) is not set`, { name });
    },
    int(name, fallback) {
      const raw = env[name];
      if (raw === undefined || raw === '') return fallback;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < 0) {
        throw new ConfigError('CONFIG_INVALID', `environment variable ${name} must be a non-negative integer, got "${raw}"`, { name });
      }
      return value;
    },
  };
}
