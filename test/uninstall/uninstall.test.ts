import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationAutoScalingClient, DescribeScalableTargetsCommand, RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeAlarmsCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, ListTaskDefinitionFamiliesCommand, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { DescribeLoadBalancersCommand, DescribeRulesCommand, DescribeTagsCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListRuleNamesByTargetCommand, ListTargetsByRuleCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { ListRolesCommand } from '@aws-sdk/client-iam';
import { ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { HeadBucketCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetParametersByPathCommand, ListTagsForResourceCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetMoto } from '../../local/moto.js';
import { LOCAL_ACCOUNT, LocalRack } from '../../local/rack.js';
import { RACK_SERVICES } from '../../shared/uninstall/rack.js';
import { motoUrl } from '../support/local-rack.js';
import { buildTarball } from '../support/tarballs.js';
import { type Harness, startHarness } from '../cli/harness.js';
import { TEST_RACK, TEST_STAGE, ecsService } from '../support/stage.js';

/**
 * `rackless apps delete` and `rackless rack uninstall`, end to end on a local rack: two apps deployed
 * through the CLI (one with a secret, one with a redeploy schedule), one deleted while the other
 * keeps serving, then the whole rack — with what is left asserted in moto per resource type.
 */
let h: Harness;
const dirs: string[] = [];
let redeployArn: string;
const FOREIGN_ALARM = `${TEST_RACK}--shop--web--custom`;
const settings = () => ({ endpoint: h.rack.options.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

async function appDir(manifest: string, page: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rackless-uninstall-'));
  dirs.push(dir);
  await writeFile(join(dir, 'Dockerfile'), 'FROM httpd:2.4\nCOPY index.html /usr/local/apache2/htdocs/\nEXPOSE 80\n');
  await writeFile(join(dir, 'index.html'), `<h1>${page}</h1>\n`);
  await writeFile(join(dir, 'rackless.yml'), manifest);
  return dir;
}

/** The answer, or `empty` when what is asked about is itself gone (after the stack's deletion). */
async function unlessGone<T>(call: Promise<T>, empty: T, ...names: string[]): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (names.includes((error as Error).name)) return empty;
    throw error;
  }
}

/** Everything of one app in moto, per resource type: names only, so a failing assertion says what is left. */
async function leftOf(app: string) {
  const { aws, resources } = h.rack;
  const prefix = `${TEST_RACK}--${app}--`;
  const service = await unlessGone(
    aws.ecs.send(new DescribeServicesCommand({ cluster: resources.cluster, services: [ecsService(app)] })),
    { services: [], $metadata: {} },
    'ClusterNotFoundException',
  );
  const groups = (await aws.elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  const tags = groups.length ? ((await aws.elb.send(new DescribeTagsCommand({ ResourceArns: groups.map((g) => g.TargetGroupArn!) }))).TagDescriptions ?? []) : [];
  const appGroups = tags.filter((t) => t.Tags?.some((tag) => tag.Key === 'rackless:app' && tag.Value === app)).map((t) => t.ResourceArn!);
  const rules = (
    (await unlessGone(aws.elb.send(new DescribeRulesCommand({ ListenerArn: resources.listenerArn })), { $metadata: {} }, 'ListenerNotFoundException')).Rules ?? []
  ).filter((r) => r.Actions?.some((a) => appGroups.includes(a.TargetGroupArn ?? '')));
  const families = (await aws.ecs.send(new ListTaskDefinitionFamiliesCommand({ familyPrefix: prefix }))).families ?? [];
  const revisions = [];
  for (const status of ['ACTIVE', 'INACTIVE'] as const) {
    for (const family of families) revisions.push(...((await aws.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status }))).taskDefinitionArns ?? []));
  }
  const repositories = ((await aws.ecr.send(new DescribeRepositoriesCommand({}))).repositories ?? []).map((r) => r.repositoryName!).filter((n) => n === `${TEST_RACK}/${app}`);
  const objects = await unlessGone(aws.s3.send(new ListObjectVersionsCommand({ Bucket: resources.bucket })), { $metadata: {} }, 'NoSuchBucket');
  const items = await unlessGone(aws.dynamodb.send(new ScanCommand({ TableName: resources.table })), { $metadata: {} }, 'ResourceNotFoundException');
  const scheduleTargets = [];
  for (const rule of (await aws.events.send(new ListRuleNamesByTargetCommand({ TargetArn: redeployArn }))).RuleNames ?? []) {
    for (const t of (await aws.events.send(new ListTargetsByRuleCommand({ Rule: rule }))).Targets ?? [])
      if (t.Input?.includes(`"app":"${app}"`)) scheduleTargets.push(`${rule}/${t.Id}`);
  }
  const scaling = new ApplicationAutoScalingClient(settings());
  return {
    services: (service.services ?? []).filter((s) => s.status !== 'INACTIVE').map((s) => s.serviceName),
    targetGroups: appGroups,
    rules: rules.map((r) => r.RuleArn),
    alarms: ((await aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: prefix }))).MetricAlarms ?? []).map((a) => a.AlarmName),
    scalableTargets: ((await scaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs' }))).ScalableTargets ?? [])
      .map((t) => t.ResourceId)
      .filter((id) => id?.includes(prefix)),
    scheduleTargets,
    taskDefinitions: revisions,
    repositories,
    logGroups: ((await aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: `/rackless/${TEST_RACK}/${app}` }))).logGroups ?? []).map((g) => g.logGroupName),
    parameters: ((await aws.ssm.send(new GetParametersByPathCommand({ Path: `/rackless/${TEST_RACK}/${app}/`, Recursive: true }))).Parameters ?? []).map((p) => p.Name),
    roles: ((await aws.iam.send(new ListRolesCommand({ PathPrefix: `/rackless/${TEST_RACK}/` }))).Roles ?? []).map((r) => r.RoleName!).filter((n) => n.startsWith(prefix)),
    objects: [...(objects.Versions ?? []), ...(objects.DeleteMarkers ?? [])].map((v) => v.Key!).filter((k) => k.startsWith(`apps/${app}/`) || k.startsWith(`builds/${app}/`)),
    domains: (await unlessGone(h.store.getDomains(), { version: 0, claims: [] }, 'ResourceNotFoundException')).claims.filter((c) => c.app === app).map((c) => c.host),
    tableItems: (items.Items ?? [])
      .map((i) => `${i.pk?.S}|${i.sk?.S}`)
      .filter((k) => k.startsWith(`APP#${app}|`) || k.startsWith(`ALARM#${prefix}`) || k.includes(`:task-definition/${prefix}`)),
  };
}

