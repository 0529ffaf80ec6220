import { readdirSync, readFileSync } from 'node:fs';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { executionPolicy } from '../../shared/iam/app-roles.js';
import type { Manifest } from '../../shared/manifest/types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer } from './call-graph.js';
import { ACCOUNT, packageTemplate, RACK, REGION, resolve, rolePolicies, ROOT, type Template } from './template.js';

type Json = any;

const FUNCTIONS = readdirSync(`${ROOT}functions`)
  .filter((name) => {
    try {
      return readFileSync(`${ROOT}functions/${name}/handler.ts`, 'utf8').length > 0;
    } catch {
      return false;
    }
  })
  .sort();

function header(fn: string): string[] {
  const first = readFileSync(`${ROOT}functions/${fn}/handler.ts`, 'utf8').split('\n')[0] ?? '';
  const match = /^\/\/ AWS calls: (.+)$/.exec(first);
  if (!match) throw new Error(`functions/${fn}/handler.ts does not start with "// AWS calls: …"`);
  return match[1]!
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
}

/** Actions AWS authorises on top of a call, without a command of their own. */
const IMPLIED: Record<string, string> = {
  's3:DeleteObjectVersion': 'DeleteObject with a VersionId (build-context discard)',
  'ecs:TagResource': 'tags on CreateService / RegisterTaskDefinition',
  'ecr:TagResource': 'tags on CreateRepository',
  'logs:TagResource': 'tags on CreateLogGroup',
  'cloudwatch:TagResource': 'tags on PutMetricAlarm',
  'elasticloadbalancing:AddTags': 'tags on CreateTargetGroup / CreateRule',
  'iam:PassRole': 'roles named in RegisterTaskDefinition',
  'iam:TagRole': 'tags on CreateRole',
  's3:GetObjectVersion': 'GetObject with a VersionId',
  // @aws-sdk/lib-storage's Upload sends these itself (shared/aws/build-context.ts)
  's3:PutObject': 'lib-storage Upload: PutObject, or CreateMultipartUpload / UploadPart / CompleteMultipartUpload',
  's3:AbortMultipartUpload': 'lib-storage Upload.abort()',
  // Powertools' idempotency persistence layer (shared/aws/idempotency.ts) sends GetItem, PutItem and
  // UpdateItem, and DeleteItem to drop the claim of an action that failed (Notify's Publish)
  'dynamodb:DeleteItem': 'Powertools idempotency: deleteRecord after a failed action',
};

// fake physical names of the rack's resources (template.ts resolves the template to the same ones)
const arn = {
  table: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${RACK}-Table`,
  bucket: `arn:aws:s3:::${RACK}-sourcebucket`,
  topic: `arn:aws:sns:${REGION}:${ACCOUNT}:${RACK}-notifications`,
  deployMachine: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${RACK}-deploy`,
  drainMachine: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${RACK}-drain`,
  repository: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${RACK}/shop`,
  service: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${RACK}/${RACK}--shop--web`,
  taskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${RACK}--shop--web:7`,
  cluster: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${RACK}`,
  containerInstance: `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/${RACK}/0123456789abcdef0123456789abcdef`,
  task: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${RACK}/0123456789abcdef0123456789abcdef`,
  targetGroup: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/shop-web-1a2b3c/0123456789abcdef`,
  listener: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/${RACK}/0123456789abcdef/aaaaaaaaaaaaaaaa`,
  listenerRule: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener-rule/app/${RACK}/0123456789abcdef/aaaaaaaaaaaaaaaa/1111111111111111`,
  alarm: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${RACK}--shop--web--cpu`,
  appLogGroup: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/rackless/${RACK}/shop`,
  appLogStream: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/rackless/${RACK}/shop:log-stream:web/web/0123456789abcdef`,
  asg: `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:11111111-2222-3333-4444-555555555555:autoScalingGroupName/${RACK}-instances`,
  failedQueue: `arn:aws:sqs:${REGION}:${ACCOUNT}:${RACK}-failed-invocations`,
  executionRole: `arn:aws:iam::${ACCOUNT}:role/rackless/${RACK}/${RACK}--shop--execution`,
  boundary: `arn:aws:iam::${ACCOUNT}:policy/rackless/${RACK}/${RACK}-AppBoundary-0123456789AB`,
};

