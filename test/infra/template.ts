import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The packaged CloudFormation template, and its intrinsics resolved to stable fake ARNs so IAM
 * policies can be simulated offline. Packages into a temporary directory, so `.serverless/` of a
 * concurrent `npm run package` is left alone.
 */
export const ROOT = new URL('../..', import.meta.url).pathname;
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const RACK = 'rackless-ci';

type Json = any;
export interface Template {
  Resources: Record<string, Json>;
  Parameters?: Record<string, Json>;
  Conditions?: Record<string, Json>;
}

export function packageTemplate(): Template {
  const dir = mkdtempSync(join(tmpdir(), 'rackless-package-'));
  execFileSync(join(ROOT, 'node_modules/.bin/serverless'), ['package', '--stage', 'ci', '--region', REGION, '--package', dir], {
    cwd: ROOT,
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}` },
    stdio: 'pipe',
  });
  return JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
}

/** What `Ref` and `GetAtt … Arn` return for each resource type, with the rack's defaults. */
function physical(template: Template, logicalId: string, attribute?: string): string {
  const resource = template.Resources[logicalId];
  if (!resource) {
    const parameter = template.Parameters?.[logicalId];
    if (parameter) return parameter.Type === 'CommaDelimitedList' ? parameter.Default : String(parameter.Default ?? '');
    const pseudo: Record<string, string> = { 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::Partition': 'aws', 'AWS::StackName': RACK, 'AWS::URLSuffix': 'amazonaws.com' };
    if (logicalId in pseudo) return pseudo[logicalId]!;
    throw new Error(`unknown reference ${logicalId}`);
  }
  const p = resource.Properties ?? {};
  const arnish = !attribute || attribute === 'Arn';
  switch (resource.Type) {
    case 'AWS::IAM::Role':
      return arnish && attribute ? `arn:aws:iam::${ACCOUNT}:role/${RACK}-${logicalId}` : `${RACK}-${logicalId}`;
    // Ref of a managed policy is its ARN
    case 'AWS::IAM::ManagedPolicy':
      return `arn:aws:iam::${ACCOUNT}:policy${resolve(template, p.Path ?? '/')}${RACK}-${logicalId}-0123456789AB`;
    case 'AWS::DynamoDB::Table':
      return attribute === 'Arn' ? `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${RACK}-${logicalId}` : `${RACK}-${logicalId}`;
    case 'AWS::S3::Bucket':
      return attribute === 'Arn' ? `arn:aws:s3:::${RACK}-${logicalId.toLowerCase()}` : `${RACK}-${logicalId.toLowerCase()}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${REGION}:${ACCOUNT}:${resolve(template, p.TopicName)}`;
    case 'AWS::SQS::Queue':
      return attribute === 'Arn'
        ? `arn:aws:sqs:${REGION}:${ACCOUNT}:${resolve(template, p.QueueName)}`
        : `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${resolve(template, p.QueueName)}`;
    case 'AWS::CodeBuild::Project':
      return attribute === 'Arn' ? `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${resolve(template, p.Name)}` : resolve(template, p.Name);
    case 'AWS::Logs::LogGroup': {
      const name = p.LogGroupName ? resolve(template, p.LogGroupName) : `${RACK}-${logicalId}`;
      return attribute === 'Arn' ? `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}:*` : name;
    }
    case 'AWS::ElasticLoadBalancingV2::Listener':
      return `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/${RACK}/0123456789abcdef/${logicalId === 'HttpListener' ? 'aaaaaaaaaaaaaaaa' : 'bbbbbbbbbbbbbbbb'}`;
    case 'AWS::ElasticLoadBalancingV2::LoadBalancer':
      return attribute === 'DNSName' ? `${RACK}-123.${REGION}.elb.amazonaws.com` : `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/${RACK}/0123456789abcdef`;
    case 'AWS::ECS::Cluster':
      return attribute === 'Arn' ? `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${resolve(template, p.ClusterName)}` : resolve(template, p.ClusterName);
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${resolve(template, p.StateMachineName)}`;
    case 'AWS::Lambda::Function':
      return attribute === 'Arn' ? `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${resolve(template, p.FunctionName)}` : resolve(template, p.FunctionName);
    case 'AWS::AutoScaling::AutoScalingGroup':
      return resolve(template, p.AutoScalingGroupName);
    default:
      return attribute ? `arn:aws:fake:${REGION}:${ACCOUNT}:${logicalId}/${attribute}` : `${logicalId.toLowerCase()}-0123456789abcdef`;
  }
}

function condition(template: Template, name: string): boolean {
  const value = resolve(template, template.Conditions?.[name]);
  if (typeof value !== 'boolean') throw new Error(`condition ${name} did not resolve to a boolean`);
  return value;
}

/** `Ref: AWS::NoValue`: the property or list element disappears. */
const NO_VALUE = Symbol('AWS::NoValue');

/** Resolves Ref, GetAtt, Sub, If, Equals, Not, Select, Split, Join with the parameters' defaults. */
export function resolve(template: Template, node: Json): Json {
  if (Array.isArray(node)) return node.map((n) => resolve(template, n)).filter((n) => n !== NO_VALUE);
  if (!node || typeof node !== 'object') return node;
  const keys = Object.keys(node);
  if (keys.length === 1) {
    const [key] = keys as [string];
    const arg = node[key];
    switch (key) {
      case 'Ref':
        return arg === 'AWS::NoValue' ? NO_VALUE : physical(template, arg);
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        return physical(template, id, attribute);
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
        const values = Object.fromEntries(Object.entries(vars ?? {}).map(([k, v]) => [k, resolve(template, v)]));
        return String(text).replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
          if (name in values) return values[name];
          const [id, attribute] = name.split('.');
          return physical(template, id!, attribute);
        });
      }
      case 'Fn::If':
        return resolve(template, condition(template, arg[0]) ? arg[1] : arg[2]);
      case 'Fn::Equals':
        return resolve(template, arg[0]) === resolve(template, arg[1]);
      case 'Fn::Not':
        return !resolve(template, arg[0]);
      case 'Fn::And':
        return arg.every((a: Json) => resolve(template, a));
      case 'Fn::Or':
        return arg.some((a: Json) => resolve(template, a));
      case 'Fn::Select':
        return resolve(template, arg[1])[Number(resolve(template, arg[0]))];
      case 'Fn::Split':
        return String(resolve(template, arg[1])).split(arg[0]);
      case 'Fn::Join':
        return resolve(template, arg[1]).join(arg[0]);
      case 'Condition':
        return condition(template, arg);
    }
  }
  return Object.fromEntries(
    Object.entries(node)
      .map(([k, v]) => [k, resolve(template, v)])
      .filter(([, v]) => v !== NO_VALUE),
  );
}

/** The identity policies of a role, resolved. */
export function rolePolicies(template: Template, roleLogicalId: string): Array<{ name: string; policy: Json }> {
  const role = template.Resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not a role of the template`);
  return (role.Properties.Policies ?? []).map((p: Json) => ({ name: p.PolicyName, policy: resolve(template, p.PolicyDocument) }));
}
