import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The rack's one description: the CloudFormation template `serverless package` writes. Local mode and
 * the end-to-end tests build their rack from it (local/provision.ts); nothing under local/ lists a
 * resource, a handler, an environment variable or an event pattern of its own.
 */
export const ROOT = new URL('..', import.meta.url).pathname;

type Json = any;
export interface Template {
  Parameters?: Record<string, { Type: string; Default?: unknown; [k: string]: unknown }>;
  Conditions?: Record<string, Json>;
  Resources: Record<string, { Type: string; Properties?: Json; Condition?: string; DependsOn?: string | string[]; [k: string]: unknown }>;
  Outputs?: Record<string, { Value: Json; Condition?: string; [k: string]: unknown }>;
  [k: string]: unknown;
}

/** The files the packaged template is made from: serverless.yml, the state machines, the plugins (ours and their versions). */
function templateInputs(): string[] {
  const machines = readdirSync(join(ROOT, 'state-machines'))
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => join(ROOT, 'state-machines', f));
  return [join(ROOT, 'serverless.yml'), ...machines, join(ROOT, 'scripts', 'template-rules.cjs'), join(ROOT, 'package-lock.json')];
}

function inputsDigest(stage: string, region: string): string {
  const hash = createHash('sha256').update(`${stage}\n${region}\n`);
  for (const file of templateInputs()) hash.update(file).update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

const run = promisify(execFile);

/**
 * `serverless package --stage <stage>` into a cache keyed by what the template is made from, so a
 * test run or `rackless local up` packages once; a concurrent packager's result is as good as ours.
 */
export async function packagedTemplate(stage: string, region = 'us-east-1'): Promise<Template> {
  const cache = join(ROOT, 'node_modules', '.cache', 'rackless', `${stage}-${region}-${inputsDigest(stage, region)}`);
  const file = join(cache, 'cloudformation-template-update-stack.json');
  if (!existsSync(file)) {
    mkdirSync(join(ROOT, 'node_modules', '.cache', 'rackless'), { recursive: true });
    const scratch = join(tmpdir(), `rackless-package-${process.pid}-${Date.now()}`);
    try {
      await run(join(ROOT, 'node_modules/.bin/serverless'), ['package', '--stage', stage, '--region', region, '--package', scratch], {
        cwd: ROOT,
        env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}` },
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      const e = error as Error & { stdout?: string; stderr?: string };
      throw new Error(`serverless package --stage ${stage} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    try {
      renameSync(scratch, cache);
    } catch {
      // another process cached the same inputs first
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return JSON.parse(readFileSync(file, 'utf8')) as Template;
}

/** The rack (stack) name serverless gives a stage. */
export const rackName = (stage: string) => `rackless-${stage}`;

// ---------------------------------------------------------------- reading the template

/** Evaluates a condition from the stack's parameter values (CloudFormation allows only those in conditions). */
export function evaluateCondition(template: Template, name: string, parameters: Record<string, string>): boolean {
  const value = (node: Json): Json => {
    if (node && typeof node === 'object' && !Array.isArray(node)) {
      const [key] = Object.keys(node);
      const arg = node[key!];
      switch (key) {
        case 'Ref':
          if (!(arg in parameters)) throw new Error(`condition ${name} refers to ${arg}, which is not a parameter of the stack`);
          return parameters[arg];
        case 'Fn::Equals':
          return String(value(arg[0])) === String(value(arg[1]));
        case 'Fn::Not':
          return !value(arg[0]);
        case 'Fn::And':
          return arg.every((a: Json) => value(a));
        case 'Fn::Or':
          return arg.some((a: Json) => value(a));
        case 'Condition':
          return evaluateCondition(template, arg, parameters);
        case 'Fn::Join':
          return value(arg[1]).join(arg[0]);
      }
      throw new Error(`condition ${name}: ${key} is not a condition function`);
    }
    return Array.isArray(node) ? node.map(value) : node;
  };
  const condition = template.Conditions?.[name];
  if (condition === undefined) throw new Error(`the template has no condition ${name}`);
  return value(condition) === true;
}

/**
 * The template's Rules that these parameter values break, each as `<rule>: <AssertDescription>`, judged
 * as CloudFormation does before it creates or updates a stack
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-rules.html):
 * a rule whose RuleCondition holds (or that has none) must have every Assert hold. A list parameter's
 * value is its comma-separated members ('' is ['']); a Systems Manager parameter type's is its key.
 * Fn::RefAll, Fn::ValueOf and Fn::ValueOfAll ask AWS about resources and are refused here.
 */
export function brokenRules(template: Template, parameters: Record<string, string>): string[] {
  const rules = (template.Rules ?? {}) as Record<string, { RuleCondition?: Json; Assertions: Array<{ Assert: Json; AssertDescription?: string }> }>;
  const list = (name: string) => /^(CommaDelimitedList|List<)/.test(template.Parameters?.[name]?.Type ?? '');
  const value = (rule: string, node: Json): Json => {
    if (Array.isArray(node)) return node.map((n) => value(rule, n));
    if (!node || typeof node !== 'object') return node;
    const [key] = Object.keys(node);
    const arg = node[key!];
    const strings = (n: Json): string[] => {
      const v = value(rule, n);
      if (!Array.isArray(v)) throw new Error(`rule ${rule}: ${key} needs a list, got ${JSON.stringify(v)}`);
      return v.map(String);
    };
    switch (key) {
      case 'Ref':
        if (!(arg in parameters)) throw new Error(`rule ${rule} refers to ${arg}, which is not a parameter of the stack`);
        return list(arg) ? parameters[arg]!.split(',') : parameters[arg];
      case 'Fn::Equals':
        return JSON.stringify(value(rule, arg[0])) === JSON.stringify(value(rule, arg[1]));
      case 'Fn::Not':
        return !value(rule, arg[0]);
      case 'Fn::And':
        return arg.every((a: Json) => value(rule, a));
      case 'Fn::Or':
        return arg.some((a: Json) => value(rule, a));
      case 'Fn::Contains':
        return strings(arg[0]).includes(String(value(rule, arg[1])));
      case 'Fn::EachMemberEquals':
        return strings(arg[0]).every((m) => m === String(value(rule, arg[1])));
      case 'Fn::EachMemberIn': {
        const allowed = strings(arg[1]);
        return strings(arg[0]).every((m) => allowed.includes(m));
      }
    }
    throw new Error(`rule ${rule}: ${key} is not a rule function the local rack evaluates`);
  };
  const broken: string[] = [];
  for (const [name, rule] of Object.entries(rules)) {
    if (rule.RuleCondition !== undefined && value(name, rule.RuleCondition) !== true) continue;
    for (const assertion of rule.Assertions) if (value(name, assertion.Assert) !== true) broken.push(`${name}: ${assertion.AssertDescription ?? JSON.stringify(assertion.Assert)}`);
  }
  return broken;
}

/**
 * The stack's parameter values: the template's defaults under the ones given, each checked against its
 * String constraints as CloudFormation checks them before it creates anything (AllowedPattern,
 * AllowedValues, MaxLength: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html).
 */
export function parameterValues(template: Template, given: Record<string, string> = {}): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, parameter] of Object.entries(template.Parameters ?? {})) values[name] = given[name] ?? String(parameter.Default ?? '');
  for (const name of Object.keys(given)) {
    if (!(name in values)) throw new Error(`the template has no parameter ${name} (it has ${Object.keys(values).join(', ')})`);
  }
  for (const [name, parameter] of Object.entries(template.Parameters ?? {})) {
    const value = values[name]!;
    const refuse = (why: string) => {
      throw new Error(`the template's parameter ${name}: ${JSON.stringify(value)} ${why}${parameter.ConstraintDescription ? `: ${parameter.ConstraintDescription}` : ''}`);
    };
    if (parameter.Type !== 'String') continue;
    if (typeof parameter.AllowedPattern === 'string' && !new RegExp(`^(?:${parameter.AllowedPattern})$`).test(value)) refuse(`does not match ${parameter.AllowedPattern}`);
    if (Array.isArray(parameter.AllowedValues) && !parameter.AllowedValues.map(String).includes(value)) refuse(`is not one of ${parameter.AllowedValues.join(', ')}`);
    if (typeof parameter.MaxLength === 'number' && value.length > parameter.MaxLength) refuse(`is longer than ${parameter.MaxLength}`);
  }
  return values;
}

/** The template's resources that exist for these parameters (their Condition holds). */
export function presentResources(template: Template, parameters: Record<string, string>): string[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => !r.Condition || evaluateCondition(template, r.Condition, parameters))
    .map(([id]) => id);
}

const INTRINSICS = new Set(['Ref', 'Fn::GetAtt', 'Fn::Sub', 'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::Base64', 'Fn::GetAZs', 'Fn::ImportValue', 'Fn::FindInMap']);

function intrinsicKey(node: Json): string | undefined {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const keys = Object.keys(node);
  return keys.length === 1 && (INTRINSICS.has(keys[0]!) || keys[0] === 'Fn::If') ? keys[0] : undefined;
}

/**
 * Walks a property tree: `Fn::If` picks its branch by the stack's conditions, `Ref: AWS::NoValue`
 * drops its property, and every other intrinsic is handed to `leaf` (whose answer replaces it).
 */
export function mapIntrinsics(template: Template, node: Json, parameters: Record<string, string>, leaf: (expression: Json) => Json): Json {
  const walk = (n: Json): Json => {
    const key = intrinsicKey(n);
    if (key === 'Fn::If') {
      const [condition, yes, no] = n['Fn::If'];
      return walk(evaluateCondition(template, condition, parameters) ? yes : no);
    }
    if (key === 'Ref' && n.Ref === 'AWS::NoValue') return NO_VALUE;
    if (key) return leaf(n);
    if (Array.isArray(n)) return n.map(walk).filter((x) => x !== NO_VALUE);
    if (n && typeof n === 'object')
      return Object.fromEntries(
        Object.entries(n)
          .map(([k, v]) => [k, walk(v)])
          .filter(([, v]) => v !== NO_VALUE),
      );
    return n;
  };
  return walk(node);
}

const NO_VALUE = Symbol('AWS::NoValue');

/** Replaces every Ref/GetAtt of one resource (anywhere in the template) by the values given. */
export function replaceReferences(node: Json, logicalId: string, values: { ref: string; attributes: Record<string, string> }): Json {
  if (Array.isArray(node)) return node.map((n) => replaceReferences(n, logicalId, values));
  if (!node || typeof node !== 'object') return node;
  if (node.Ref === logicalId && Object.keys(node).length === 1) return values.ref;
  const getAtt = node['Fn::GetAtt'];
  if (getAtt && Object.keys(node).length === 1) {
    const [id, attribute] = Array.isArray(getAtt) ? getAtt : String(getAtt).split('.');
    if (id === logicalId) {
      const value = values.attributes[attribute];
      if (value === undefined) throw new Error(`${logicalId}.${attribute} is referenced, and the local rack cannot tell its value`);
      return value;
    }
  }
  const sub = node['Fn::Sub'];
  if (sub !== undefined && Object.keys(node).length === 1) {
    const [text, vars] = Array.isArray(sub) ? sub : [sub, {}];
    const replaced = String(text).replace(/\$\{([^}!]+)\}/g, (whole, name: string) => {
      if (name === logicalId) return values.ref;
      const [id, attribute] = name.split('.');
      if (id === logicalId && attribute && values.attributes[attribute] !== undefined) return values.attributes[attribute]!;
      return whole;
    });
    const nextVars = replaceReferences(vars ?? {}, logicalId, values);
    return { 'Fn::Sub': Object.keys(nextVars).length ? [replaced, nextVars] : replaced };
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, replaceReferences(v, logicalId, values)]));
}