interface Target {
  resource: string;
  context?: Record<string, string | string[]>;
}

/** The resource each listed action acts on, and the request context AWS would send with it. */
function targetOf(fn: string, action: string): Target {
  const [service, name] = action.split(':') as [string, string];
  const rackTag = { 'aws:RequestTag/rackless:rack': RACK, 'aws:ResourceTag/rackless:rack': RACK, 'aws:TagKeys': ['rackless:rack'] };
  switch (service) {
    case 'dynamodb':
      return { resource: arn.table };
    case 'sns':
      return { resource: arn.topic };
    case 's3':
      // Prepare reads uploads under apps/ and writes build contexts under builds/
      if (['PutObject', 'AbortMultipartUpload', 'DeleteObject', 'DeleteObjectVersion'].includes(name))
        return { resource: `${arn.bucket}/builds/shop/exec.tar.gz`, context: { 'aws:SecureTransport': 'true' } };
      return { resource: `${arn.bucket}/apps/shop/shop.tar.gz`, context: { 'aws:SecureTransport': 'true' } };
    case 'ecr':
      return { resource: arn.repository };
    case 'cloudwatch':
      return { resource: arn.alarm };
    case 'iam':
      if (name === 'GetPolicy') return { resource: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess' };
      if (name === 'PassRole') return { resource: arn.executionRole, context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } };
      return { resource: arn.executionRole, context: { 'iam:PermissionsBoundary': arn.boundary } };
    case 'logs':
      return { resource: name === 'GetLogEvents' ? arn.appLogStream : arn.appLogGroup };
    case 'states':
      if (name === 'StartExecution') return { resource: fn === 'drain-start' ? arn.drainMachine : arn.deployMachine };
      if (name === 'DescribeExecution') return { resource: `${arn.deployMachine.replace(':stateMachine:', ':execution:')}:shop-0123456789abcdef01234567` };
      return { resource: '*' };
    case 'autoscaling':
      return { resource: name.startsWith('Describe') ? '*' : arn.asg };
    case 'ecs':
      if (name === 'RegisterTaskDefinition' || (name === 'TagResource' && (fn === 'release' || fn === 'rollback'))) return { resource: arn.taskDefinition };
      if (name === 'DescribeTaskDefinition') return { resource: '*' };
      if (name === 'ListContainerInstances') return { resource: arn.cluster };
      if (['DescribeContainerInstances', 'UpdateContainerInstancesState', 'ListTasks'].includes(name)) return { resource: arn.containerInstance };
      if (['DescribeTasks', 'StopTask'].includes(name)) return { resource: arn.task };
      return { resource: arn.service };
    case 'elasticloadbalancing':
      if (name.startsWith('Describe')) return { resource: '*' };
      if (name === 'CreateRule') return { resource: arn.listener };
      if (name === 'DeleteRule') return { resource: arn.listenerRule };
      return { resource: arn.targetGroup, context: rackTag };
  }
  throw new Error(`no target known for ${action} (add one to targetOf)`);
}

async function simulate(policies: Array<{ name: string; policy: Json }>, action: string, target: Target, resourcePolicy?: Json): Promise<string> {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/${RACK}-function`,
        action,
        resource: { resource: target.resource, accountId: ACCOUNT },
        contextVariables: { 'aws:SecureTransport': 'true', ...target.context },
      },
      identityPolicies: policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`${action}: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

function functionRoles(template: Template): Map<string, string> {
  const roles = new Map<string, string>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const fn = String(resource.Properties.FunctionName).replace(`${RACK}-`, '');
    roles.set(fn, resource.Properties.Role['Fn::GetAtt'][0]);
  }
  return roles;
}

let template: Template;
let roles: Map<string, string>;
let analyze: (file: string) => Set<string>;

beforeAll(() => {
  template = packageTemplate();
  roles = functionRoles(template);
  analyze = createAnalyzer(FUNCTIONS.map((fn) => `${ROOT}functions/${fn}/handler.ts`));
}, 240_000);

