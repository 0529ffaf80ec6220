import { AutoScalingClient, PutLifecycleHookCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, CreateStackCommand, DescribeStackEventsCommand, DescribeStacksCommand, paginateListStackResources } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, UpdateContinuousBackupsCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { AssociateRouteTableCommand, AuthorizeSecurityGroupEgressCommand, EC2Client, RevokeSecurityGroupEgressCommand } from '@aws-sdk/client-ec2';
import { CreateCapacityProviderCommand, ECSClient, PutClusterCapacityProvidersCommand } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client, ModifyLoadBalancerAttributesCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { LambdaClient, PutFunctionEventInvokeConfigCommand } from '@aws-sdk/client-lambda';
import {
  PutBucketLifecycleConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { UpdateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ClientFactory } from '../shared/aws/clients.js';
import { brokenRules, evaluateCondition, mapIntrinsics, parameterValues, presentResources, replaceReferences, type Template } from './template.js';

/**
 * Creates a rack in moto from the packaged template: moto's CloudFormation creates what it can;
 * what it cannot is created through the service APIs from the template's own properties, resolved
 * by moto's CloudFormation itself (as stack outputs). Every gap is listed below with the reason and
 * what the local rack does instead — these are facts about moto 5.2.1, not a second description
 * of the rack: a resource or property the template gains that moto skips fails here, by name.
 *
 * Besides resources and properties, moto ignores the template's `Rules` (checked here, as
 * CloudFormation checks them before it creates anything: brokenRules in local/template.ts) and the
 * Auto Scaling group's CreationPolicy and UpdatePolicy (no instance signals there is nothing to wait
 * for); it honours DeletionPolicy Retain, as CloudFormation does.
 */
type Json = any;

export interface ProvisionContext {
  aws: ClientFactory;
  region: string;
  account: string;
  /** the stack's physical id of a resource (its `Ref`) */
  physical: (logicalId: string) => string;
}

interface SkippedType {
  /** what moto's CloudFormation does with the type */
  gap: string;
  /** values for references to it elsewhere in the template, from its own properties (created after the stack) */
  references?: (properties: Json, ctx: Omit<ProvisionContext, 'physical'>) => { ref: string; attributes: Record<string, string> };
  /** creates it (or says why it stays local) from its resolved properties */
  provision: (properties: Json, ctx: ProvisionContext, logicalId: string) => Promise<LocalPart | undefined>;
}

/** What exists only in the local rack: simulated services and properties moto cannot apply. */
export type LocalPart =
  | { kind: 'build-project'; logicalId: string; properties: Json }
  | { kind: 'lambda-subscription'; logicalId: string; topicArn: string; functionArn: string }
  | { kind: 'not-applied'; logicalId: string; reason: string };

const literal = (value: Json, what: string): string => {
  if (typeof value !== 'string') throw new Error(`${what} must be a literal string for the local rack to name it, got ${JSON.stringify(value)}`);
  return value;
};

export const SKIPPED_TYPES: Record<string, SkippedType> = {
  'AWS::CodeBuild::Project': {
    gap: 'no CloudFormation support; its API refuses a NO_SOURCE project without a source location, and StartBuild answers break SDK v3',
    // the project is named in its properties; CodeBuild project ARNs are arn:<partition>:codebuild:<region>:<account>:project/<name>
    references: (p, ctx) => ({ ref: literal(p.Name, 'BuildProject.Name'), attributes: { Arn: `arn:aws:codebuild:${ctx.region}:${ctx.account}:project/${p.Name}` } }),
    // the local build simulator (local/build.ts) runs builds from these properties
    provision: async (properties, _ctx, logicalId) => ({ kind: 'build-project', logicalId, properties }),
  },
  'AWS::Lambda::EventInvokeConfig': {
    gap: 'no CloudFormation support',
    provision: async (p, { aws }) => {
      await aws(LambdaClient).send(
        new PutFunctionEventInvokeConfigCommand({
          FunctionName: p.FunctionName,
          Qualifier: p.Qualifier,
          MaximumRetryAttempts: p.MaximumRetryAttempts,
          MaximumEventAgeInSeconds: p.MaximumEventAgeInSeconds,
          DestinationConfig: p.DestinationConfig,
        }),
      );
      return undefined;
    },
  },
  'AWS::SNS::Subscription': {
    gap: 'no CloudFormation support, and its SNS cannot invoke a Lambda function without Docker',
    provision: async (p, _ctx, logicalId) => {
      if (p.Protocol !== 'lambda') throw new Error(`${logicalId}: only lambda subscriptions are delivered locally, got ${p.Protocol}`);
      // local/events.ts subscribes a queue in its place and hands each message to the function as SNS would
      return { kind: 'lambda-subscription', logicalId, topicArn: p.TopicArn, functionArn: p.Endpoint };
    },
  },
  'AWS::SNS::TopicPolicy': {
    gap: 'no CloudFormation support',
    provision: async (p, { aws }) => {
      for (const topic of p.Topics)
        await aws(SNSClient).send(new SetTopicAttributesCommand({ TopicArn: topic, AttributeName: 'Policy', AttributeValue: JSON.stringify(p.PolicyDocument) }));
      return undefined;
    },
  },
  'AWS::SQS::QueuePolicy': {
    gap: 'no CloudFormation support',
    provision: async (p, { aws }) => {
      for (const queue of p.Queues) await aws(SQSClient).send(new SetQueueAttributesCommand({ QueueUrl: queue, Attributes: { Policy: JSON.stringify(p.PolicyDocument) } }));
      return undefined;
    },
  },
  'AWS::S3::BucketPolicy': {
    gap: 'no CloudFormation support',
    // moto enforces bucket policies and serves plain HTTP: the TLS-only deny would refuse every request
    provision: async (_p, _ctx, logicalId) => ({
      kind: 'not-applied',
      logicalId,
      reason: 'moto serves plain HTTP on loopback, so a TLS-only bucket policy would deny every request',
    }),
  },
  'AWS::ECS::CapacityProvider': {
    gap: 'no CloudFormation support',
    // Ref of a capacity provider is its name (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-capacityprovider.html)
    references: (p, ctx) => ({
      ref: literal(p.Name, 'CapacityProvider.Name'),
      attributes: { Arn: `arn:aws:ecs:${ctx.region}:${ctx.account}:capacity-provider/${p.Name}` },
    }),
    provision: async (p, { aws }) => {
      const group = p.AutoScalingGroupProvider;
      await aws(ECSClient).send(
        new CreateCapacityProviderCommand({
          name: p.Name,
          autoScalingGroupProvider: {
            autoScalingGroupArn: group.AutoScalingGroupArn,
            managedScaling: { status: group.ManagedScaling?.Status, targetCapacity: group.ManagedScaling?.TargetCapacity },
            managedTerminationProtection: group.ManagedTerminationProtection,
            managedDraining: group.ManagedDraining,
          },
        }),
      );
      return undefined;
    },
  },
  'AWS::ECS::ClusterCapacityProviderAssociations': {
    gap: 'no CloudFormation support',
    // after AWS::ECS::CapacityProvider, which the template declares first and so is created first here
    provision: async (p, { aws }) => {
      await aws(ECSClient).send(
        new PutClusterCapacityProvidersCommand({
          cluster: p.Cluster,
          capacityProviders: p.CapacityProviders,
          defaultCapacityProviderStrategy: (p.DefaultCapacityProviderStrategy as Json[]).map((s) => ({ capacityProvider: s.CapacityProvider, weight: s.Weight, base: s.Base })),
        }),
      );
      return undefined;
    },
  },
  'AWS::EC2::SecurityGroupEgress': {
    gap: 'no CloudFormation support',
    provision: async (p, { aws }) => {
      await aws(EC2Client).send(
        new AuthorizeSecurityGroupEgressCommand({
          GroupId: p.GroupId,
          IpPermissions: [
            { IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort, UserIdGroupPairs: [{ GroupId: p.DestinationSecurityGroupId, Description: p.Description }] },
          ],
        }),
      );
      return undefined;
    },
  },
};

/** Types moto's CloudFormation creates but lists with no logical id (their effect is checked by test/local/provision.test.ts). */
const UNLISTED_TYPES = new Set(['AWS::EC2::SecurityGroupIngress']);

interface DroppedProperty {
  type: string;
  property: string;
  apply: (value: Json, physicalId: string, ctx: ProvisionContext) => Promise<void>;
}

/** Properties moto's CloudFormation accepts and does not apply; set through the service APIs. */
export const DROPPED_PROPERTIES: DroppedProperty[] = [
  {
    type: 'AWS::DynamoDB::Table',
    property: 'TimeToLiveSpecification',
    apply: async (v, table, { aws }) => {
      await aws(DynamoDBClient).send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: v.AttributeName, Enabled: v.Enabled } }));
    },
  },
  {
    type: 'AWS::DynamoDB::Table',
    property: 'PointInTimeRecoverySpecification',
    apply: async (v, table, { aws }) => {
      await aws(DynamoDBClient).send(
        new UpdateContinuousBackupsCommand({ TableName: table, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: v.PointInTimeRecoveryEnabled } }),
      );
    },
  },
  {
    type: 'AWS::S3::Bucket',
    property: 'VersioningConfiguration',
    apply: async (v, bucket, { aws }) => {
      await aws(S3Client).send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: v.Status } }));
    },
  },
  {
    type: 'AWS::S3::Bucket',
    property: 'NotificationConfiguration',
    apply: async (v, bucket, { aws }) => {
      if (!v.EventBridgeConfiguration?.EventBridgeEnabled) throw new Error(`bucket ${bucket}: only EventBridge notifications are set up locally`);
      await aws(S3Client).send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: { EventBridgeConfiguration: {} } }));
    },
  },
  {
    type: 'AWS::S3::Bucket',
    property: 'LifecycleConfiguration',
    apply: async (v, bucket, { aws }) => {
      // CloudFormation's rule shape → the S3 API's (Prefix → Filter, ExpirationInDays → Expiration.Days)
      const Rules = (v.Rules as Json[]).map((r) => ({
        ID: r.Id,
        Status: r.Status,
        Filter: { Prefix: r.Prefix ?? '' },
        ...(r.ExpirationInDays !== undefined ? { Expiration: { Days: r.ExpirationInDays } } : {}),
        ...(r.NoncurrentVersionExpiration ? { NoncurrentVersionExpiration: { NoncurrentDays: r.NoncurrentVersionExpiration.NoncurrentDays } } : {}),
        ...(r.AbortIncompleteMultipartUpload ? { AbortIncompleteMultipartUpload: { DaysAfterInitiation: r.AbortIncompleteMultipartUpload.DaysAfterInitiation } } : {}),
      }));
      await aws(S3Client).send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules } }));
    },
  },
  {
    type: 'AWS::S3::Bucket',
    property: 'PublicAccessBlockConfiguration',
    apply: async (v, bucket, { aws }) => {
      await aws(S3Client).send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: v }));
    },
  },
  {
    type: 'AWS::S3::Bucket',
    property: 'OwnershipControls',
    apply: async (v, bucket, { aws }) => {
      await aws(S3Client).send(new PutBucketOwnershipControlsCommand({ Bucket: bucket, OwnershipControls: v }));
    },
  },
  {
    type: 'AWS::EC2::SecurityGroup',
    property: 'SecurityGroupEgress',
    apply: async (rules, group, { aws }) => {
      // a group created with egress rules has only those: the default allow-all goes
      const ec2 = aws(EC2Client);
      await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: group, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
      for (const r of rules as Json[]) {
        await ec2.send(
          new AuthorizeSecurityGroupEgressCommand({
            GroupId: group,
            IpPermissions: [{ IpProtocol: r.IpProtocol, FromPort: r.FromPort, ToPort: r.ToPort, IpRanges: [{ CidrIp: r.CidrIp, Description: r.Description }] }],
          }),
        );
      }
    },
  },
  {
    // moto records the association in a registry of its own and leaves the route table unassociated;
    // it reports the route table's id as the association's physical id
    type: 'AWS::EC2::SubnetRouteTableAssociation',
    property: 'SubnetId',
    apply: async (subnet, routeTable, { aws }) => {
      await aws(EC2Client).send(new AssociateRouteTableCommand({ RouteTableId: routeTable, SubnetId: subnet }));
    },
  },
  {
    type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
    property: 'LoadBalancerAttributes',
    apply: async (attributes, arn, { aws }) => {
      await aws(ElasticLoadBalancingV2Client).send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: arn, Attributes: attributes }));
    },
  },
  {
    type: 'AWS::StepFunctions::StateMachine',
    property: 'LoggingConfiguration',
    apply: async (v, arn, { aws }) => {
      await aws(SFNClient).send(
        new UpdateStateMachineCommand({
          stateMachineArn: arn,
          loggingConfiguration: {
            level: v.Level,
            includeExecutionData: v.IncludeExecutionData,
            destinations: (v.Destinations ?? []).map((d: Json) => ({ cloudWatchLogsLogGroup: { logGroupArn: d.CloudWatchLogsLogGroup.LogGroupArn } })),
          },
        }),
      );
    },
  },
  {
    type: 'AWS::AutoScaling::AutoScalingGroup',
    property: 'LifecycleHookSpecificationList',
    apply: async (hooks, group, { aws }) => {
      for (const hook of hooks as Json[]) {
        await aws(AutoScalingClient).send(
          new PutLifecycleHookCommand({
            AutoScalingGroupName: group,
            LifecycleHookName: hook.LifecycleHookName,
            LifecycleTransition: hook.LifecycleTransition,
            DefaultResult: hook.DefaultResult,
            HeartbeatTimeout: hook.HeartbeatTimeout,
          }),
        );
      }
    },
  },
];

