import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStacksCommand, paginateListStackResources, type StackResourceSummary } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeInternetGatewaysCommand,
  DescribeLaunchTemplatesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { DescribeClustersCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeListenersCommand, DescribeLoadBalancersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient, DescribeRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetInstanceProfileCommand, GetPolicyCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetFunctionCommand, GetPolicyCommand as GetFunctionPolicyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resetMoto } from '../../local/moto.js';
import { type ProvisionedStack, provisionStack } from '../../local/provision.js';
import { removeStack } from '../../local/remove-stack.js';
import { packagedTemplate, rackName, type Template } from '../../local/template.js';
import { type ClientFactory, clientFactory } from '../../shared/aws/clients.js';
import { motoUrl } from '../support/local-rack.js';
import { TEST_STAGE } from '../support/stage.js';

/**
 * CI's install-and-remove smoke test: the packaged template's stack is created in moto's CloudFormation
 * (local/provision.ts, with only the preprocessing moto provably needs, each step documented there) and
 * removed as `serverless remove` removes it (local/remove-stack.ts: the scale-in protection AWS needs
 * released first, and the types moto's CloudFormation does not delete, documented there). Every resource
 * the stack reported exists after the create, by its own service's API, and is gone after the delete —
 * except those whose DeletionPolicy is Retain, which must still be there, as on AWS.
 */
type Json = any;
type Resource = StackResourceSummary & { LogicalResourceId: string; PhysicalResourceId: string; ResourceType: string };

/** Not-found answers of the services, by error name: anything else is a failure of the check itself. */
const NOT_FOUND =
  /NotFound|NoSuchEntity|DoesNotExist|NonExistentQueue|ResourceNotFoundException|^NotFound$|InvalidGroup\.NotFound|InvalidLaunchTemplateId|ListenerNotFound|LoadBalancerNotFound/;

