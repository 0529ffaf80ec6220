import { DescribeAutoScalingGroupsCommand, DescribeLifecycleHooksCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeContinuousBackupsCommand, DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { DescribeRouteTablesCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { DescribeCapacityProvidersCommand, DescribeClustersCommand } from '@aws-sdk/client-ecs';
import { DescribeLoadBalancerAttributesCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeRuleCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { GetBucketVersioningCommand, GetPublicAccessBlockCommand } from '@aws-sdk/client-s3';
import { DescribeStateMachineCommand } from '@aws-sdk/client-sfn';
import { beforeAll, describe, expect, it } from 'vitest';
import { startMoto } from '../../local/moto.js';
import type { LocalRack } from '../../local/rack.js';
import { SKIPPED_TYPES } from '../../local/provision.js';
import { noValueInLists, provisionStack } from '../../local/provision.js';
import { brokenRules, mapIntrinsics, packagedTemplate, parameterValues, presentResources, type Template } from '../../local/template.js';
import { ENV_NAMES } from '../../shared/config.js';
import { localRack } from '../support/local-rack.js';
import { TEST_RACK, TEST_STAGE, ecsService } from '../support/stage.js';
import { buildTarball } from '../support/tarballs.js';

/**
 * The local rack is the packaged template: every resource it declares exists (made by moto's
 * CloudFormation or, where moto cannot, through the service APIs), with the template's own
 * properties, and nothing the functions use comes from anywhere else.
 */
let rack: LocalRack;
let template: Template;

beforeAll(async () => {
  rack = await localRack();
  template = await packagedTemplate(TEST_STAGE);
});

const resourcesOfType = (type: string) => Object.entries(template.Resources).filter(([id, r]) => r.Type === type && id in rack.stack.physical);

describe('the local rack, made from the packaged template', () => {
  it('has every resource the template declares for its parameters', () => {
    const present = presentResources(template, rack.stack.parameters);
    const local = new Set(rack.stack.local.map((p) => p.logicalId));
    const missing = present.filter((id) => !(id in rack.stack.physical) && !local.has(id) && !SKIPPED_TYPES[template.Resources[id]!.Type]);
    // security group ingress rules are listed by moto without their logical id; checked below
    expect(missing.filter((id) => template.Resources[id]!.Type !== 'AWS::EC2::SecurityGroupIngress')).toEqual([]);
    // what stays local says why
    for (const part of rack.stack.local) if (part.kind === 'not-applied') expect(part.reason).toMatch(/\w+/);
  });

  it('applies the properties moto’s CloudFormation accepts and drops', async () => {
    const { dynamodb, s3, asg, ec2 } = rack.aws;
    const ttl = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: rack.resources.table }));
    expect(ttl.TimeToLiveDescription).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: template.Resources.Table!.Properties.TimeToLiveSpecification.AttributeName });
    const backups = await dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: rack.resources.table }));
    expect(backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus).toBe('ENABLED');
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: rack.resources.bucket }))).Status).toBe(
      template.Resources.SourceBucket!.Properties.VersioningConfiguration.Status,
    );
    // EventBridge notifications are on: an upload puts its event on the bus, where the tarball rule takes it
    rack.events.paused = true;
    await rack.upload('apps/probe/x.tar.gz', Buffer.from('x'));
    expect((await rack.events.take(`${TEST_RACK}-tarball-uploaded`)).map((e) => e.detail.object.key)).toEqual(['apps/probe/x.tar.gz']);
    rack.events.paused = false;
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: rack.resources.bucket }))).PublicAccessBlockConfiguration).toEqual(
      template.Resources.SourceBucket!.Properties.PublicAccessBlockConfiguration,
    );
    const group = rack.stack.physical.AutoScalingGroup!;
    const hooks = await asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: group }));
    const [spec] = template.Resources.AutoScalingGroup!.Properties.LifecycleHookSpecificationList;
    expect(hooks.LifecycleHooks).toEqual([
      expect.objectContaining({ LifecycleHookName: spec.LifecycleHookName, HeartbeatTimeout: spec.HeartbeatTimeout, DefaultResult: spec.DefaultResult }),
    ]);
    const groups = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [rack.stack.physical.LoadBalancerSecurityGroup!, rack.stack.physical.InstanceSecurityGroup!] }));
    const [lb, instances] = [rack.stack.physical.LoadBalancerSecurityGroup, rack.stack.physical.InstanceSecurityGroup].map(
      (id) => groups.SecurityGroups!.find((g) => g.GroupId === id)!,
    );
    // the load balancer reaches only the instances' dynamic ports; no default allow-all egress
    expect(lb!.IpPermissionsEgress?.some((p) => p.IpProtocol === '-1')).toBe(false);
    expect(lb!.IpPermissionsEgress?.find((p) => p.FromPort === 32768)?.UserIdGroupPairs?.[0]?.GroupId).toBe(instances!.GroupId);
    expect(instances!.IpPermissions?.find((p) => p.FromPort === 32768)?.UserIdGroupPairs?.[0]?.GroupId).toBe(lb!.GroupId);
  });

  it('has the capacity provider, its association with the cluster, the protections and the logging the template declares', async () => {
    const { ecs, asg, dynamodb, sfn, elb, ec2 } = rack.aws;
    const provider = template.Resources.CapacityProvider!.Properties;
    const [described] = (await ecs.send(new DescribeCapacityProvidersCommand({ capacityProviders: [provider.Name] }))).capacityProviders ?? [];
    expect(described?.autoScalingGroupProvider).toMatchObject({
      autoScalingGroupArn: rack.stack.physical.AutoScalingGroup,
      managedScaling: { status: 'ENABLED', targetCapacity: provider.AutoScalingGroupProvider.ManagedScaling.TargetCapacity },
      managedTerminationProtection: 'ENABLED',
    });
    // services created without a launch type run on it: it is the cluster's default strategy
    const [cluster] = (await ecs.send(new DescribeClustersCommand({ clusters: [rack.resources.cluster] }))).clusters ?? [];
    expect(cluster?.capacityProviders).toEqual([provider.Name]);
    expect(cluster?.defaultCapacityProviderStrategy).toEqual([expect.objectContaining({ capacityProvider: provider.Name, weight: 1 })]);
    // the group starts at MinSize (no DesiredCapacity to reset) and protects its instances from scale-in
    const [group] = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [rack.stack.physical.AutoScalingGroup!] }))).AutoScalingGroups ?? [];
    expect(template.Resources.AutoScalingGroup!.Properties.DesiredCapacity).toBeUndefined();
    expect(group?.DesiredCapacity).toBe(Number(template.Resources.AutoScalingGroup!.Properties.MinSize));
    expect(group?.NewInstancesProtectedFromScaleIn).toBe(true);
    expect(group?.Instances?.every((i) => i.ProtectedFromScaleIn)).toBe(true);
    // the instances' user data names the cluster CloudFormation made
    expect(rack.stack.physical.Cluster).toBe(rack.resources.cluster);
    const table = await dynamodb.send(new DescribeTableCommand({ TableName: rack.resources.table }));
    expect(table.Table?.DeletionProtectionEnabled).toBe(true);
    for (const id of ['DeployStateMachine', 'DrainStateMachine']) {
      const machine = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: rack.stack.physical[id] }));
      expect(machine.loggingConfiguration, id).toMatchObject({ level: 'ERROR', includeExecutionData: false });
      const group = machine.loggingConfiguration?.destinations?.[0]?.cloudWatchLogsLogGroup?.logGroupArn;
      // (GetAtt … Arn of a log group ends in :* on AWS)
      expect(group, id).toMatch(new RegExp(`:log-group:${rack.stack.physical[`${id}LogGroup`]}(:\\*)?$`));
    }
    const attributes = (await elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: rack.stack.physical.LoadBalancer }))).Attributes ?? [];
    expect(attributes).toEqual(
      expect.arrayContaining([
        { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
        // no AccessLogsBucket: no access logs
        { Key: 'access_logs.s3.enabled', Value: 'false' },
      ]),
    );
    // both public subnets route through the rack's route table
    const [routes] = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rack.stack.physical.PublicRouteTable!] }))).RouteTables ?? [];
    expect(routes?.Associations?.map((a) => a.SubnetId).sort()).toEqual([rack.stack.physical.PublicSubnetA, rack.stack.physical.PublicSubnetB].sort());
  });

  it('wires every function from the module its Handler names, with the environment CloudFormation resolved for it', async () => {
    const functions = resourcesOfType('AWS::Lambda::Function');
    expect(rack.functions.all.map((f) => f.logicalId).sort()).toEqual(functions.map(([id]) => id).sort());
    for (const [id, resource] of functions) {
      const wired = rack.functions.all.find((f) => f.logicalId === id)!;
      expect(wired.handlerPath).toBe(resource.Properties.Handler);
      const config = await rack.aws.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: rack.stack.physical[id] }));
      expect(wired.environment).toEqual(config.Environment?.Variables);
      // the names are the template's; the values are the stack's
      expect(Object.keys(wired.environment).sort()).toEqual(Object.keys(resource.Properties.Environment.Variables).sort());
      // every name the template gives a function is one the code documents and reads
      for (const name of Object.keys(wired.environment)) expect(ENV_NAMES, `${id}.${name}`).toHaveProperty(name);
    }
    expect(rack.functions.get('prepare').environment.TABLE_NAME).toBe(rack.resources.table);
  });

  it('runs the state machines on the definitions the template packaged', async () => {
    for (const [id] of resourcesOfType('AWS::StepFunctions::StateMachine')) {
      const described = await rack.aws.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: rack.stack.physical[id] }));
      const definition = JSON.parse(described.definition!);
      const local = rack.stepFunctions.machine(described.stateMachineArn!).definition;
      expect(local).toEqual(definition);
      // the token path survives (moto's Fn::Sub would have made it $.Task.Token) and tasks name the rack's functions
      expect(described.definition).not.toMatch(/"\$\.Task\.Token"/);
      for (const state of Object.values(definition.States) as Array<{ Type: string; Resource?: string; Parameters?: { FunctionName?: string } }>) {
        const fn = state.Resource?.startsWith('arn:aws:lambda:') ? state.Resource : state.Parameters?.FunctionName;
        if (state.Type === 'Task' && fn) expect(rack.functions.get(fn).arn).toBe(fn);
      }
    }
  });

  it('keeps every rule with the template’s pattern, its Lambda target standing in as a queue of the same id', async () => {
    for (const [id, resource] of resourcesOfType('AWS::Events::Rule')) {
      const rule = await rack.aws.events.send(new DescribeRuleCommand({ Name: resource.Properties.Name }));
      if (resource.Properties.ScheduleExpression) {
        // a schedule rule keeps its expression; its target is taken off (moto would hand it every
        // event) and the local rack fires it itself (local/events.ts)
        expect(rule.ScheduleExpression, id).toBe(resource.Properties.ScheduleExpression);
        expect((await rack.aws.events.send(new ListTargetsByRuleCommand({ Rule: resource.Properties.Name }))).Targets ?? [], id).toEqual([]);
        expect(rack.events.schedules.map((s) => s.rule)).toContain(resource.Properties.Name);
        continue;
      }
      const pattern = mapIntrinsics(template, resource.Properties.EventPattern, rack.stack.parameters, (expression) => {
        // the pattern's intrinsics resolve to the stack's values, as CloudFormation resolved them
        if (expression.Ref === 'SourceBucket') return rack.resources.bucket;
        if (expression.Ref in rack.stack.parameters) return rack.stack.parameters[expression.Ref];
        return expression;
      });
      const stored = JSON.parse(rule.EventPattern!);
      if (!JSON.stringify(pattern).includes('Fn::')) expect(stored, id).toEqual(pattern);
      const targets = await rack.aws.events.send(new ListTargetsByRuleCommand({ Rule: resource.Properties.Name }));
      expect(
        targets.Targets?.map((t) => [t.Id, t.Arn?.split(':')[2]]),
        id,
      ).toEqual(resource.Properties.Targets.map((t: { Id: string }) => [t.Id, 'sqs']));
    }
  });
});