// ---------------------------------------------------------------- template preprocessing

/**
 * moto evaluates the list form of Fn::Sub with Python's string.Template: a variable whose name starts
 * with a digit (serverless-step-functions names them by hash) is left unresolved and fails the
 * stack, and every `$$` (the state machines' `$$.Task.Token`) becomes `$`. The same string as an
 * Fn::Join of its literal parts and the values of its variables is what CloudFormation defines
 * Fn::Sub to be, and moto evaluates Fn::Join as written.
 */
export function subAsJoin(node: Json): Json {
  if (Array.isArray(node)) return node.map(subAsJoin);
  if (!node || typeof node !== 'object') return node;
  const sub = node['Fn::Sub'];
  if (Array.isArray(sub) && Object.keys(node).length === 1) {
    const [text, vars] = sub as [string, Record<string, Json>];
    const parts: Json[] = [];
    let last = 0;
    for (const match of text.matchAll(/\$\{(!?)([^}]*)\}/g)) {
      if (match.index > last) parts.push(text.slice(last, match.index));
      const [, bang, name] = match as unknown as [string, string, string];
      if (bang) parts.push(`\${${name}}`);
      else if (name in vars) parts.push(subAsJoin(vars[name]));
      else if (name.includes('.') && !name.startsWith('AWS::')) parts.push({ 'Fn::GetAtt': name.split('.') });
      else parts.push({ Ref: name });
      last = match.index + match[0].length;
    }
    if (last < text.length) parts.push(text.slice(last));
    return { 'Fn::Join': ['', parts] };
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, subAsJoin(v)]));
}