/** Whether the call finds it: a not-found error, or an answer `present` says is empty, is false. */
async function found<T>(call: () => Promise<T>, present: (answer: T) => boolean = () => true): Promise<boolean> {
  try {
    return present(await call());
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    if (NOT_FOUND.test(e.name) || e.$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

interface Context {
  aws: ClientFactory;
  template: Template;
  /** logical id → physical id, as the stack reported them before it was deleted */
  physical: Record<string, string>;
}

/** Whether a resource of the type, with this physical id, exists: one service call each. */
const EXISTS: Record<string, (id: string, ctx: Context, logicalId: string) => Promise<boolean>> = {
  'AWS::IAM::Role': (id, { aws }) => found(() => aws(IAMClient).send(new GetRoleCommand({ RoleName: id }))),
  'AWS::IAM::InstanceProfile': (id, { aws }) => found(() => aws(IAMClient).send(new GetInstanceProfileCommand({ InstanceProfileName: id }))),
  'AWS::IAM::ManagedPolicy': (arn, { aws }) => found(() => aws(IAMClient).send(new GetPolicyCommand({ PolicyArn: arn }))),
  'AWS::Logs::LogGroup': async (name, { aws }) =>
    ((await aws(CloudWatchLogsClient).send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }))).logGroups ?? []).some((g) => g.logGroupName === name),
  'AWS::Lambda::Function': (name, { aws }) => found(() => aws(LambdaClient).send(new GetFunctionCommand({ FunctionName: name }))),
  // moto reports no physical id for a permission: it exists while its function has a resource policy
  'AWS::Lambda::Permission': (_id, { aws, template, physical }, logicalId) => {
    const fn = template.Resources[logicalId]!.Properties.FunctionName['Fn::GetAtt'][0] as string;
    return found(() => aws(LambdaClient).send(new GetFunctionPolicyCommand({ FunctionName: physical[fn] })));
  },
  'AWS::Events::Rule': (name, { aws }) => found(() => aws(EventBridgeClient).send(new DescribeRuleCommand({ Name: name }))),
  'AWS::S3::Bucket': (name, { aws }) => found(() => aws(S3Client).send(new HeadBucketCommand({ Bucket: name }))),
  'AWS::StepFunctions::StateMachine': (arn, { aws }) => found(() => aws(SFNClient).send(new DescribeStateMachineCommand({ stateMachineArn: arn }))),
  'AWS::SNS::Topic': (arn, { aws }) => found(() => aws(SNSClient).send(new GetTopicAttributesCommand({ TopicArn: arn }))),
  'AWS::SQS::Queue': (url, { aws }) => found(() => aws(SQSClient).send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))),
  'AWS::DynamoDB::Table': (name, { aws }) => found(() => aws(DynamoDBClient).send(new DescribeTableCommand({ TableName: name }))),
  'AWS::EC2::VPC': (id, { aws }) =>
    found(
      () => aws(EC2Client).send(new DescribeVpcsCommand({ VpcIds: [id] })),
      (a) => !!a.Vpcs?.length,
    ),
  'AWS::EC2::Subnet': (id, { aws }) =>
    found(
      () => aws(EC2Client).send(new DescribeSubnetsCommand({ SubnetIds: [id] })),
      (a) => !!a.Subnets?.length,
    ),
  'AWS::EC2::SecurityGroup': (id, { aws }) =>
    found(
      () => aws(EC2Client).send(new DescribeSecurityGroupsCommand({ GroupIds: [id] })),
      (a) => !!a.SecurityGroups?.length,
    ),
  'AWS::EC2::InternetGateway': (id, { aws }) =>
    found(
      () => aws(EC2Client).send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [id] })),
      (a) => !!a.InternetGateways?.length,
    ),
  'AWS::EC2::RouteTable': (id, { aws }) =>
    found(
      () => aws(EC2Client).send(new DescribeRouteTablesCommand({ RouteTableIds: [id] })),
      (a) => !!a.RouteTables?.length,
    ),
  // an association, a route, an attachment and an ingress rule are entries of their table, gateway or group
  // (moto reports the route table's id as the association's)
  'AWS::EC2::SubnetRouteTableAssociation': async (_id, { aws, template, physical }, logicalId) => {
    const p = template.Resources[logicalId]!.Properties;
    const tables = await aws(EC2Client).send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route-table-id', Values: [physical[p.RouteTableId.Ref]!] }] }));
    return (tables.RouteTables ?? []).some((t) => t.Associations?.some((a) => a.SubnetId === physical[p.SubnetId.Ref]));
  },
  'AWS::EC2::SecurityGroupIngress': async (_id, { aws, template, physical }, logicalId) => {
    const p = template.Resources[logicalId]!.Properties;
    const [group, source] = [p.GroupId, p.SourceSecurityGroupId].map((g: Json) => physical[g['Fn::GetAtt'][0]]!);
    const groups = await aws(EC2Client).send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-id', Values: [group!] }] }));
    return (groups.SecurityGroups ?? []).some((g) => g.IpPermissions?.some((r) => r.FromPort === p.FromPort && r.UserIdGroupPairs?.some((u) => u.GroupId === source)));
  },
  'AWS::EC2::Route': async (_id, { aws, template, physical }, logicalId) => {
    const p = template.Resources[logicalId]!.Properties;
    const tables = await aws(EC2Client).send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route-table-id', Values: [physical[p.RouteTableId.Ref]!] }] }));
    return (tables.RouteTables ?? []).some((t) => t.Routes?.some((r) => r.DestinationCidrBlock === p.DestinationCidrBlock));
  },
  'AWS::EC2::VPCGatewayAttachment': async (_id, { aws, template, physical }, logicalId) => {
    const p = template.Resources[logicalId]!.Properties;
    const gateways = await aws(EC2Client).send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [physical[p.VpcId.Ref]!] }] }));
    return (gateways.InternetGateways ?? []).some((g) => g.InternetGatewayId === physical[p.InternetGatewayId.Ref]);
  },
  'AWS::EC2::LaunchTemplate': (id, { aws }) =>
    found(
      () => aws(EC2Client).send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] })),
      (a) => !!a.LaunchTemplates?.length,
    ),
  'AWS::ElasticLoadBalancingV2::LoadBalancer': (arn, { aws }) =>
    found(
      () => aws(ElasticLoadBalancingV2Client).send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] })),
      (a) => !!a.LoadBalancers?.length,
    ),
  'AWS::ElasticLoadBalancingV2::Listener': (arn, { aws }) =>
    found(
      () => aws(ElasticLoadBalancingV2Client).send(new DescribeListenersCommand({ ListenerArns: [arn] })),
      (a) => !!a.Listeners?.length,
    ),
  // a deleted cluster is described as INACTIVE (or not at all)
  'AWS::ECS::Cluster': async (name, { aws }) => ((await aws(ECSClient).send(new DescribeClustersCommand({ clusters: [name] }))).clusters ?? []).some((c) => c.status === 'ACTIVE'),
  'AWS::AutoScaling::AutoScalingGroup': async (name, { aws }) =>
    ((await aws(AutoScalingClient).send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))).AutoScalingGroups ?? []).length > 0,
};