const NOTHING = {
  services: [],
  targetGroups: [],
  rules: [],
  alarms: [],
  scalableTargets: [],
  scheduleTargets: [],
  taskDefinitions: [],
  repositories: [],
  logGroups: [],
  parameters: [],
  roles: [],
  objects: [],
  domains: [],
  tableItems: [],
};

/**
 * The rack is given a VPC of its own making (parameters VpcId, SubnetIds — "bring your own VPC"):
 * moto 5.2.1's CloudFormation cannot delete the VPC a rack makes, because it deletes neither route
 * tables nor internet gateways (their models have no CloudFormation delete) and then refuses the VPC
 * as "has dependencies". With a brought VPC the stack deletes as on AWS.
 */
async function rackInOwnVpc() {
  const endpoint = motoUrl();
  await resetMoto(endpoint);
  const ec2 = new EC2Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc!.VpcId!;
  const subnets = [];
  for (const [cidr, zone] of [
    ['10.20.1.0/24', 'us-east-1a'],
    ['10.20.2.0/24', 'us-east-1b'],
  ] as const) {
    subnets.push((await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: cidr, AvailabilityZone: zone }))).Subnet!.SubnetId!);
  }
  return LocalRack.start({ stage: TEST_STAGE, endpoint, parameters: { VpcId: vpc, SubnetIds: subnets.join(',') } });
}

