import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { InstallSeams } from './commands/rack.js';
import type { GlobalOptions } from './context.js';
import { CliError, explainAwsError } from './errors.js';
import { colors, processIo, type Io } from './io.js';

/**
 * `rackless`: every command is a function (argv, io) → exit code, so tests drive the same code the
 * bin runs. Errors print as one line and a hint; the stack only with --debug.
 *
 * Each command's module (and the AWS SDK clients it brings) is imported when the command runs, not
 * before: `rackless --help` loads commander and this file only.
 */
function int(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new CliError(`${name} must be a whole number, got "${value}"`);
    return n;
  };
}

/**
 * `rackless local` runs the rack from this repository's TypeScript sources (the handlers, moto, the
 * Step Functions interpreter): it needs a checkout with its dev install. The compiled CLI leaves
 * this import to the sources (scripts/build-cli.mjs), and the bin registers tsx for it.
 */
async function loadLocal() {
  try {
    return await import('./commands/local.js');
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    throw new CliError(
      "`rackless local` runs the rack from the repository's sources, which this install does not have",
      'run it from a checkout after `npm ci`: npm run rackless -- local up',
    );
  }
}

/** The package's version: written into the compiled CLI, read from package.json when run from the sources. */
declare const RACKLESS_VERSION: string | undefined;
function version(): string {
  if (typeof RACKLESS_VERSION === 'string') return RACKLESS_VERSION;
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Repeatable options (`--param a=1 --param b=2`) collect into a list. */
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** What tests put in place of what cannot run here (`serverless deploy` to AWS). */
export interface Seams {
  install?: InstallSeams;
}

export function program(io: Io, setExit: (code: number) => void, seams: Seams = {}): Command {
  const root = new Command('rackless')
    .description('Deploy apps to a Rackless rack: tarball → build → release → promote onto ECS')
    .version(version(), '-V, --version', 'print the version')
    .option('--rack <name>', 'rack: its stage or CloudFormation stack name (or RACKLESS_RACK)')
    .option('--profile <name>', 'AWS profile from ~/.aws/config')
    .option('--region <region>', 'AWS region')
    .option('--endpoint-url <url>', 'AWS-compatible endpoint (moto, LocalStack, `rackless local up`)')
    .option('--json', 'machine-readable output (read commands)')
    .option('--debug', 'print stack traces')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: (s, write) => write(s) })
    .showHelpAfterError('(add --help for usage)');

  const action =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) =>
      setExit(await fn(...args));
  const globals = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;

  root
    .command('deploy')
    .description('pack a directory, upload it, and follow the deploy to its end')
    .argument('[dir]', 'directory to deploy', '.')
    .requiredOption('-a, --app <name>', 'app name')
    .option('--no-wait', 'return once the tarball is uploaded')
    .option('--dry-run', 'show the task definition and service changes; change nothing')
    .option('--timeout <seconds>', 'stop following after this long', int('--timeout'))
    .action(action(async (dir: string, _o: unknown, cmd: Command) => (await import('./commands/deploy.js')).deploy(dir, globals(cmd), io)));

  const appsCmd = root
    .command('apps')
    .description('list apps')
    .action(action(async (_o: unknown, cmd: Command) => (await import('./commands/apps.js')).apps(globals(cmd), io)));
  appsCmd
    .command('info')
    .description('status, current release, services with counts, endpoints')
    .argument('<name>', 'app')
    .action(action(async (name: string, _o: unknown, cmd: Command) => (await import('./commands/apps.js')).appInfo(name, globals(cmd), io)));
  appsCmd
    .command('delete')
    .description('delete an app and every runtime resource of it (lists them and asks first)')
    .argument('<name>', 'app')
    .option('-y, --yes', 'delete without asking')
    .option('--force', 'stop a running deploy of the app instead of refusing')
    .option('--timeout <seconds>', 'longest wait for its services to drain', int('--timeout'))
    .action(action(async (name: string, _o: unknown, cmd: Command) => (await import('./commands/apps.js')).appsDelete(name, globals(cmd), io)));

  const releasesCmd = root
    .command('releases')
    .description('list releases of an app')
    // promote/rollback read --app from here: commander hands a parent's option to the parent
    .option('-a, --app <name>', 'app name (also for promote and rollback)')
    .action(action(async (_o: unknown, cmd: Command) => (await import('./commands/releases.js')).releases(globals(cmd), io)));
  releasesCmd
    .command('promote')
    .description('roll the app onto an existing release')
    .argument('<id>', 'release id')
    .option('--no-wait', 'return once the request is sent')
    .action(action(async (id: string, _o: unknown, cmd: Command) => (await import('./commands/releases.js')).promote(id, globals(cmd), io)));
  releasesCmd
    .command('rollback')
    .description('promote the previous release (or the one given)')
    .argument('[id]', 'release id (default: the release before the current one)')
    .option('--no-wait', 'return once the request is sent')
    .action(action(async (id: string | undefined, _o: unknown, cmd: Command) => (await import('./commands/releases.js')).rollback(id, globals(cmd), io)));

  const envCmd = root
    .command('env')
    .description("show an app's environment (secrets masked)")
    .option('-a, --app <name>', 'app name (also for set and unset)')
    .action(action(async (_o: unknown, cmd: Command) => (await import('./commands/env.js')).envList(globals(cmd), io)));
  envCmd
    .command('set')
    .description('set variables and release the app with them')
    .argument('<pairs...>', 'KEY=VALUE')
    .option('--secret', 'store the values in SSM (SecureString); tasks read them via valueFrom')
    .option('--no-wait', 'return once the release is started')
    .action(action(async (pairs: string[], _o: unknown, cmd: Command) => (await import('./commands/env.js')).envSet(pairs, globals(cmd), io)));
  envCmd
    .command('unset')
    .description('remove variables and release the app without them')
    .argument('<keys...>', 'KEY')
    .option('--no-wait', 'return once the release is started')
    .action(action(async (keys: string[], _o: unknown, cmd: Command) => (await import('./commands/env.js')).envUnset(keys, globals(cmd), io)));

  root
    .command('scale')
    .description("change a service's task count (now) or cpu/memory (new task definition revision)")
    .argument('<service>', 'service')
    .requiredOption('-a, --app <name>', 'app name')
    .option('--count <n>', 'desired tasks', int('--count'))
    .option('--cpu <units>', 'cpu units', int('--cpu'))
    .option('--memory <mib>', 'memory MiB', int('--memory'))
    .action(action(async (service: string, _o: unknown, cmd: Command) => (await import('./commands/scale.js')).scale(service, globals(cmd), io)));

  root
    .command('ps')
    .description("an app's running tasks")
    .requiredOption('-a, --app <name>', 'app name')
    .action(action(async (_o: unknown, cmd: Command) => (await import('./commands/ps.js')).ps(globals(cmd), io)));

  root
    .command('logs')
    .description("an app's logs from CloudWatch Logs")
    .argument('[service]', 'only this service')
    .requiredOption('-a, --app <name>', 'app name')
    .option('-f, --follow', 'keep printing new lines')
    .option('--since <duration>', 'how far back: 30s, 10m, 2h, 1d', '1h')
    .option('--timeout <seconds>', 'stop following after this long', int('--timeout'))
    .action(action(async (service: string | undefined, _o: unknown, cmd: Command) => (await import('./commands/logs.js')).logs(service, globals(cmd), io)));

  root
    .command('run')
    .description("a one-off task with a service's task definition; its exit code is passed through")
    .argument('<service>', 'service whose task definition to run')
    .argument('<command...>', 'command (after --)')
    .requiredOption('-a, --app <name>', 'app name')
    .option('--timeout <seconds>', 'stop waiting after this long', int('--timeout'))
    .action(action(async (service: string, command: string[], _o: unknown, cmd: Command) => (await import('./commands/run.js')).runTask(service, command, globals(cmd), io)));

  const rackCmd = root.command('rack').description('install or uninstall the rack itself (runs with your AWS credentials)');
  rackCmd
    .command('install')
    .description('install or update the rack --rack STAGE with `serverless deploy`, from a checkout; prints its outputs and what to do next')
    .option('--param <name=value>', 'a serverless.yml parameter (repeatable), e.g. rackDomain=apps.example.com', collect)
    .action(action(async (_o: unknown, cmd: Command) => (await import('./commands/rack.js')).rackInstall(globals(cmd), io, seams.install)));
  rackCmd
    .command('uninstall')
    .description("delete every app, empty the stack's buckets, delete the stack and wait for it (lists it all and asks first)")
    .option('-y, --yes', 'uninstall without asking')
    .option('--force', 'stop running deploys instead of refusing')
    .option('--timeout <seconds>', 'longest wait for services to drain and for the stack to be deleted', int('--timeout'))
    .action(action(async (_o: unknown, cmd: Command) => (await import('./commands/rack.js')).rackUninstall(globals(cmd), io)));

  const local = root.command('local').description('a rack on this machine: moto + the real handlers');
  local
    .command('up')
    .description('start a local rack and keep it running until Ctrl-C')
    .addOption(new Option('--port <port>', 'port of the local endpoint').argParser(int('--port')))
    .action(action(async (_o: unknown, cmd: Command) => (await loadLocal()).localUp(globals(cmd), io)));
  local
    .command('demo')
    .description('deploy examples/httpd twice and a broken release against a local rack, then list releases')
    .action(action(async () => (await loadLocal()).localDemo(io, { run })));
  return root;
}

export async function run(argv: string[], io: Io = processIo(), seams: Seams = {}): Promise<number> {
  let code = 0;
  const debug = argv.includes('--debug');
  const c = colors(io);
  try {
    await program(io, (n) => (code = n), seams).parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
    if (error instanceof CliError) {
      io.err(`${c.red('error:')} ${error.message}\n${error.hint ? `${c.dim('hint:')} ${error.hint}\n` : ''}`);
      if (debug) io.err(`${error.stack}\n`);
      return error.exitCode;
    }
    const explained = explainAwsError(error);
    io.err(
      `${c.red('error:')} ${explained.message}\n${explained.hint ? `${c.dim('hint:')} ${explained.hint}\n` : debug ? '' : `${c.dim('hint:')} run again with --debug for the stack trace\n`}`,
    );
    if (debug) io.err(`${(error as Error).stack}\n`);
    return 1;
  }
}