let template: Template;
let stack: ProvisionedStack;
let aws: ClientFactory;
let reported: Resource[];
const timings: Record<string, number> = {};

async function exists(resource: Resource): Promise<boolean> {
  const check = EXISTS[resource.ResourceType];
  if (!check) throw new Error(`no existence check for ${resource.ResourceType} (${resource.LogicalResourceId}): add one to EXISTS`);
  return check(resource.PhysicalResourceId, { aws, template, physical: stack.physical }, resource.LogicalResourceId);
}

beforeAll(async () => {
  const endpoint = motoUrl();
  await resetMoto(endpoint);
  aws = clientFactory({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 4 });
  template = await packagedTemplate(TEST_STAGE);
  const started = Date.now();
  stack = await provisionStack({ template, stackName: rackName(TEST_STAGE), aws, region: 'us-east-1', account: '123456789012' });
  timings.create = Date.now() - started;
  reported = [];
  for await (const page of paginateListStackResources({ client: aws(CloudFormationClient) }, { StackName: stack.stackName }))
    reported.push(...((page.StackResourceSummaries ?? []) as Resource[]));
  // moto 5.2.1 also lists one entry with neither a logical id nor a type: it names nothing to look for
  reported = reported.filter((r) => r.LogicalResourceId);
}, 120_000);

describe('the packaged template in moto’s CloudFormation', () => {
  it('creates every resource it reports, each found by its own service', async () => {
    expect(reported.length).toBeGreaterThan(50);
    const missing: string[] = [];
    for (const resource of reported) if (!(await exists(resource))) missing.push(`${resource.LogicalResourceId} (${resource.ResourceType})`);
    expect(missing).toEqual([]);
  });

  it('is removed with every resource it reported, but the table it retains', async () => {
    const started = Date.now();
    const { stackId } = await removeStack(stack, { aws });
    timings.delete = Date.now() - started;
    expect((await aws(CloudFormationClient).send(new DescribeStacksCommand({ StackName: stackId }))).Stacks?.[0]?.StackStatus).toBe('DELETE_COMPLETE');
    const retained = (resource: Resource) => (template.Resources[resource.LogicalResourceId] as Json).DeletionPolicy === 'Retain';
    const left: string[] = [];
    const kept: string[] = [];
    for (const resource of reported) {
      const there = await exists(resource);
      if (retained(resource)) {
        if (there) kept.push(resource.LogicalResourceId);
      } else if (there) left.push(`${resource.LogicalResourceId} (${resource.ResourceType})`);
    }
    expect(left).toEqual([]);
    // the rack's memory outlives its stack, as DeletionPolicy: Retain says
    expect(kept).toEqual(['Table']);
    console.info(`moto CloudFormation: create ${timings.create} ms, delete ${timings.delete} ms (${reported.length} resources)`);
  });
});