beforeAll(async () => {
  h = await startHarness(rackInOwnVpc);
  redeployArn = `arn:aws:lambda:us-east-1:${LOCAL_ACCOUNT}:function:${h.rack.stack.physical.RedeployLambdaFunction}`;
  // shop: a secret set before its first deploy, read by its service as a bare environment name
  expect((await h.cli(['env', 'set', 'DB_PASSWORD=hunter2', '--secret', '--app', 'shop'])).code).toBe(0);
  const shop = await h.cli(['deploy', await appDir('services:\n  web:\n    build: .\n    port: 80\n    environment: [DB_PASSWORD]\n', 'shop'), '--app', 'shop']);
  expect(shop.stderr).toBe('');
  expect(shop.code).toBe(0);
  // blog: deployed twice (two task definition revisions), with a nightly rebuild schedule
  for (const page of ['blog one', 'blog two'])
    expect((await h.cli(['deploy', await appDir('services:\n  web:\n    build: .\n    port: 80\n', page), '--app', 'blog'])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await h.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('rackless apps delete', () => {
  it('refuses while a deploy of the app runs; --force stops that deploy, then deletes the app', async () => {
    h.rack.simulator.next('cart', { outcome: 'complete', hold: true });
    const tarball = await buildTarball([
      { name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' },
      { name: 'rackless.yml', body: 'services:\n  web:\n    build: .\n    port: 80\n' },
    ]);
    const { versionId } = await h.rack.upload('apps/cart/v1.tar.gz', tarball);
    const [execution] = h.rack.executionsFor('apps/cart/v1.tar.gz', versionId);
    await h.rack.reached(execution!.name, 'Watch');
    const before = await leftOf('cart');
    expect(before.services).toEqual([ecsService('cart')]);

    const refused = await h.cli(['apps', 'delete', 'cart', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: a deploy of app cart is running (execution ${execution!.name}); nothing was deleted`);
    expect(await leftOf('cart')).toEqual(before);

    const forced = await h.cli(['apps', 'delete', 'cart', '--yes', '--force']);
    expect(forced.stderr).toContain(`Stopping deploy ${execution!.name} of cart`);
    expect(forced.stderr).toContain(`Waiting for services ${ecsService('cart')} to drain`);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/\nDELETED +COUNT\necs services +1\ntarget groups +1\nlistener rules +1\n/);
    expect(forced.stdout).toContain(`App cart is deleted from rack ${TEST_RACK}.\n`);
    h.rack.simulator.release('cart');
    expect((await h.rack.finish(execution!.name)).status).toBe('ABORTED');
    await h.rack.settled();
    expect(await leftOf('cart')).toEqual(NOTHING);
  });

  describe('of an app with a secret, beside one with a redeploy schedule', () => {
    // rules that target a Lambda function make moto 5.2.1 fail every PutEvents (it delivers to
    // SQS, logs and buses only): made after the deploys, and nothing is uploaded after them
    beforeAll(async () => {
      // the schedules README describes: rules targeting the redeploy function with the app as constant input
      await h.rack.aws.events.send(new PutRuleCommand({ Name: `${TEST_RACK}-blog-nightly`, ScheduleExpression: 'cron(0 3 * * ? *)' }));
      await h.rack.aws.events.send(
        new PutTargetsCommand({ Rule: `${TEST_RACK}-blog-nightly`, Targets: [{ Id: 'blog', Arn: redeployArn, Input: '{"app":"blog","rebuild":true}' }] }),
      );
      await h.rack.aws.events.send(new PutRuleCommand({ Name: `${TEST_RACK}-weekly`, ScheduleExpression: 'rate(7 days)' }));
      await h.rack.aws.events.send(
        new PutTargetsCommand({
          Rule: `${TEST_RACK}-weekly`,
          Targets: [
            { Id: 'shop', Arn: redeployArn, Input: '{"app":"shop","rebuild":true}' },
            { Id: 'blog', Arn: redeployArn, Input: '{"app":"blog","rebuild":true}' },
          ],
        }),
      );
      // an operator scaled shop's service with Application Auto Scaling
      await new ApplicationAutoScalingClient(settings()).send(
        new RegisterScalableTargetCommand({
          ServiceNamespace: 'ecs',
          ResourceId: `service/${h.rack.resources.cluster}/${ecsService('shop')}`,
          ScalableDimension: 'ecs:service:DesiredCount',
          MinCapacity: 1,
          MaxCapacity: 3,
        }),
      );
      // at a name of shop's, an alarm another rack made: never shop's to delete
      await h.rack.aws.cloudwatch.send(
        new PutMetricAlarmCommand({
          AlarmName: FOREIGN_ALARM,
          Namespace: 'AWS/ECS',
          MetricName: 'CPUUtilization',
          Statistic: 'Average',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 90,
          ComparisonOperator: 'GreaterThanThreshold',
          Tags: [
            { Key: 'rackless:rack', Value: 'rackless-other' },
            { Key: 'rackless:app', Value: 'shop' },
          ],
        }),
      );
    });

    it('starts with both apps complete in moto', async () => {
      for (const app of ['shop', 'blog']) {
        const left = await leftOf(app);
        expect(left.services).toEqual([ecsService(app)]);
        expect(left.targetGroups).toHaveLength(1);
        expect(left.rules).toHaveLength(1);
        expect(left.alarms.length).toBeGreaterThan(0);
        expect(left.repositories).toHaveLength(1);
        expect(left.logGroups).toHaveLength(1);
        expect(left.roles).toHaveLength(2);
        expect(left.tableItems.length).toBeGreaterThan(0);
        expect(left.domains).toEqual([`web.${app}.${TEST_RACK}.internal`]);
      }
      expect((await leftOf('shop')).parameters).toEqual([`/rackless/${TEST_RACK}/shop/DB_PASSWORD`]);
      // `env set --secret` tags what it stores, as every resource of an app is
      const tags = await h.rack.aws.ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: `/rackless/${TEST_RACK}/shop/DB_PASSWORD` }));
      expect(tags.TagList).toEqual([
        { Key: 'rackless:rack', Value: TEST_RACK },
        { Key: 'rackless:app', Value: 'shop' },
      ]);
      expect((await leftOf('shop')).scalableTargets).toHaveLength(1);
      expect((await leftOf('blog')).taskDefinitions).toHaveLength(2);
      expect((await leftOf('blog')).scheduleTargets.sort()).toEqual([`${TEST_RACK}-blog-nightly/blog`, `${TEST_RACK}-weekly/blog`]);
    });

    it('refuses without a terminal to ask and without --yes, and changes nothing', async () => {
      const before = await leftOf('shop');
      const result = await h.cli(['apps', 'delete', 'shop']);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`Deleting app shop from rack ${TEST_RACK} deletes:`);
      expect(result.stdout).toContain(`ECS services (1): ${ecsService('shop')}`);
      expect(result.stdout).toContain(`SSM parameters (1): /rackless/${TEST_RACK}/shop/DB_PASSWORD`);
      expect(result.stdout).toContain(`Left as it is: CloudWatch alarm ${FOREIGN_ALARM} (it belongs to rack rackless-other)\n`);
      expect(result.stderr).toContain('error: refusing to delete without a confirmation: stdin is not a terminal\nhint: pass --yes to delete without being asked');
      expect(await leftOf('shop')).toEqual(before);
    });

    it('asks on a terminal and deletes nothing unless the answer is yes', async () => {
      const before = await leftOf('shop');
      const asked: string[] = [];
      const io = await import('../../cli/io.js').then((m) => m.bufferIo());
      const { run } = await import('../../cli/main.js');
      const code = await h.rack.scheduler.until(
        run(['--endpoint-url', h.bridge.url, '--rack', TEST_RACK, 'apps', 'delete', 'shop'], {
          ...io,
          ask: async (q) => {
            asked.push(q);
            return 'n';
          },
        }),
        { patient: true },
      );
      expect(asked).toEqual(['Delete app shop and everything listed? [y/N] ']);
      expect(code).toBe(1);
      expect(io.stderr()).toContain('nothing was deleted: not confirmed');
      expect(await leftOf('shop')).toEqual(before);
    });

    it('fails naming the delete that failed, and a second run completes; the other app keeps everything', async () => {
      const blogBefore = await leftOf('blog');
      h.bridge.faults.push({ operation: 'DeleteRepository', type: 'AccessDeniedException', message: 'User is not authorized to perform: ecr:DeleteRepository' });
      const failed = await h.cli(['apps', 'delete', 'shop', '--yes']);
      h.bridge.faults.length = 0;
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain(
        `error: deleting ECR repository ${TEST_RACK}/shop of app shop failed: AccessDeniedException: User is not authorized to perform: ecr:DeleteRepository\nhint: fix the cause and run \`rackless apps delete shop\` again: it goes on from where it stopped`,
      );
      // what came before the failure is gone, what came after is still there
      const half = await leftOf('shop');
      expect([half.services, half.targetGroups, half.rules, half.alarms, half.scalableTargets, half.scheduleTargets, half.taskDefinitions]).toEqual([
        [],
        [],
        [],
        [FOREIGN_ALARM],
        [],
        [],
        [],
      ]);
      expect([half.repositories.length, half.logGroups.length, half.parameters.length, half.roles.length, half.tableItems.length > 0]).toEqual([1, 1, 1, 2, true]);

      const again = await h.cli(['apps', 'delete', 'shop', '--yes', '--json']);
      expect(again.stderr).not.toContain('error');
      expect(again.code).toBe(0);
      const { deleted } = JSON.parse(again.stdout);
      console.info(`apps delete shop (second run) deleted, per resource type: ${JSON.stringify(deleted)}`);
      expect(deleted).toMatchObject({ 'ecs services': 0, 'ecr repositories': 1, 'log groups': 1, 'ssm parameters': 1, 'iam roles': 2 });
      expect(deleted['source objects']).toBeGreaterThan(0);
      expect(deleted['table items']).toBeGreaterThan(0);
      // all of shop's is gone; what another rack made at one of its names is still there
      expect(await leftOf('shop')).toEqual({ ...NOTHING, alarms: [FOREIGN_ALARM] });
      expect(await h.store.getApp('shop')).toBeUndefined();

      // blog: every resource as it was, still serving, its schedule target on the shared rule kept
      expect(await leftOf('blog')).toEqual(blogBefore);
      const blog = await h.rack.aws.ecs.send(new DescribeServicesCommand({ cluster: h.rack.resources.cluster, services: [ecsService('blog')] }));
      expect(blog.services?.[0]).toMatchObject({ status: 'ACTIVE', desiredCount: 1, runningCount: 1 });
      const weekly = (await h.rack.aws.events.send(new ListTargetsByRuleCommand({ Rule: `${TEST_RACK}-weekly` }))).Targets ?? [];
      expect(weekly.map((t) => t.Id)).toEqual(['blog']);
      const apps = JSON.parse((await h.cli(['apps', '--json'])).stdout);
      expect(apps.map((a: { app: string; status: string }) => [a.app, a.status])).toEqual([['blog', 'running']]);
    });

    it('says there is nothing to delete once the app is gone', async () => {
      const result = await h.cli(['apps', 'delete', 'shop', '--yes']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`error: app shop does not exist in rack ${TEST_RACK}: nothing of it is left to delete`);
    });
  });
});

describe('rackless rack uninstall', () => {
  it('deletes every app, empties the bucket, deletes the stack: nothing tagged with the rack remains', async () => {
    const stackId = (await h.rack.aws.cfn.send(new DescribeStacksCommand({ StackName: TEST_RACK }))).Stacks![0]!.StackId!;
    // what `serverless deploy` leaves in its deployment bucket: CloudFormation deletes only an empty bucket
    const deploymentBucket = h.rack.stack.physical.ServerlessDeploymentBucket!;
    await h.rack.aws.s3.send(new PutObjectCommand({ Bucket: deploymentBucket, Key: 'serverless/rackless/demo/1/compiled-cloudformation-template.json', Body: '{}' }));
    const group = (await h.rack.aws.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [h.rack.stack.physical.AutoScalingGroup!] }))).AutoScalingGroups![0]!;
    const protectedBefore = (group.Instances ?? []).filter((i) => i.ProtectedFromScaleIn).length;
    const result = await h.cli(['rack', 'uninstall', '--yes', '--json']);
    expect(result.stderr).not.toContain('error');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.stack).toEqual({ status: 'DELETE_COMPLETE' });
    expect(Object.keys(report.perApp)).toEqual(['blog']);
    expect(report.deleted).toMatchObject({
      'ecs services': 1,
      'target groups': 1,
      'listener rules': 1,
      'task definitions': 2,
      'ecr repositories': 1,
      'log groups': 1,
      'iam roles': 2,
      'schedule rules': 2,
    });
    expect(report.leftTagged).toEqual([]);
    expect(report.bucketObjects).toEqual({ [h.rack.resources.bucket]: 0, [deploymentBucket]: 1 });
    // the capacity provider keeps every instance protected from scale-in: released before DeleteStack
    expect(report.unprotected).toEqual({ [h.rack.stack.physical.AutoScalingGroup!]: protectedBefore });
    expect(protectedBefore).toBeGreaterThan(0);
    console.info(`rack uninstall deleted, per resource type: ${JSON.stringify(report.deleted)}; buckets emptied: ${JSON.stringify(report.bucketObjects)}`);

    // per resource type, in moto
    expect(await leftOf('blog')).toEqual(NOTHING);
    const { aws } = h.rack;
    // one service at a time: moto 5.2.1 answers an unfiltered GetResources with HTTP 500 once a
    // cluster is deleted (its tag list is None)
    const tagging = new ResourceGroupsTaggingAPIClient(settings());
    const tagged: Record<string, string[]> = {};
    for (const service of RACK_SERVICES) {
      const found = await tagging.send(new GetResourcesCommand({ TagFilters: [{ Key: 'rackless:rack', Values: [TEST_RACK] }], ResourceTypeFilters: [service] }));
      tagged[service] = (found.ResourceTagMappingList ?? []).map((r) => r.ResourceARN!);
    }
    expect(tagged).toEqual(Object.fromEntries(RACK_SERVICES.map((s) => [s, []])));
    expect(((await aws.ecr.send(new DescribeRepositoriesCommand({}))).repositories ?? []).filter((r) => r.repositoryName?.startsWith(`${TEST_RACK}/`))).toEqual([]);
    expect(((await aws.iam.send(new ListRolesCommand({ PathPrefix: `/rackless/${TEST_RACK}/` }))).Roles ?? []).map((r) => r.RoleName)).toEqual([]);
    expect(((await aws.ssm.send(new GetParametersByPathCommand({ Path: `/rackless/${TEST_RACK}/`, Recursive: true }))).Parameters ?? []).map((p) => p.Name)).toEqual([]);
    expect((await aws.events.send(new ListRuleNamesByTargetCommand({ TargetArn: redeployArn }))).RuleNames ?? []).toEqual([]);
    expect((await aws.elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? []).toEqual([]);
    // (moto's ECS cluster has no CloudFormation delete: it stays in moto, untagged; on AWS DeleteStack deletes it)
    await expect(aws.s3.send(new HeadBucketCommand({ Bucket: h.rack.resources.bucket }))).rejects.toThrow();
    const functions = (await aws.lambda.send(new ListFunctionsCommand({}))).Functions ?? [];
    expect(functions.map((f) => f.FunctionName).filter((n) => n?.startsWith(`${TEST_RACK}-`))).toEqual([]);
    // the table goes with the stack, unless the template keeps it (DeletionPolicy Retain): then it is said
    const table = await unlessGone(aws.dynamodb.send(new DescribeTableCommand({ TableName: h.rack.resources.table })), undefined, 'ResourceNotFoundException');
    if (h.rack.stack.template.Resources.Table?.DeletionPolicy === 'Retain') {
      expect(table?.Table?.TableName).toBe(h.rack.resources.table);
      expect(report.retained).toEqual([{ logicalId: 'Table', type: 'AWS::DynamoDB::Table', physicalId: h.rack.resources.table }]);
    } else {
      expect(table).toBeUndefined();
      expect(report.retained).toEqual([]);
    }
    // by name a deleted stack does not exist; by id it is DELETE_COMPLETE
    await expect(aws.cfn.send(new DescribeStacksCommand({ StackName: TEST_RACK }))).rejects.toThrow(/does not exist/);
    expect((await aws.cfn.send(new DescribeStacksCommand({ StackName: stackId }))).Stacks?.[0]?.StackStatus).toBe('DELETE_COMPLETE');
  });
});
