import { AddTagsToResourceCommand, DeleteParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { ownerTags } from '../../shared/names.js';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { randomUUID } from 'node:crypto';
import { configDeployState, parseSecretReference, secretParameterName, secretReference } from '../config-deploy.js';
import { context, type Context, type GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import { DeployFollower } from '../follow.js';
import { json, type Io } from '../io.js';
import { checkApp, followOptions } from './deploy.js';
import { requireApp } from './common.js';

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export async function envList(options: GlobalOptions & { app?: string }, io: Io): Promise<number> {
  const app = checkApp(options.app);
  const ctx = await context(options);
  const record = await requireApp(ctx, app);
  const config = record.config ?? {};
  const entries = Object.keys(config)
    .sort()
    .map((key) => {
      const parameter = parseSecretReference(config[key]!);
      return parameter ? { key, secret: true, parameter } : { key, secret: false, value: config[key]! };
    });
  if (options.json) {
    json(io, entries);
    return 0;
  }
  for (const e of entries) io.out(e.secret ? `${e.key}=******** (secret: ssm ${e.parameter})\n` : `${e.key}=${e.value}\n`);
  return 0;
}

/** Writes the config, then releases the current release's images with it and follows that deploy. */
async function releaseWithConfig(
  ctx: Context,
  io: Io,
  app: string,
  config: Record<string, string>,
  options: GlobalOptions & { wait?: boolean; timeout?: number },
): Promise<number> {
  const record = await ctx.store.getApp(app);
  await ctx.store.setAppConfig(app, config);
  if (!record?.currentRelease) {
    // config before the first deploy is how bare `environment:` names get their values
    io.out(`${app} has no release yet: its first deploy uses this environment.\n`);
    return 0;
  }
  const state = configDeployState(app, record.currentRelease, randomUUID(), new Date().toISOString());
  // the CLI holds the rack's permissions: start the deploy workflow directly with a config trigger
  await ctx.aws.sfn.send(new StartExecutionCommand({ stateMachineArn: ctx.rack.stateMachineArn, name: state.execution, input: JSON.stringify(state) }));
  io.out(`Releasing ${app} with the new environment... started (${state.execution})\n`);
  if (options.wait === false) return 0;
  return new DeployFollower(ctx, io, app, state.execution, followOptions(options)).run();
}

export async function envSet(pairs: string[], options: GlobalOptions & { app?: string; secret?: boolean; wait?: boolean }, io: Io): Promise<number> {
  const app = checkApp(options.app);
  const values: Array<[string, string]> = pairs.map((pair) => {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (eq === -1 || !KEY.test(key)) throw new CliError(`"${pair}" is not KEY=VALUE`, 'keys are letters, digits and _ (not first a digit)');
    return [key, pair.slice(eq + 1)];
  });
  const ctx = await context(options);
  const record = await ctx.store.getApp(app);
  const config = { ...(record?.config ?? {}) };
  for (const [key, value] of values) {
    if (options.secret) {
      const parameter = secretParameterName(ctx.rack.name, app, key);
      await ctx.aws.ssm.send(
        new PutParameterCommand({ Name: parameter, Value: value, Type: 'SecureString', Overwrite: true, Description: `rackless secret ${key} of app ${app}` }),
      );
      // PutParameter takes Tags only when it creates the parameter, not with Overwrite; AddTagsToResource tags either
      await ctx.aws.ssm.send(
        new AddTagsToResourceCommand({
          ResourceType: 'Parameter',
          ResourceId: parameter,
          Tags: Object.entries(ownerTags(ctx.rack.name, app)).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
      config[key] = secretReference(parameter);
      io.out(`Storing ${key} in SSM ${parameter} (SecureString)... OK\n`);
    } else {
      config[key] = value;
    }
  }
  if (options.secret)
    secretHint(
      ctx,
      io,
      app,
      values.map(([k]) => k),
      await currentSecrets(ctx, app),
    );
  io.out(`Setting ${values.map(([k]) => k).join(', ')}... OK\n`);
  return releaseWithConfig(ctx, io, app, config, options);
}

export async function envUnset(keys: string[], options: GlobalOptions & { app?: string; wait?: boolean }, io: Io): Promise<number> {
  const app = checkApp(options.app);
  const ctx = await context(options);
  const record = await requireApp(ctx, app);
  const config = { ...(record.config ?? {}) };
  const missing = keys.filter((k) => !(k in config));
  if (missing.length) throw new CliError(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set on app ${app}`, `see them with \`rackless env --app ${app}\``);
  for (const key of keys) {
    const parameter = parseSecretReference(config[key]!);
    if (parameter) await ctx.aws.ssm.send(new DeleteParameterCommand({ Name: parameter })).catch((e: Error) => (e.name === 'ParameterNotFound' ? undefined : Promise.reject(e)));
    delete config[key];
  }
  io.out(`Unsetting ${keys.join(', ')}... OK\n`);
  return releaseWithConfig(ctx, io, app, config, options);
}

/** The names the current release's services read: bare `environment:` entries and `secrets:` keys. */
async function currentSecrets(ctx: Context, app: string): Promise<Set<string>> {
  const current = await ctx.store.currentRelease(app);
  return new Set((current?.manifest.services ?? []).flatMap((s) => [...s.environment.filter((e) => !e.includes('=')), ...Object.keys(s.secrets)]));
}

/** A secret reaches tasks (as valueFrom) through a bare `environment:` name: say so when none lists it. */
function secretHint(ctx: Context, io: Io, app: string, keys: string[], read: Set<string>): void {
  for (const key of keys) {
    if (read.has(key)) continue;
    io.err(
      `note: no service of ${app} lists ${key} in rackless.yml; add it as a bare name (environment: [${key}]) and tasks get it from ${secretParameterName(ctx.rack.name, app, key)} as a secret\n`,
    );
  }
}
