import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { LocalBridge } from '../../local/bridge.js';
import { type MotoServer, startMoto } from '../../local/moto.js';
import { LocalRack } from '../../local/rack.js';
import { logger } from '../../shared/logger.js';
import { serviceNames } from '../../shared/names.js';
import type { GlobalOptions } from '../context.js';
import { colors, type Io } from '../io.js';

/** Runs a CLI command line (main.ts's `run`), passed in so this module does not import main. */
export type RunCli = (argv: string[], io: Io) => Promise<number>;

/** A rack on this machine: moto, the rack made from the packaged template in it, the bridge. */
export interface LocalStack {
  moto: MotoServer;
  rack: LocalRack;
  bridge: LocalBridge;
  /** the CLI options that reach this rack */
  cliArgs: string[];
  /** runs a CLI command against the rack; under the virtual clock, time moves while the rack is idle */
  cli(run: RunCli, args: string[], io: Io): Promise<number>;
  stop(): Promise<void>;
}

export const SIMULATED =
  'Simulated here: the image build (CodeBuild), the ECS scheduler (rollouts, task starts and stops: moto runs no containers), Auto Scaling lifecycle actions, and Lambda and Step Functions runs (in this process); everything else is the packaged rack on moto.';

export async function startLocalStack(options: { port?: number; log?: (line: string) => void; stage?: string; clock?: 'real' | 'virtual' } = {}): Promise<LocalStack> {
  // the handlers' JSON log lines would drown the transcript; warnings and errors still show
  logger.setLogLevel(process.env.LOG_LEVEL ? (process.env.LOG_LEVEL as 'INFO') : 'WARN');
  const moto = await startMoto();
  // moto is ours: stop it on every way out, Ctrl-C included
  const kill = () => {
    try {
      process.kill(moto.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.once('exit', kill);
  try {
    const rack = await LocalRack.start({ endpoint: moto.url, stage: options.stage ?? 'local', clock: options.clock ?? 'real' });
    const bridge = await new LocalBridge(rack, { ...(options.port ? { port: options.port } : {}), ...(options.log ? { log: options.log } : {}) }).start();
    return {
      moto,
      rack,
      bridge,
      cliArgs: ['--endpoint-url', bridge.url, '--rack', rack.stage],
      cli: (run, args, io) => rack.scheduler.until(run([...['--endpoint-url', bridge.url, '--rack', rack.stage], ...args], io), { patient: true }),
      async stop() {
        await bridge.stop();
        await moto.stop();
        process.removeListener('exit', kill);
      },
    };
  } catch (error) {
    await moto.stop();
    process.removeListener('exit', kill);
    throw error;
  }
}

export async function localUp(options: GlobalOptions & { port?: number }, io: Io): Promise<number> {
  const c = colors(io);
  io.out('Starting moto and the local rack... ');
  const stack = await startLocalStack({ ...(options.port ? { port: options.port } : {}), log: (line) => io.out(`${c.dim(line)}\n`) });
  io.out(`OK (moto pid ${stack.moto.pid}, rack ${stack.rack.name})\n\n`);
  io.out(`Point the CLI at it from another terminal with:\n\n  ${stack.cliArgs.join(' ')}\n\n`);
  io.out(`e.g.  rackless ${stack.cliArgs.join(' ')} deploy examples/httpd --app httpd\n\n`);
  io.out(`${c.yellow(SIMULATED)}\nCtrl-C stops the rack and moto.\n\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.out('\nStopping... ');
  await stack.stop();
  io.out('OK\n');
  return 0;
}

const EXAMPLE = new URL('../../examples/httpd/', import.meta.url).pathname;

/**
 * `rackless local demo` / `npm run demo`: the three outcomes a newcomer should see, through the same
 * CLI commands a user runs, against a local rack. Exit 0 only when each outcome is the expected one.
 */
export async function localDemo(io: Io, options: { run: RunCli; example?: string }): Promise<number> {
  const c = colors(io);
  const example = options.example ?? EXAMPLE;
  const started = Date.now();
  io.out(c.bold('Rackless local demo\n'));
  io.out('Starting moto and a local rack... ');
  // simulated time: rollouts take their simulated seconds without making anyone wait for them
  const stack = await startLocalStack({ clock: 'virtual' });
  io.out(`OK (${stack.moto.url})\n${c.yellow(SIMULATED)}\n`);
  const cli = async (args: string[]) => {
    io.out(`\n${c.cyan(`$ rackless ${args.join(' ')}`)}\n`);
    return stack.cli(options.run, args, io);
  };
  const broken = await mkdtemp(join(tmpdir(), 'rackless-demo-'));
  const problems: string[] = [];
  try {
    io.out(c.bold('\n1. Deploy examples/httpd (FROM httpd:2.4)\n'));
    const first = await cli(['deploy', example, '--app', 'httpd']);
    if (first !== 0) problems.push(`first deploy exited ${first}, expected 0`);

    io.out(c.bold('\n2. Deploy it again: revision 2\n'));
    const second = await cli(['deploy', example, '--app', 'httpd']);
    if (second !== 0) problems.push(`second deploy exited ${second}, expected 0`);

    io.out(c.bold('\n3. Deploy a broken release: the container exits at start\n'));
    await cp(example, broken, { recursive: true });
    await writeFile(
      join(broken, 'Dockerfile'),
      'FROM httpd:2.4\nCOPY index.html /usr/local/apache2/htdocs/index.html\nEXPOSE 80\nCMD ["httpd-foreground", "-f", "/etc/httpd/missing.conf"]\n',
    );
    // moto runs no containers: the simulator makes this release's tasks fail as that CMD would
    stack.rack.simulator.next('httpd', {
      outcome: 'crash-loop',
      crashes: 3,
      exitCode: 1,
      logLines: ['httpd: Could not open configuration file /etc/httpd/missing.conf: No such file or directory'],
    });
    io.out(c.dim('(simulated: each task of this release exits 1, as httpd does without its config file)\n'));
    const third = await cli(['deploy', broken, '--app', 'httpd']);
    if (third === 0) problems.push('the broken deploy exited 0, expected a failure');

    io.out(c.bold('\n4. The releases\n'));
    const listed = await cli(['releases', '--app', 'httpd']);
    if (listed !== 0) problems.push(`releases exited ${listed}`);

    await stack.rack.settled();
    problems.push(...(await checkOutcomes(stack)));
  } finally {
    await rm(broken, { recursive: true, force: true });
    await stack.stop();
  }
  const took = ((Date.now() - started) / 1000).toFixed(1);
  if (problems.length) {
    io.out(`\n${c.red('Demo FAILED')}:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 1;
  }
  io.out(`\n${c.green('Demo OK')}: two releases live, the broken one failed fast and was rolled back; moto stopped (${took}s).\n`);
  return 0;
}

/** The rack's own records agree with what the CLI printed. */
async function checkOutcomes(stack: LocalStack): Promise<string[]> {
  const { store } = stack.rack;
  const releases = await store.listReleases('httpd');
  const problems: string[] = [];
  const numbers = releases.map((r) => `${r.number}:${r.status}`).reverse();
  if (numbers.length !== 3) problems.push(`expected 3 releases, found ${numbers.join(', ')}`);
  const current = await store.currentRelease('httpd');
  if (current?.number !== 2) problems.push(`expected release #2 to be current after the rollback, found #${current?.number}`);
  const service = await stack.rack.aws.ecs.send(
    new DescribeServicesCommand({ cluster: stack.rack.resources.cluster, services: [serviceNames({ name: stack.rack.name }, 'httpd', 'web').service] }),
  );
  const taskDefinition = service.services?.[0]?.taskDefinition ?? '';
  if (!taskDefinition.endsWith(':2')) problems.push(`expected the service back on revision 2, found ${taskDefinition}`);
  return problems;
}