/**
 * moto's CloudFormation leaves an `Fn::If` that picks `Ref: AWS::NoValue` inside a list as a null
 * element (an IAM policy's Statement list then fails as "Syntax errors in policy"), where
 * CloudFormation removes the element. Such an `Fn::If` in a list is decided here, by the stack's own
 * conditions, and the element dropped or kept as CloudFormation would.
 */
export function noValueInLists(template: Template, node: Json, parameters: Record<string, string>): Json {
  const isNoValue = (n: Json) => !!n && typeof n === 'object' && !Array.isArray(n) && Object.keys(n).length === 1 && n.Ref === 'AWS::NoValue';
  const walk = (n: Json): Json => {
    if (Array.isArray(n)) {
      return n.flatMap((item) => {
        const branches = item && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length === 1 ? item['Fn::If'] : undefined;
        if (Array.isArray(branches) && (isNoValue(branches[1]) || isNoValue(branches[2]))) {
          const chosen = evaluateCondition(template, branches[0], parameters) ? branches[1] : branches[2];
          return isNoValue(chosen) ? [] : [walk(chosen)];
        }
        return [walk(item)];
      });
    }
    if (!n || typeof n !== 'object') return n;
    return Object.fromEntries(Object.entries(n).map(([k, v]) => [k, walk(v)]));
  };
  return walk(node);
}