describe('two racks side by side in one process', () => {
  it('deploy apart: each rack has its own clients, store, clock and functions', async () => {
    const moto = await startMoto();
    try {
      const other = await localRack({ endpoint: moto.url, stage: 'local' });
      const tarball = await buildTarball([{ name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' }]);
      const [here, there] = await Promise.all([rack.deploy('twin', tarball), other.deploy('twin', tarball)]);
      expect([here.status, there.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      expect(rack.name).toBe(TEST_RACK);
      expect(other.name).toBe('rackless-local');
      expect((await rack.store.currentRelease('twin'))?.taskDefinitions.web).toContain(`${ecsService('twin', 'web')}:1`);
      expect((await other.store.currentRelease('twin'))?.taskDefinitions.web).toContain('rackless-local--twin--web:1');
      expect(rack.functions.get('prepare').environment.TABLE_NAME).not.toBe(other.functions.get('prepare').environment.TABLE_NAME);
    } finally {
      await moto.stop();
    }
    // a second stage is packaged (serverless package) unless a run before cached it
  }, 180_000);
});

describe('parameters that cannot work together', () => {
  const arm = '/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id';
  it.each([
    ['a VPC without its subnets', { VpcId: 'vpc-0123456789abcdef0' }, 'VpcNeedsItsSubnets'],
    ['a VPC with an empty subnet entry', { VpcId: 'vpc-0123456789abcdef0', SubnetIds: 'subnet-a,' }, 'VpcNeedsItsSubnets'],
    ['subnets without their VPC', { SubnetIds: 'subnet-a,subnet-b' }, 'SubnetsNeedTheirVpc'],
    ['a Graviton instance type with the x86_64 AMI', { InstanceType: 't4g.small' }, 'GravitonNeedsTheArmAmi'],
    ['the arm64 AMI with an x86_64 instance type', { ImageId: arm }, 'X86NeedsTheX86Ami'],
    ['another rack name than the packaged one', { RackName: 'rackless-other' }, 'RackNameIsThePackagedOne'],
  ])('refuses %s before anything is created', async (_label, parameters, rule) => {
    const stackName = `refused-${rule.toLowerCase()}`;
    const refused = provisionStack({ template, stackName, parameters, aws: rack.aws.factory, region: rack.region, account: '123456789012' });
    await expect(refused).rejects.toThrow(new RegExp(`refused by the template's Rules, before anything was created: .*${rule}: `));
    await expect(rack.aws.cfn.send(new DescribeStacksCommand({ StackName: stackName }))).rejects.toThrow(/does not exist/);
  });

  it.each([
    ['the defaults', {}],
    ['a VPC with its subnets', { VpcId: 'vpc-0123456789abcdef0', SubnetIds: 'subnet-a,subnet-b' }],
    ['a Graviton instance type with the arm64 AMI', { InstanceType: 'm7g.large', ImageId: arm }],
  ])('accepts %s', (_label, parameters) => {
    expect(brokenRules(template, parameterValues(template, parameters))).toEqual([]);
  });

  it.each([
    ['a cluster given as its ARN', { ExistingCluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/shared' }, /ExistingCluster: .*must be an ECS cluster's name/],
    ['a base image prefix ECR cannot name', { BaseImagePrefix: 'Base Images/' }, /BaseImagePrefix: .*must be the start of ECR repository names/],
  ])('refuses %s by the parameter’s own pattern', (_label, parameters, message) => {
    expect(() => parameterValues(template, parameters)).toThrow(message);
  });

  it('refuses a rack packaged from a stage that makes invalid ECR repository names', async () => {
    const upper = await packagedTemplate('Demo');
    expect(() => parameterValues(upper, {})).toThrow(/RackName: "rackless-Demo" does not match .*must be a valid ECR repository prefix/);
  }, 120_000);
});

describe('noValueInLists', () => {
  it('decides an Fn::If that picks AWS::NoValue inside a list by the stack’s conditions, as CloudFormation does', () => {
    const template = { Conditions: { Yes: { 'Fn::Equals': ['a', 'a'] }, No: { 'Fn::Equals': ['a', 'b'] } }, Resources: {} } as never;
    const statement = { Sid: 'x' };
    const node = {
      Statement: [{ 'Fn::If': ['No', statement, { Ref: 'AWS::NoValue' }] }, { 'Fn::If': ['Yes', statement, { Ref: 'AWS::NoValue' }] }, { 'Fn::If': ['No', 'a', 'b'] }],
    };
    expect(noValueInLists(template, node, {})).toEqual({ Statement: [statement, { 'Fn::If': ['No', 'a', 'b'] }] });
  });
});