describe('serverless.yml', () => {
  it('deploys every function under functions/, each with a role of its own', () => {
    expect([...roles.keys()].sort()).toEqual(FUNCTIONS);
    expect(new Set(roles.values()).size).toBe(roles.size);
  });

  it('grants no Action "*" and no service-wide wildcard in any policy', () => {
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::IAM::Role') continue;
      for (const { policy } of rolePolicies(template, id)) {
        for (const statement of policy.Statement) {
          for (const action of [statement.Action].flat()) expect(action, `${id}: ${action}`).not.toMatch(/(^\*$|:\*$)/);
        }
      }
    }
  });

  it('keeps "Resource: *" to actions without resource-level permissions', () => {
    // per the Service Authorization Reference, these have no resource types (ecs:DescribeTaskDefinition included)
    // (and the state machines' log delivery: https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html)
    const allowed =
      /^(states:SendTask(Success|Failure)|elasticloadbalancing:Describe\w+|autoscaling:Describe\w+|ecr:GetAuthorizationToken|ecs:DescribeTaskDefinition|logs:(Create|Get|Update|Delete)LogDelivery|logs:ListLogDeliveries|logs:PutResourcePolicy|logs:DescribeResourcePolicies|logs:DescribeLogGroups)$/;
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::IAM::Role') continue;
      for (const { policy } of rolePolicies(template, id)) {
        for (const statement of policy.Statement) {
          if ([statement.Resource].flat().includes('*')) for (const action of [statement.Action].flat()) expect(action, id).toMatch(allowed);
        }
      }
    }
  });
});

