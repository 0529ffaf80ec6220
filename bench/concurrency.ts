/**
 * Local mode on moto: 20 apps deployed at once, a burst of 5 uploads of one app, and a crash-looping
 * release. Usage: `npx tsx bench/concurrency.ts [--quick]`.
 */
import { fileURLToPath } from 'node:url';
import { buildAppTarball } from '../local/example-app.js';
import { startMoto } from '../local/moto.js';
import { LocalRack } from '../local/rack.js';
import { loadWatch } from '../shared/watch/watch.js';
import { documentClient, Store } from '../shared/aws/store.js';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { BenchRow } from './table.js';

export async function runConcurrencyBench({ quick = false } = {}): Promise<BenchRow[]> {
  const moto = await startMoto();
  try {
    const rack = await new LocalRack({ endpoint: moto.url, name: 'rackless-conc', watchDeadlineSeconds: 3600 }).create();
    await rack.loadHandlers();
    const store = new Store(documentClient(rack.aws.dynamodb as unknown as DynamoDBClient), rack.env.TABLE_NAME!);
    const tarball = await buildAppTarball();
    const rows: BenchRow[] = [];

    // 20 apps at once
    const apps = Array.from({ length: quick ? 10 : 20 }, (_, i) => `app-${String(i).padStart(2, '0')}`);
    const started = Date.now();
    const runs = await Promise.all(apps.map((app) => rack.deploy(app, tarball)));
    const ok = runs.filter((r) => r.status === 'SUCCEEDED').length;
    rows.push({
      bench: 'local',
      row: `${apps.length} apps deployed at once`,
      value: `${ok}/${apps.length} succeeded in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      target: 'all succeed',
      ok: ok === apps.length,
    });

    // a burst of 5 uploads of one app, delivered in upload order as fast as they come
    const events = [];
    for (let i = 1; i <= 5; i++) events.push(await rack.putTarball(`apps/burst/${i}.tar.gz`, tarball));
    const deliveries = [];
    for (const event of events) deliveries.push(await rack.deliverS3Event(event));
    const burst = await Promise.all(deliveries.map((d) => d.run!));
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
      ok: deployed.length === 1 && deployed[0] === 'apps/burst/5.tar.gz' && superseded === 4 && !interleaved,
    });

    // a crash-looping release: how many failed task starts before the rollback began
    await rack.deploy('crashy', tarball);
    rack.simulator.next('crashy', { outcome: 'crash-loop', crashes: 50, exitCode: 1 });
    const crash = await rack.deploy('crashy', tarball);
    const verdict = (await loadWatch(store, crash.execution))?.verdict;
    const count = verdict?.status === 'failed' && /^(\d+) tasks/.exec(verdict.reason)?.[1];
    rows.push({
      bench: 'local',
      row: 'failed task starts before rollback (crash loop, 2 desired)',
      value: `${count ?? '?'} (then ${crash.statesEntered.includes('Rollback') ? 'rolled back' : 'no rollback'})`,
      target: '≤ 3 (circuit breaker: max(3, ½·desired) up to 200)',
      ok: Number(count) <= 3 && crash.statesEntered.includes('Rollback'),
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