export interface ProvisionedStack {
  stackName: string;
  template: Template;
  parameters: Record<string, string>;
  /** logical id → physical id, for every resource the stack has */
  physical: Record<string, string>;
  /** the template's own outputs */
  outputs: Record<string, string>;
  local: LocalPart[];
}

const OUTPUT_PREFIX = 'LocalValue';

export async function provisionStack(options: {
  template: Template;
  stackName: string;
  parameters?: Record<string, string>;
  aws: ClientFactory;
  region: string;
  account: string;
}): Promise<ProvisionedStack> {
  const { template, stackName, aws, region, account } = options;
  const parameters = parameterValues(template, options.parameters);
  const broken = brokenRules(template, parameters);
  if (broken.length) throw new Error(`stack ${stackName} refused by the template's Rules, before anything was created: ${broken.join('; ')}`);
  const present = new Set(presentResources(template, parameters));
  let body: Template = noValueInLists(template, subAsJoin(structuredClone(template)), parameters);
  const skipped = [...present].filter((id) => SKIPPED_TYPES[template.Resources[id]!.Type]);
  for (const id of skipped) {
    const type = SKIPPED_TYPES[template.Resources[id]!.Type]!;
    if (type.references) body = replaceReferences(body, id, type.references(template.Resources[id]!.Properties, { aws, region, account }));
  }
  const skippedProperties = Object.fromEntries(skipped.map((id) => [id, body.Resources[id]!.Properties ?? {}]));
  for (const id of skipped) delete body.Resources[id];

  // every value the local rack applies itself is resolved by moto's CloudFormation, as an output
  const outputs: Record<string, { Value: Json }> = {};
  const placeholder = (expression: Json): Json => {
    const ref = expression.Ref;
    if (typeof ref === 'string' && ref in parameters) {
      const type = template.Parameters?.[ref]?.Type ?? '';
      return type.startsWith('CommaDelimitedList') || type.startsWith('List<') ? parameters[ref]!.split(',') : parameters[ref];
    }
    const key = `${OUTPUT_PREFIX}${Object.keys(outputs).length}`;
    outputs[key] = { Value: expression };
    return { [OUTPUT_PREFIX]: key };
  };
  const pending: Array<{ kind: 'skipped'; id: string; value: Json } | { kind: 'dropped'; id: string; rule: DroppedProperty; value: Json }> = [];
  for (const id of skipped) pending.push({ kind: 'skipped', id, value: mapIntrinsics(body, skippedProperties[id], parameters, placeholder) });
  for (const id of present) {
    const resource = body.Resources[id];
    if (!resource) continue;
    for (const rule of DROPPED_PROPERTIES) {
      const value = resource.Type === rule.type ? resource.Properties?.[rule.property] : undefined;
      if (value !== undefined) pending.push({ kind: 'dropped', id, rule, value: mapIntrinsics(body, value, parameters, placeholder) });
    }
  }
  body.Outputs = { ...(body.Outputs ?? {}), ...outputs };

  const cfn = aws(CloudFormationClient);
  await cfn.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: JSON.stringify(body),
      Parameters: Object.entries(options.parameters ?? {}).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
    }),
  );
  const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  if (stack?.StackStatus !== 'CREATE_COMPLETE') {
    const events = await cfn.send(new DescribeStackEventsCommand({ StackName: stackName }));
    const failed = (events.StackEvents ?? []).filter((e) => e.ResourceStatus?.includes('FAILED')).map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
    throw new Error(`stack ${stackName} ended ${stack?.StackStatus ?? 'missing'}${failed.length ? `: ${failed.join('; ')}` : ''}`);
  }
  const physical: Record<string, string> = {};
  for await (const page of paginateListStackResources({ client: cfn }, { StackName: stackName })) {
    for (const r of page.StackResourceSummaries ?? []) if (r.LogicalResourceId) physical[r.LogicalResourceId] = r.PhysicalResourceId ?? '';
  }
  const missing = [...present].filter((id) => !(id in physical) && !SKIPPED_TYPES[template.Resources[id]!.Type] && !UNLISTED_TYPES.has(template.Resources[id]!.Type));
  if (missing.length) {
    throw new Error(
      `moto's CloudFormation did not create ${missing.map((id) => `${id} (${template.Resources[id]!.Type})`).join(', ')}: add the type to SKIPPED_TYPES in local/provision.ts`,
    );
  }
  const values = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  const fill = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(fill);
    if (node && typeof node === 'object') {
      if (typeof node[OUTPUT_PREFIX] === 'string' && Object.keys(node).length === 1) {
        const value = values[node[OUTPUT_PREFIX]];
        if (value === undefined) throw new Error(`stack ${stackName} did not resolve ${JSON.stringify(outputs[node[OUTPUT_PREFIX]]?.Value)}`);
        return value;
      }
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, fill(v)]));
    }
    return node;
  };
  const ctx: ProvisionContext = {
    aws,
    region,
    account,
    physical: (id) => {
      const value = physical[id];
      if (!value) throw new Error(`stack ${stackName} has no resource ${id}`);
      return value;
    },
  };
  const local: LocalPart[] = [];
  for (const item of pending) {
    const value = fill(item.value);
    if (item.kind === 'skipped') {
      const part = await SKIPPED_TYPES[template.Resources[item.id]!.Type]!.provision(value, ctx, item.id);
      if (part) local.push(part);
    } else {
      await item.rule.apply(value, ctx.physical(item.id), ctx);
    }
  }
  const own = Object.fromEntries(Object.entries(values).filter(([key]) => !key.startsWith(OUTPUT_PREFIX)));
  return { stackName, template, parameters, physical, outputs: own, local };
}