describe.each(FUNCTIONS)('function %s', (fn) => {
  it('lists in its header exactly the AWS calls its code can reach', () => {
    const listed = new Set(header(fn));
    const reached = analyze(`${ROOT}functions/${fn}/handler.ts`);
    const unlisted = [...reached].filter((a) => !listed.has(a));
    const unused = [...listed].filter((a) => !reached.has(a) && !(a in IMPLIED));
    expect({ unlisted, unused }).toEqual({ unlisted: [], unused: [] });
  });

  it('is allowed every listed action on the rack resource it targets', async () => {
    const policies = rolePolicies(template, roles.get(fn)!);
    for (const action of header(fn)) {
      if (action === 'elasticloadbalancing:AddTags') {
        // iam-data knows AddTags only on load balancers, so the simulator cannot judge it: read the statement
        const statement = policies.flatMap((p) => p.policy.Statement).find((st: Json) => [st.Action].flat().includes(action));
        // tags only while creating: target groups and rules (Promote), or rules alone (Rollback re-creates them)
        const createsGroups = header(fn).includes('elasticloadbalancing:CreateTargetGroup');
        expect([statement.Resource].flat()).toEqual([
          ...(createsGroups ? [expect.stringMatching(/:targetgroup\/\*\/\*$/)] : []),
          expect.stringMatching(/^arn:aws:elasticloadbalancing:.*:listener-rule\/app\//),
        ]);
        expect(statement.Condition).toEqual({ StringEquals: { 'elasticloadbalancing:CreateAction': createsGroups ? ['CreateTargetGroup', 'CreateRule'] : 'CreateRule' } });
        continue;
      }
      expect(`${action} → ${await simulate(policies, action, targetOf(fn, action))}`).toBe(`${action} → Allowed`);
    }
  });

  it('is denied IAM, destruction, other stacks and other roles', async () => {
    const policies = rolePolicies(template, roles.get(fn)!);
    const denied: Array<[string, Target]> = [
      ['iam:CreateRole', { resource: `arn:aws:iam::${ACCOUNT}:role/anything` }],
      ['iam:AttachRolePolicy', { resource: `arn:aws:iam::${ACCOUNT}:role/${RACK}-TaskRole` }],
      // app roles only under the rack's path, only with the rack's boundary
      ['iam:CreateRole', { resource: arn.executionRole }],
      ['iam:CreateRole', { resource: arn.executionRole, context: { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/Admin` } }],
      ['iam:CreateRole', { resource: `arn:aws:iam::${ACCOUNT}:role/${RACK}-escape`, context: { 'iam:PermissionsBoundary': arn.boundary } }],
      ['iam:PutRolePolicy', { resource: arn.executionRole }],
      ['iam:DeleteRolePermissionsBoundary', { resource: arn.executionRole }],
      ['iam:PutRolePermissionsBoundary', { resource: arn.executionRole, context: { 'iam:PermissionsBoundary': arn.boundary } }],
      ['iam:PassRole', { resource: `arn:aws:iam::${ACCOUNT}:role/admin`, context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } }],
      ['iam:PassRole', { resource: arn.executionRole, context: { 'iam:PassedToService': 'lambda.amazonaws.com' } }],
      ['ecs:DeleteCluster', { resource: arn.cluster }],
      ['s3:DeleteBucket', { resource: arn.bucket }],
      ['s3:PutObject', { resource: `${arn.bucket}/apps/shop/x.tar.gz` }],
      ['s3:GetObject', { resource: `arn:aws:s3:::other-stack-sourcebucket/apps/shop/x.tar.gz` }],
      ['dynamodb:PutItem', { resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/other-stack-Table` }],
      ['dynamodb:DeleteTable', { resource: arn.table }],
      ['sns:Publish', { resource: `arn:aws:sns:${REGION}:${ACCOUNT}:other-stack-notifications` }],
      ['states:StartExecution', { resource: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:other-stack-deploy` }],
      ['ecs:UpdateService', { resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/other-cluster/other-stack--shop--web` }],
      // a rack whose name starts with this one's: names are `<rack>--…`, so its services stay out of reach
      ['ecs:UpdateService', { resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${RACK}/${RACK}-eu--shop--web` }],
      ['ecr:PutImage', { resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/other-stack/shop` }],
      ['elasticloadbalancing:ModifyTargetGroup', { resource: arn.targetGroup, context: { 'aws:ResourceTag/rackless:rack': 'other-stack' } }],
    ];
    for (const [action, target] of denied) {
      expect(`${action} on ${target.resource} → ${await simulate(policies, action, target)}`).toMatch(/→ (ImplicitlyDenied|ExplicitlyDenied)$/);
    }
  });
});

describe('the CodeBuild role', () => {
  it('reads build contexts under builds/ (never the uploads) and pushes to the rack repositories only', async () => {
    const policies = rolePolicies(template, 'BuildRole');
    expect(await simulate(policies, 's3:GetObject', { resource: `${arn.bucket}/builds/shop/exec.tar.gz` })).toBe('Allowed');
    expect(await simulate(policies, 's3:GetObject', { resource: `${arn.bucket}/apps/shop/x.tar.gz` })).toBe('ImplicitlyDenied');
    expect(await simulate(policies, 's3:GetObjectVersion', { resource: `${arn.bucket}/apps/shop/x.tar.gz` })).toBe('ImplicitlyDenied');
    expect(await simulate(policies, 'ecr:PutImage', { resource: arn.repository })).toBe('Allowed');
    expect(await simulate(policies, 'ecr:CompleteLayerUpload', { resource: arn.repository })).toBe('Allowed');
    for (const outside of [`${arn.bucket}/secrets.txt`, `${arn.bucket}/other/apps/x.tar.gz`, 'arn:aws:s3:::other-bucket/apps/x.tar.gz']) {
      expect(await simulate(policies, 's3:GetObject', { resource: outside }), outside).toBe('ImplicitlyDenied');
    }
    expect(await simulate(policies, 's3:PutObject', { resource: `${arn.bucket}/apps/shop/x.tar.gz` })).toBe('ImplicitlyDenied');
    expect(await simulate(policies, 'ecr:PutImage', { resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/other-stack/shop` })).toBe('ImplicitlyDenied');
    expect(await simulate(policies, 'ecr:DeleteRepository', { resource: arn.repository })).toBe('ImplicitlyDenied');
    expect(await simulate(policies, 'dynamodb:GetItem', { resource: arn.table })).toBe('ImplicitlyDenied');
  });
});

describe('the deploy state machine role', () => {
  it('can run the .sync CodeBuild integration on the rack project only', async () => {
    const policies = rolePolicies(template, 'DeployStateMachineRole');
    const project = `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${RACK}-build`;
    for (const action of ['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:BatchGetBuilds']) {
      expect(await simulate(policies, action, { resource: project }), action).toBe('Allowed');
      expect(await simulate(policies, action, { resource: `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/other` }), action).toBe('ImplicitlyDenied');
    }
    const managedRule = `arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventForCodeBuildStartBuildRule`;
    for (const action of ['events:PutTargets', 'events:PutRule', 'events:DescribeRule']) {
      expect(await simulate(policies, action, { resource: managedRule }), action).toBe('Allowed');
    }
    expect(await simulate(policies, 'events:PutTargets', { resource: `arn:aws:events:${REGION}:${ACCOUNT}:rule/other` })).toBe('ImplicitlyDenied');
    expect(await simulate(policies, 'lambda:InvokeFunction', { resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${RACK}-prepare` })).toBe('Allowed');
    expect(await simulate(policies, 'lambda:InvokeFunction', { resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${RACK}-drain-find` })).toBe('ImplicitlyDenied');
  });

  it('invokes every Lambda its definition names', async () => {
    const policies = rolePolicies(template, 'DeployStateMachineRole');
    const definition = template.Resources.DeployStateMachine.Properties.DefinitionString['Fn::Sub'];
    const functions = Object.values(definition[1] as Record<string, Json>).map((v) => resolve(template, v));
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) expect(await simulate(policies, 'lambda:InvokeFunction', { resource: fn }), fn).toBe('Allowed');
  });
});

describe('the per-app deployer policy in docs/iam.md', () => {
  it('lets a deployer upload its own app and nothing else', async () => {
    const doc = readFileSync(`${ROOT}docs/iam.md`, 'utf8');
    const block = /## The deployer's policy[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    const policy = JSON.parse(block!.replaceAll('BUCKET', `${RACK}-sourcebucket`).replaceAll('APP', 'shop'));
    const policies = [{ name: 'deployer', policy }];
    expect(await simulate(policies, 's3:PutObject', { resource: `${arn.bucket}/apps/shop/v2.tar.gz` })).toBe('Allowed');
    for (const outside of [`${arn.bucket}/apps/other/v2.tar.gz`, `${arn.bucket}/apps/shopping/v2.tar.gz`, `${arn.bucket}/v2.tar.gz`]) {
      expect(await simulate(policies, 's3:PutObject', { resource: outside }), outside).toBe('ImplicitlyDenied');
    }
    expect(await simulate(policies, 's3:DeleteObject', { resource: `${arn.bucket}/apps/shop/v2.tar.gz` })).toBe('ImplicitlyDenied');
  });

  it('is the policy the README shows', () => {
    const policyIn = (file: string) => JSON.parse(/```json\n(\{[\s\S]*?UploadTarballsOfOneApp[\s\S]*?)```/.exec(readFileSync(`${ROOT}${file}`, 'utf8'))![1]!);
    expect(policyIn('README.md')).toEqual(policyIn('docs/iam.md'));
  });
});

describe('the source bucket', () => {
  it('blocks public access, encrypts, versions, expires old versions and sends events to EventBridge', () => {
    const bucket = template.Resources.SourceBucket.Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toMatch(/^(AES256|aws:kms)$/);
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.NotificationConfiguration.EventBridgeConfiguration).toEqual({ EventBridgeEnabled: true });
    expect(bucket.LifecycleConfiguration.Rules.some((r: Json) => r.NoncurrentVersionExpiration)).toBe(true);
  });

  it('refuses requests without TLS, even from a role allowed to read', async () => {
    const policy = Object.values(template.Resources).find((r) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket.Ref === 'SourceBucket');
    const bucketPolicy = resolve(template, policy.Properties.PolicyDocument);
    const prepare = rolePolicies(template, roles.get('prepare')!);
    const target = `${arn.bucket}/apps/shop/shop.tar.gz`;
    expect(await simulate(prepare, 's3:GetObject', { resource: target, context: { 'aws:SecureTransport': 'true' } }, bucketPolicy)).toBe('Allowed');
    expect(await simulate(prepare, 's3:GetObject', { resource: target, context: { 'aws:SecureTransport': 'false' } }, bucketPolicy)).toBe('ExplicitlyDenied');
  });
});

describe('events', () => {
  it('gives every EventBridge target a retry policy and a dead-letter queue', () => {
    const rules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const rule of rules) {
      for (const target of rule.Properties.Targets) {
        expect(target.RetryPolicy, rule.Properties.Name).toBeDefined();
        expect(target.DeadLetterConfig?.Arn, rule.Properties.Name).toEqual({ 'Fn::GetAtt': ['EventsDeadLetterQueue', 'Arn'] });
      }
    }
  });

  it('gives every asynchronously invoked function an on-failure destination', () => {
    const invokedAsync = new Set<string>();
    for (const resource of Object.values(template.Resources)) {
      if (resource.Type === 'AWS::Events::Rule') for (const t of resource.Properties.Targets) invokedAsync.add(t.Arn['Fn::GetAtt'][0]);
      if (resource.Type === 'AWS::SNS::Subscription' && resource.Properties.Protocol === 'lambda') invokedAsync.add(resource.Properties.Endpoint['Fn::GetAtt'][0]);
    }
    expect(invokedAsync.size).toBeGreaterThan(0);
    const configs = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig');
    for (const fn of invokedAsync) {
      const config = configs.find((c) => c.Properties.FunctionName.Ref === fn);
      expect(config?.Properties.DestinationConfig.OnFailure.Destination, fn).toEqual({ 'Fn::GetAtt': ['FailedInvocationsQueue', 'Arn'] });
    }
  });
});

describe("an app's roles", () => {
  const where = { partition: 'aws', account: ACCOUNT, region: REGION };
  const naming = { name: RACK, ecrPrefix: RACK, logGroupPrefix: `/rackless/${RACK}` };
  const parameter = (app: string, name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/rackless/${RACK}/${app}/${name}`;
  const boundary = () => [{ name: 'AppBoundary', policy: resolve(template, template.Resources.AppBoundary!.Properties.PolicyDocument) }];

  /** A request by one app's role: its identity policy, the rack's boundary, its rackless:app tag. */
  async function asApp(app: string, identity: Json, action: string, resource: string, resourcePolicy?: Json): Promise<string> {
    const result = await runSimulation(
      {
        request: {
          principal: `arn:aws:iam::${ACCOUNT}:role/rackless/${RACK}/${RACK}--${app}--execution`,
          action,
          resource: { resource, accountId: ACCOUNT },
          contextVariables: { 'aws:SecureTransport': 'true', 'aws:PrincipalTag/rackless:app': app, 'aws:PrincipalTag/rackless:rack': RACK },
        },
        identityPolicies: [{ name: 'app', policy: identity }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        permissionBoundaryPolicies: boundary(),
        ...(resourcePolicy ? { resourcePolicy } : {}),
      },
      {},
    );
    if (result.resultType === 'error') throw new Error(`${action}: ${JSON.stringify(result.errors)}`);
    return result.overallResult;
  }

  const manifest = {
    services: [{ name: 'web', image: 'httpd:2.4', secrets: { DB: `/rackless/${RACK}/shop/db` } }],
    kms: [`arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`],
  } as unknown as Manifest;

  it("the execution role reads its own app's parameters and not another app's", async () => {
    const policy = executionPolicy(naming, 'shop', where, manifest) as unknown as Json;
    expect(await asApp('shop', policy, 'ssm:GetParameters', parameter('shop', 'db'))).toBe('Allowed');
    expect(await asApp('shop', policy, 'ssm:GetParameters', parameter('cart', 'db'))).toBe('ImplicitlyDenied');
    expect(await asApp('shop', policy, 'ecr:BatchGetImage', `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${RACK}/shop`)).toBe('Allowed');
    expect(await asApp('shop', policy, 'ecr:BatchGetImage', `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${RACK}/cart`)).toBe('ImplicitlyDenied');
    expect(await asApp('shop', policy, 'logs:PutLogEvents', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/rackless/${RACK}/cart:log-stream:x`)).toBe('ImplicitlyDenied');
    // a KMS key's own policy must let IAM decide (the default key policy does: "Enable IAM User Permissions")
    const keyPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] };
    expect(await asApp('shop', policy, 'kms:Decrypt', manifest.kms![0]!, keyPolicy)).toBe('Allowed');
    expect(await asApp('shop', policy, 'kms:Decrypt', `arn:aws:kms:${REGION}:${ACCOUNT}:key/other`, keyPolicy)).toBe('ImplicitlyDenied');
  });

  it("the boundary holds even when a role's policy is widened: no other app's parameters, no rack machinery, no IAM", async () => {
    const everything = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    expect(await asApp('shop', everything, 'ssm:GetParameters', parameter('shop', 'db'))).toBe('Allowed');
    expect(await asApp('shop', everything, 'ssm:GetParameters', parameter('cart', 'db'))).toBe('ImplicitlyDenied');
    expect(await asApp('shop', everything, 's3:GetObject', 'arn:aws:s3:::some-app-bucket/data.json')).toBe('Allowed');
    for (const [action, resource] of [
      ['iam:CreateRole', `arn:aws:iam::${ACCOUNT}:role/escalate`],
      ['iam:PutRolePolicy', `arn:aws:iam::${ACCOUNT}:role/rackless/${RACK}/${RACK}--shop--task`],
      ['dynamodb:PutItem', arn.table],
      ['s3:PutObject', `${arn.bucket}/apps/cart/evil.tar.gz`],
      ['states:StartExecution', arn.deployMachine],
      ['sns:Publish', arn.topic],
      ['lambda:InvokeFunction', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${RACK}-promote`],
      // the rack does not allow Secrets Manager by default (appSecretsManager: false)
      ['secretsmanager:GetSecretValue', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:db-AbCdEf`],
    ] as const) {
      expect(`${action} → ${await asApp('shop', everything, action, resource)}`).toMatch(/→ (ImplicitlyDenied|ExplicitlyDenied)$/);
    }
  });

  it('the execution role reads exactly the Secrets Manager secrets its manifest declares', async () => {
    const declared = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:db-AbCdEf`;
    const withSecret = { ...manifest, services: [{ ...manifest.services[0]!, secrets: { DB: `${declared}:password::` } }] } as Manifest;
    const policy = executionPolicy(naming, 'shop', where, withSecret) as unknown as Json;
    expect(policy.Statement.find((s: Json) => s.Sid === 'Secrets').Resource).toEqual([declared]);
    const identity = (action: string, resource: string) =>
      runSimulation(
        {
          request: { principal: `arn:aws:iam::${ACCOUNT}:role/x`, action, resource: { resource, accountId: ACCOUNT }, contextVariables: {} },
          identityPolicies: [{ name: 'app', policy }],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
        },
        {},
      ).then((r) => (r.resultType === 'error' ? JSON.stringify(r.errors) : r.overallResult));
    expect(await identity('secretsmanager:GetSecretValue', declared)).toBe('Allowed');
    expect(await identity('secretsmanager:GetSecretValue', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:other-XyZ123`)).toBe('ImplicitlyDenied');
  });
});

describe('the rack template’s other roles', () => {
  it('lets builds pull the base images of the rack’s BaseImagePrefix repositories, and push nowhere but the rack’s', async () => {
    const policies = rolePolicies(template, 'BuildRole');
    const prefix = template.Parameters!.BaseImagePrefix.Default as string;
    const base = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${prefix}node`;
    for (const action of ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability']) {
      expect(await simulate(policies, action, { resource: base }), action).toBe('Allowed');
      expect(await simulate(policies, action, { resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/other/node` }), action).toBe('ImplicitlyDenied');
    }
    expect(await simulate(policies, 'ecr:PutImage', { resource: base })).toBe('ImplicitlyDenied');
  });

  it('lets both state machines deliver their logs', async () => {
    for (const role of ['DeployStateMachineRole', 'DrainStateMachineRole']) {
      const policies = rolePolicies(template, role);
      for (const action of [
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ]) {
        expect(await simulate(policies, action, { resource: '*' }), `${role} ${action}`).toBe('Allowed');
      }
    }
  });
});
