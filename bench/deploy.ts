/**
 * State transitions of a successful one-service deploy through the shipped deploy.asl.yml, for a
 * short and a long simulated rollout, against a polling design following the same long rollout.
 * Usage: `npx tsx bench/deploy.ts [--quick]`. Runs moto on 127.0.0.1 and stops it.
 */
import { fileURLToPath } from 'node:url';
import { loadDefinition, runStateMachine, TaskTokenBus } from '../local/asl.js';
import { buildAppTarball } from '../local/example-app.js';
import { startMoto } from '../local/moto.js';
import { LocalRack } from '../local/rack.js';
import type { BenchRow } from './table.js';

const ROOT = new URL('..', import.meta.url).pathname;
/** wall ms per simulated rollout second: rollouts of minutes run in a second */
const MS_PER_SIMULATED_SECOND = 1;

export async function runDeployBench({ quick = false } = {}): Promise<BenchRow[]> {
  const shortSeconds = 30;
  // not a multiple of 15 s: a poller notices on its next check, not at the moment ECS finishes
  const longSeconds = quick ? 607 : 1807;
  const moto = await startMoto();
  try {
    const rack = await new LocalRack({ endpoint: moto.url, name: 'rackless-bench', watchDeadlineSeconds: 3600 }).create();
    await rack.loadHandlers();
    const tarball = await buildAppTarball();
    rack.simulator.next('short', { outcome: 'complete', delayMs: shortSeconds * MS_PER_SIMULATED_SECOND });
    const short = await rack.deploy('short', tarball);
    rack.simulator.next('long', { outcome: 'complete', delayMs: longSeconds * MS_PER_SIMULATED_SECOND });
    const long = await rack.deploy('long', tarball);
    for (const run of [short, long]) if (run.status !== 'SUCCEEDED') throw new Error(`bench deploy failed: ${run.error} ${run.cause}`);

    // the polling reference: the same pipeline with Watch replaced by a 15 s DescribeServices loop
    const polling = await pollingTransitions(longSeconds);
    const pollingTotal = long.transitions - 1 + polling.transitions;
    const equal = short.transitions === long.transitions;
    return [
      { bench: 'deploy', row: `transitions, one-service deploy, ${shortSeconds} s rollout`, value: String(short.transitions), target: '≤ 12', ok: short.transitions <= 12 },
      {
        bench: 'deploy',
        row: `transitions, one-service deploy, ${longSeconds} s rollout`,
        value: String(long.transitions),
        target: '≤ 12, = short',
        ok: long.transitions <= 12 && equal,
      },
      {
        bench: 'deploy',
        row: `polling design (15 s DescribeServices loop), ${longSeconds} s rollout`,
        value: `${pollingTotal} transitions (${(pollingTotal / long.transitions).toFixed(1)}×), done after ${polling.noticedAfterSeconds} s`,
        target: 'reference',
        ok: true,
        note: `event-driven: done when ECS says so (${longSeconds} s); polling notices on its next check`,
      },
    ];
  } finally {
    await moto.stop();
  }
}

async function pollingTransitions(rolloutSeconds: number): Promise<{ transitions: number; noticedAfterSeconds: number }> {
  const definition = loadDefinition(`${ROOT}bench/polling-reference.asl.yml`);
  let simulatedSeconds = 0;
  let checks = 0;
  const result = await runStateMachine(
    definition,
    {},
    {
      executionName: 'polling',
      tokens: new TaskTokenBus(),
      waitMs: 0,
      handlers: {
        'check-rollout': async () => {
          // each check after the first follows a 15 s wait
          if (checks++ > 0) simulatedSeconds += 15;
          return { done: simulatedSeconds >= rolloutSeconds };
        },
      },
    },
  );
  return { transitions: result.transitions, noticedAfterSeconds: simulatedSeconds };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { printTable } = await import('./table.js');
  printTable(await runDeployBench({ quick: process.argv.includes('--quick') }));
}
