import type { Config } from './config.js';
import { DEFAULT_DEREGISTRATION_DELAY } from './manifest/defaults.js';
import { appNames } from './names.js';

/** The rack's settings as the deploy steps see them; read once per cold start. */
export interface Rack {
  name: string;
  cluster: string;
  region: string;
  domain: string;
  listenerArn: string;
  /** set when the rack has a certificate: host rules go on both listeners */
  httpsListenerArn?: string;
  vpcId: string;
  loadBalancerDns: string;
  deregistrationDelay: number;
  /** the longest rollout deadline a deploy may have; each deploy's own follows its manifest (shared/rollout/deadline.ts) */
  watchDeadlineCapSeconds: number;
  failFastStops: number;
  ecrPrefix: string;
  logGroupPrefix: string;
  /** apps may name this account's Secrets Manager secrets (rack parameter appSecretsManager) */
  secretsManager: boolean;
}

/**
 * The rack parameters' defaults when the environment does not set them. serverless.yml's `params`
 * give the same values to every function (test/infra/rack-defaults.test.ts holds them equal).
 */
export const RACK_DEFAULTS = Object.freeze({
  deregistrationDelay: DEFAULT_DEREGISTRATION_DELAY,
  // a deploy holds its app's lock while it waits: no rollout may ask for more than half an hour
  watchDeadlineSeconds: 1800,
  // unexpected stops of the new task definition before the deploy fails (ECS's circuit breaker needs
  // max(3, ½·desired) up to 200): 3 tolerates one or two stray failures, judges a crash loop in two
  // rounds of task starts for a 2-task service (bench/rollout-model.ts)
  failFastStops: 3,
});

export function rackOf(config: Config): Rack {
  const name = config.str('RACK_NAME');
  const https = config.str('HTTPS_LISTENER_ARN', '');
  return {
    name,
    cluster: config.str('CLUSTER'),
    region: config.str('AWS_REGION', 'us-east-1'),
    domain: config.str('RACK_DOMAIN', `${name}.internal`),
    listenerArn: config.str('LISTENER_ARN'),
    ...(https ? { httpsListenerArn: https } : {}),
    vpcId: config.str('VPC_ID'),
    loadBalancerDns: config.str('LOAD_BALANCER_DNS', ''),
    deregistrationDelay: config.int('DEREGISTRATION_DELAY', RACK_DEFAULTS.deregistrationDelay),
    watchDeadlineCapSeconds: config.int('WATCH_DEADLINE_SECONDS', RACK_DEFAULTS.watchDeadlineSeconds),
    failFastStops: config.int('FAIL_FAST_STOPS', RACK_DEFAULTS.failFastStops),
    ecrPrefix: config.str('ECR_PREFIX', name),
    logGroupPrefix: config.str('LOG_GROUP_PREFIX', `/rackless/${name}`),
    secretsManager: config.str('APP_SECRETS_MANAGER', 'false') === 'true',
  };
}

export const logGroupName = (rack: Rack, app: string) => appNames(rack, app).logGroup;
export const repositoryName = (rack: Rack, app: string) => appNames(rack, app).repository;

/** Partition (aws, aws-cn, aws-us-gov) from the Lambda's own ARN. */
export function partitionOf(invokedFunctionArn: string | undefined): string {
  const partition = invokedFunctionArn?.split(':')[1];
  if (!partition) throw new Error(`cannot tell the partition from the function ARN "${invokedFunctionArn ?? ''}"`);
  return partition;
}

/** Account id from the Lambda's own ARN: no STS call at cold start. */
export function accountOf(invokedFunctionArn: string | undefined): string {
  const account = invokedFunctionArn?.split(':')[4];
  if (!account) throw new Error(`cannot tell the account from the function ARN "${invokedFunctionArn ?? ''}"`);
  return account;
}
