import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { type ClientFactory, type ClientSettings, clientFactory } from '../shared/aws/clients.js';
import { DynamoStore, documentClient } from '../shared/aws/dynamo-store.js';
import type { Store } from '../shared/aws/store.js';
import { CliError } from './errors.js';

/** The options every command takes (commander's global options). */
export interface GlobalOptions {
  rack?: string;
  profile?: string;
  region?: string;
  endpointUrl?: string;
  json?: boolean;
  debug?: boolean;
}

/** What a command needs to know about the installed rack, read from its CloudFormation outputs. */
export interface RackResources {
  /** the stack name, which is also the rack name (RACK_NAME) */
  name: string;
  region: string;
  bucket: string;
  topicArn: string;
  table: string;
  loadBalancerDns: string;
  stateMachineArn: string;
  cluster: string;
  listenerArn: string;
  /** the HTTPS listener, when the rack has a certificate */
  httpsListenerArn?: string;
  logGroupPrefix: string;
  /** prefix of the apps' ECR repositories (serverless.yml custom.ecrPrefix: the rack's name) */
  ecrPrefix: string;
  /** the stack's ARN: its partition, region and account; it still describes a deleted stack */
  stackId: string;
}

// output → accepted names (serverless.yml's first; the shorter spellings are aliases)
const OUTPUTS: Record<Exclude<keyof RackResources, 'name' | 'region' | 'logGroupPrefix' | 'ecrPrefix' | 'stackId' | 'httpsListenerArn'>, string[]> = {
  bucket: ['SourceBucket'],
  topicArn: ['NotificationTopicArn', 'TopicArn'],
  table: ['TableName'],
  loadBalancerDns: ['LoadBalancerDnsName', 'LoadBalancerDns'],
  stateMachineArn: ['DeployStateMachineArn'],
  cluster: ['ClusterName'],
  listenerArn: ['ListenerArn'],
};

export function isLoopback(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/** SDK client settings from the global options and the AWS credential chain. */
export function clientSettings(options: GlobalOptions): ClientSettings {
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const local = isLoopback(options.endpointUrl);
  // a local endpoint takes any key; without one configured the chain would fail before moto is asked
  const needsDummy = local && !options.profile && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE;
  return {
    region,
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.endpointUrl ? { endpoint: options.endpointUrl, forcePathStyle: true } : {}),
    ...(needsDummy ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    maxAttempts: 4,
  };
}

export function outputsToResources(stack: string, region: string, outputs: Output[], stackId = ''): RackResources {
  const byKey = new Map(outputs.map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  const https = byKey.get('HttpsListenerArn');
  const found: Partial<RackResources> = { name: stack, region, logGroupPrefix: `/rackless/${stack}`, ecrPrefix: stack, stackId, ...(https ? { httpsListenerArn: https } : {}) };
  for (const [field, names] of Object.entries(OUTPUTS) as Array<[keyof typeof OUTPUTS, string[]]>) {
    const value = names.map((n) => byKey.get(n)).find((v) => v !== undefined && v !== '');
    if (value === undefined) {
      throw new CliError(`stack ${stack} has no output ${names[0]}`, `the rack's stack is older than this CLI or not a rack; update it with \`serverless deploy\``);
    }
    found[field] = value;
  }
  return found as RackResources;
}

/** `--rack NAME`: the stack NAME, else `rackless-NAME` (serverless names stacks <service>-<stage>). */
export async function resolveRack(options: GlobalOptions, cfn = clientFactory(clientSettings(options))(CloudFormationClient)): Promise<RackResources> {
  const rack = options.rack ?? process.env.RACKLESS_RACK;
  if (!rack) throw new CliError('no rack given', 'pass --rack NAME (the stage or stack name) or set RACKLESS_RACK');
  const region = clientSettings(options).region;
  const candidates = rack.startsWith('rackless-') ? [rack] : [rack, `rackless-${rack}`];
  for (const stack of candidates) {
    try {
      const res = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
      const found = res.Stacks?.[0];
      if (found) return outputsToResources(found.StackName ?? stack, region, found.Outputs ?? [], found.StackId ?? '');
    } catch (error) {
      if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) continue;
      throw error;
    }
  }
  throw new CliError(
    `no rack ${rack} in ${region}: no stack named ${candidates.join(' or ')}`,
    options.endpointUrl ? 'is `rackless local up` running, and is this its --endpoint-url?' : 'install one with `serverless deploy --stage <name>`, or check --region/--profile',
  );
}

/** The AWS clients of one command run, built on first use by the one client factory. */
export class Aws {
  private readonly client: ClientFactory;
  constructor(readonly options: GlobalOptions) {
    this.client = clientFactory(clientSettings(options));
  }

  get s3() {
    return this.client(S3Client);
  }
  get sfn() {
    return this.client(SFNClient);
  }
  get ecs() {
    return this.client(ECSClient);
  }
  get logs() {
    return this.client(CloudWatchLogsClient);
  }
  get dynamodb() {
    return this.client(DynamoDBClient);
  }
  get events() {
    return this.client(EventBridgeClient);
  }
  get ssm() {
    return this.client(SSMClient);
  }
  get elb() {
    return this.client(ElasticLoadBalancingV2Client);
  }
  get cfn() {
    return this.client(CloudFormationClient);
  }
  get cloudwatch() {
    return this.client(CloudWatchClient);
  }
  get ecr() {
    return this.client(ECRClient);
  }
  get iam() {
    return this.client(IAMClient);
  }
  get scaling() {
    return this.client(ApplicationAutoScalingClient);
  }
  get asg() {
    return this.client(AutoScalingClient);
  }
  get tagging() {
    return this.client(ResourceGroupsTaggingAPIClient);
  }
}

export interface Context {
  options: GlobalOptions;
  aws: Aws;
  rack: RackResources;
  store: Store;
}

export async function context(options: GlobalOptions): Promise<Context> {
  const aws = new Aws(options);
  const rack = await resolveRack(options, aws.cfn);
  return { options, aws, rack, store: new DynamoStore(documentClient(aws.dynamodb), rack.table) };
}
