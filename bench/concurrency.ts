/**
 * Local mode on moto, in a rack made from the packaged template: 20 apps deployed at once, a burst of
 * 5 uploads of one app, and a crash-looping release. Usage: `npx tsx bench/concurrency.ts [--quick]`.
 */
import { fileURLToPath } from 'node:url';
import { buildAppTarball } from '../local/example-app.js';
import { startMoto } from '../local/moto.js';
import { LocalRack } from '../local/rack.js';
import type { BenchRow } from './table.js';

export async function runConcurrencyBench({ quick = false } = {}): Promise<BenchRow[]> {
  const moto = await startMoto();
  try {
    const rack = await LocalRack.start({ endpoint: moto.url, stage: 'bench' });
    const store = rack.store;
    const tarball = await buildAppTarball();
    const rows: BenchRow[] = [];

    // 20 apps at once: every upload, then every deploy to its end (simulated rollouts take no real time)
    const apps = Array.from({ length: quick ? 10 : 20 }, (_, i) => `app-${String(i).padStart(2, '0')}`);
    const started = Date.now();
    const runs = await Promise.all(apps.map((app) => rack.deploy(app, tarball)));
    const seconds = (Date.now() - started) / 1000;
    const ok = runs.filter((r) => r.status === 'SUCCEEDED').length;
    rows.push({
      bench: 'local',
      row: `${apps.length} apps deployed at once`,
      value: `${ok}/${apps.length} succeeded in ${seconds.toFixed(1)} s`,
      target: 'all succeed',
      ok: ok === apps.length,
      ...(ok === apps.length
        ? {}
        : {
            note: runs
              .filter((r) => r.status !== 'SUCCEEDED')
              .map((r) => `${r.execution}: ${r.error}`)
              .join('; '),
          }),
    });

    // a burst of 5 uploads of one app: their events wait in the rule's queue, then are delivered in
    // upload order as fast as they come (one delivery after another, as local/events.ts delivers)
    const rule = `${rack.name}-tarball-uploaded`;
    const deliveredBefore = rack.events.delivered.length;
    rack.events.paused = true;
    for (let i = 1; i <= 5; i++) await rack.upload(`apps/burst/${i}.tar.gz`, tarball);
    rack.events.paused = false;
    const executions = await rack.started(() => rack.events.pump());
    const keys = rack.events.delivered
      .slice(deliveredBefore)
      .filter(([name]) => name === rule)
      .map(([, event]) => event.detail?.object?.key);
    if (keys.join() !== [1, 2, 3, 4, 5].map((i) => `apps/burst/${i}.tar.gz`).join()) throw new Error(`the burst's events came as ${keys.join(', ')}`);
    const burst = await Promise.all(executions.map((e) => rack.finish(e.name)));
    const deployed = (await store.listReleases('burst')).map((r) => r.source?.key);
    const superseded = burst.filter((r) => r.error === 'SUPERSEDED').length;
    const interleaved = overlapping(
      rack.entered,
      burst.map((r) => r.execution),
    );
    rows.push({
      bench: 'local',
      row: '5 uploads of one app in a burst',
      value: `deployed ${deployed.join(', ') || 'none'}; ${superseded} superseded; ${interleaved ? 'interleaved' : 'no interleaving'}`,
      target: '1 deploy of the newest, the rest superseded',
      ok: burst.length === 5 && deployed.length === 1 && deployed[0] === 'apps/burst/5.tar.gz' && superseded === 4 && !interleaved,
      note: `${burst.length} executions; superseded at ${burst
        .filter((r) => r.error === 'SUPERSEDED')
        .map((r) => r.statesEntered.find((s) => s.endsWith(' failed'))?.replace(/ failed$/, '') ?? '?')
        .join(', ')}`,
    });

    // a crash-looping release: how many failed task starts before the rollback began
    const first = await rack.deploy('crashy', tarball);
    if (first.status !== 'SUCCEEDED') throw new Error(`crashy's first deploy failed: ${first.error} ${first.cause}`);
    rack.simulator.next('crashy', { outcome: 'crash-loop', crashes: 50, exitCode: 1 });
    const crash = await rack.deploy('crashy', tarball, 'b.tar.gz');
    const verdict = (await store.getWatch(crash.execution))?.verdict;
    const count = verdict?.status === 'failed' ? /^(\d+) tasks/.exec(verdict.reason)?.[1] : undefined;
    const rolledBack = crash.statesEntered.includes('Rollback');
    rows.push({
      bench: 'local',
      row: 'failed task starts before rollback (crash loop, 2 desired)',
      value: `${count ?? '?'} (then ${rolledBack ? 'rolled back' : 'no rollback'})`,
      target: '≤ 3 (circuit breaker: max(3, ½·desired) up to 200)',
      ok: Number(count) <= 3 && rolledBack,
      ...(count === undefined ? { note: `verdict: ${JSON.stringify(verdict)}` } : {}),
    });
    await rack.simulator.settled();
    return rows;
  } finally {
    await moto.stop();
  }
}

/** True when two executions of one app were between Prepare and Notify at the same time. */
export function overlapping(entered: Array<[string, string]>, executions: string[]): boolean {
  const spans = executions
    .map((e) => [entered.findIndex(([x, s]) => x === e && s === 'Prepare'), entered.findIndex(([x, s]) => x === e && s === 'Notify')] as const)
    .filter(([start]) => start >= 0)
    .sort((a, b) => a[0] - b[0]);
  return spans.some(([, end], i) => i + 1 < spans.length && spans[i + 1]![0] < end);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.env.LOG_LEVEL ??= 'SILENT';
  const { printTable } = await import('./table.js');
  printTable(await runConcurrencyBench({ quick: process.argv.includes('--quick') }));
}
