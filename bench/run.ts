/**
 * `npm run bench [-- --quick]`: every benchmark, measured side by side in one run, printed as one
 * table. `--quick` uses small sizes (CI); the full run is the README's table.
 */
import { cpus, totalmem } from 'node:os';
import type { BenchRow } from './table.js';

process.env.LOG_LEVEL ??= 'SILENT';
const quick = process.argv.includes('--quick');

const { runDeployBench } = await import('./deploy.js');
const { runTarballBench } = await import('./tarball-scan.js');
const { formatTable } = await import('./table.js');

const rows: BenchRow[] = [];
rows.push(...(await runDeployBench({ quick })));

const sizeMb = quick ? 20 : 200;
const tarball = await runTarballBench({ sizeMb, runs: quick ? 1 : 3, log: () => {} });
const [baseline, scanner] = tarball;
rows.push({
  bench: 'tarball',
  row: `manifest scan of a ${sizeMb} MB tarball vs gzip -dc \\| tar -t`,
  value: `${scanner!.mbPerSec.toFixed(0)} vs ${baseline!.mbPerSec.toFixed(0)} MB/s = ${scanner!.ratio.toFixed(2)}×`,
  target: '≥ 0.7×',
  ok: scanner!.ratio >= 0.7,
  note: quick ? 'quick size: Node start-up (~0.1 s) weighs on a 20 MB file; the full 200 MB run is the figure' : undefined,
});
rows.push({ bench: 'tarball', row: 'manifest scan peak RSS', value: `${scanner!.peakRssMb.toFixed(0)} MB`, target: '≤ 128 MB', ok: scanner!.peakRssMb <= 128 });

console.log(formatTable(rows));
console.log(`\n${quick ? 'quick run' : 'full run'} on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
