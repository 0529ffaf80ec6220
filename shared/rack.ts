import type { Config } from './config.js';
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
  watchDeadlineSeconds: number;
  failFastStops: number;
  ecrPrefix: string;
  logGroupPrefix: string;
  /** apps may name this account's Secrets Manager secrets (rack parameter appSecretsManager) */
  secretsManager: boolean;
}

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
    deregistrationDelay: config.int('DEREGISTRATION_DELAY', 30),
    watchDeadlineSeconds: config.int('WATCH_DEADLINE_SECONDS', 1800),
    failFastStops: config.int('FAIL_FAST_STOPS', 3),
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
