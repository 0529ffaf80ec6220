/**
 * `npm run validate:asl`: every state-machines/*.asl.yml through asl-validator (GetAtt resolved the
 * way the tests resolve it), then every state machine in the packaged template: valid, every Lambda it
 * names is a function of the template, and the same workflow as its source file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import validator from 'asl-validator';
import { parse } from 'yaml';

const ROOT = new URL('..', import.meta.url).pathname;
const TEMPLATE = `${ROOT}.serverless/cloudformation-template-update-stack.json`;
const FAKE_ACCOUNT = '123456789012';

type Json = any;

/** A state-machines/*.asl.yml as serverless.yml hands it over: `Fn::GetAtt: [function, Arn]` as a Lambda ARN. */
function loadDefinition(file: string): Json {
  const resolve = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(resolve);
    if (node && typeof node === 'object') {
      const getAtt = node['Fn::GetAtt'];
      if (Array.isArray(getAtt) && getAtt[1] === 'Arn' && Object.keys(node).length === 1) return `arn:aws:lambda:us-east-1:${FAKE_ACCOUNT}:function:rackless-ci-${getAtt[0]}`;
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v)]));
    }
    return node;
  };
  return resolve(parse(readFileSync(file, 'utf8')));
}

function validate(label: string, definition: Json): string[] {
  const { isValid, errorsText } = validator(definition, { checkPaths: true, checkArn: true });
  return isValid ? [] : [`${label}: ${errorsText('; ')}`];
}

/** Lambda ARNs differ between the local and the packaged definition: compare everything else. */
function withoutLambdaArns(node: Json): Json {
  if (typeof node === 'string') return /^arn:aws:lambda:/.test(node) ? 'LAMBDA' : node;
  if (Array.isArray(node)) return node.map(withoutLambdaArns);
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, withoutLambdaArns(v)]));
  return node;
}

/** `Fn::Sub: [text, {var: GetAtt|Ref}]` as serverless-step-functions writes it, with stable fake ARNs. */
function resolveDefinition(name: string, definitionString: Json, resources: Record<string, Json>, problems: string[]): Json {
  const [text, vars] = Array.isArray(definitionString?.['Fn::Sub']) ? definitionString['Fn::Sub'] : [definitionString?.['Fn::Sub'] ?? definitionString, {}];
  if (typeof text !== 'string') throw new Error(`${name}: DefinitionString is neither a string nor Fn::Sub`);
  const values: Record<string, string> = { 'AWS::Region': 'us-east-1', 'AWS::AccountId': FAKE_ACCOUNT, 'AWS::Partition': 'aws' };
  for (const [key, value] of Object.entries(vars as Record<string, Json>)) {
    const target: string | undefined = value?.['Fn::GetAtt']?.[0] ?? value?.Ref;
    const resource = target ? resources[target] : undefined;
    if (resource?.Type !== 'AWS::Lambda::Function') {
      problems.push(`${name}: \${${key}} names ${JSON.stringify(value)}, which is not a Lambda function of the template`);
      continue;
    }
    values[key] = `arn:aws:lambda:us-east-1:${FAKE_ACCOUNT}:function:${resource.Properties.FunctionName ?? target}`;
  }
  const resolved = text.replace(/\$\{([^}!]+)\}/g, (whole, key: string) => values[key] ?? whole);
  return JSON.parse(resolved);
}

function main(): number {
  const problems: string[] = [];
  const sources = new Map<string, Json>();
  const files = readdirSync(`${ROOT}state-machines`)
    .filter((f) => f.endsWith('.asl.yml'))
    .sort();
  for (const file of files) {
    const definition = loadDefinition(`${ROOT}state-machines/${file}`);
    sources.set(file.replace(/\.asl\.yml$/, ''), definition);
    const found = validate(`state-machines/${file}`, definition);
    problems.push(...found);
    console.log(`${found.length ? '✗' : '✓'} state-machines/${file}`);
  }

  if (!existsSync(TEMPLATE)) {
    problems.push(`${TEMPLATE} is missing: run \`npm run package\` first`);
  } else {
    const template = JSON.parse(readFileSync(TEMPLATE, 'utf8'));
    const resources: Record<string, Json> = template.Resources ?? {};
    const machines = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
    if (machines.length === 0) problems.push('the packaged template has no state machine');
    for (const [logicalId, resource] of machines) {
      const before = problems.length;
      const definition = resolveDefinition(logicalId, resource.Properties.DefinitionString, resources, problems);
      problems.push(...validate(`template ${logicalId}`, definition));
      // serverless.yml names machines <rack>-<file name>
      const stem =
        String(resource.Properties.StateMachineName ?? '')
          .split('-')
          .pop() ?? '';
      const source = sources.get(stem);
      if (!source) problems.push(`template ${logicalId}: no state-machines/${stem}.asl.yml to compare with`);
      else if (!isDeepStrictEqual(withoutLambdaArns(definition), withoutLambdaArns(source))) {
        problems.push(`template ${logicalId}: packaged definition differs from state-machines/${stem}.asl.yml`);
      }
      console.log(`${problems.length > before ? '✗' : '✓'} template ${logicalId} (${stem})`);
    }
    const packaged = new Set(
      machines.map(([, r]) =>
        String(r.Properties.StateMachineName ?? '')
          .split('-')
          .pop(),
      ),
    );
    for (const stem of sources.keys()) if (!packaged.has(stem)) problems.push(`state-machines/${stem}.asl.yml is not in the packaged template`);
  }

  for (const problem of problems) console.error(`  ${problem}`);
  console.log(problems.length ? `${problems.length} problem(s)` : 'all state machines valid');
  return problems.length ? 1 : 0;
}

process.exitCode = main();
