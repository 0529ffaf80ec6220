import { env, envInt } from './config.js';

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
}

export function rackFromEnv(): Rack {
  const name = env('RACK_NAME');
  return {
    name,
    cluster: env('CLUSTER'),
    region: env('AWS_REGION', 'us-east-1'),
    domain: env('RACK_DOMAIN', `${name}.internal`),
    listenerArn: env('LISTENER_ARN'),
    ...(env('HTTPS_LISTENER_ARN', '') ? { httpsListenerArn: env('HTTPS_LISTENER_ARN') } : {}),
    vpcId: env('VPC_ID'),
    loadBalancerDns: env('LOAD_BALANCER_DNS', ''),
    deregistrationDelay: envInt('DEREGISTRATION_DELAY', 30),
    watchDeadlineSeconds: envInt('WATCH_DEADLINE_SECONDS', 1800),
    failFastStops: envInt('FAIL_FAST_STOPS', 3),
    ecrPrefix: env('ECR_PREFIX', name),
    logGroupPrefix: env('LOG_GROUP_PREFIX', `/rackless/${name}`),
  };
}

export const logGroupName = (rack: Rack, app: string) => `${rack.logGroupPrefix}/${app}`;
export const repositoryName = (rack: Rack, app: string) => `${rack.ecrPrefix}/${app}`;

/** Account id from the Lambda's own ARN: no STS call at cold start. */
export function accountOf(invokedFunctionArn: string | undefined): string {
  return invokedFunctionArn?.split(':')[4] || process.env.AWS_ACCOUNT_ID || '123456789012';
}
