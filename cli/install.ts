import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { APP_NAME, NAME_RULES } from '../shared/names.js';
import { CliError } from './errors.js';

/**
 * `rackless rack install` wraps `serverless deploy`: the parameters checked against serverless.yml's
 * own `params.default` before anything runs, the command line built here (pure, tested), and the
 * stack's outputs rendered with what to do next.
 */

/** Runs a program with the terminal's stdio; its exit code. Tests pass their own. */
export type Runner = (command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) => Promise<number>;

export const spawnRunner: Runner = (command, args, options) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });

/** The checkout a rack installs from: the nearest directory up from here (or the working directory) with serverless.yml. */
export function findCheckout(from: string[] = [dirname(fileURLToPath(import.meta.url)), process.cwd()]): string {
  for (const start of from) {
    let dir = start;
    for (;;) {
      if (existsSync(join(dir, 'serverless.yml')) && existsSync(join(dir, 'package.json'))) return dir;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new CliError(
    'rack install packages serverless.yml and the functions from a Rackless checkout, and none was found here',
    'run it from a clone of the repository after `npm ci`',
  );
}

/** The parameters serverless.yml declares (`params.default`), each with its default. */
export function declaredParameters(serverlessYml: string): Record<string, string> {
  const parsed = parseYaml(serverlessYml) as { params?: { default?: Record<string, unknown> } };
  return Object.fromEntries(Object.entries(parsed.params?.default ?? {}).map(([k, v]) => [k, String(v)]));
}

/** `--param k=v` values, checked: every key one serverless.yml declares, each given once. */
export function parseParameters(pairs: string[], declared: Record<string, string>): Array<[string, string]> {
  const seen = new Set<string>();
  return pairs.map((pair) => {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (eq <= 0) throw new CliError(`--param "${pair}" is not NAME=VALUE`, `e.g. --param rackDomain=apps.example.com`);
    if (!(key in declared)) throw new CliError(`--param ${key}: serverless.yml declares no parameter ${key}`, `the parameters are: ${Object.keys(declared).join(', ')}`);
    if (seen.has(key)) throw new CliError(`--param ${key} is given twice`);
    seen.add(key);
    return [key, pair.slice(eq + 1)];
  });
}

/** The stage of a rack name: `prod` and `rackless-prod` both install stage prod (the stack `rackless-prod`). */
export function stageOf(rack: string | undefined): string {
  if (!rack) throw new CliError('no rack given', 'pass --rack NAME: the stage to install (its stack is rackless-NAME)');
  const stage = rack.startsWith('rackless-') ? rack.slice('rackless-'.length) : rack;
  // the stage names the stack and every resource (ECR repositories want lowercase), and `--`
  // separates the parts of every app resource's name (shared/names.ts): the app-name rule keeps
  // `rackless-<stage>-start-deployment` within Lambda's 64 characters
  if (!APP_NAME.test(stage)) throw new CliError(`rack name "${rack}" is not a valid stage`, `a stage is 2–30 characters: ${NAME_RULES}`);
  return stage;
}

/** `serverless deploy` with the stage, region, profile and parameters: the program and its arguments. */
export function deployCommand(args: { checkout: string; stage: string; region: string; profile?: string; parameters: Array<[string, string]> }): {
  command: string;
  args: string[];
} {
  return {
    command: join(args.checkout, 'node_modules', '.bin', 'serverless'),
    args: [
      'deploy',
      '--stage',
      args.stage,
      '--region',
      args.region,
      ...(args.profile ? ['--aws-profile', args.profile] : []),
      ...args.parameters.map(([k, v]) => `--param=${k}=${v}`),
    ],
  };
}

/** What the operator does next, from the stack's outputs. */
export function installSummary(args: { rack: string; region: string; outputs: Record<string, string>; rackDomain: string }): string {
  const o = args.outputs;
  const width = Math.max(...Object.keys(o).map((k) => k.length));
  const rows = Object.keys(o)
    .sort()
    .map((k) => `  ${k.padEnd(width)}  ${o[k]}`);
  const stage = args.rack.replace(/^rackless-/, '');
  return [
    `Rack ${args.rack} is installed in ${args.region}.`,
    '',
    'Outputs:',
    ...rows,
    '',
    'Next:',
    `  1. Hear about deploys: aws sns subscribe --topic-arn ${o.NotificationTopicArn ?? '<NotificationTopicArn>'} --protocol email --notification-endpoint you@example.com`,
    `  2. Route the apps' hosts: *.${args.rackDomain} → CNAME ${o.LoadBalancerDnsName ?? '<LoadBalancerDnsName>'}`,
    `  3. Deploy an app: rackless deploy ./app --app shop --rack ${stage}`,
    `     (or: aws s3 cp app.tar.gz s3://${o.SourceBucket ?? '<SourceBucket>'}/apps/shop/v1.tar.gz)`,
    `  Remove it all later with: rackless rack uninstall --rack ${stage}`,
    '',
  ].join('\n');
}

export function readServerlessYml(checkout: string): string {
  return readFileSync(join(checkout, 'serverless.yml'), 'utf8');
}
