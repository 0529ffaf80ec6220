/**
 * `npm run bench [-- --quick]`: every benchmark, measured in one run, printed as one table. Each runs
 * in a child process of its own (handlers read their environment once per process, as on Lambda).
 * `--quick` uses small sizes (CI); the full run is the README's table.
 */
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatTable, type BenchRow } from './table.js';

const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');

/** module → exported function returning BenchRow[] */
const BENCHES: Array<[string, string]> = [
  ['deploy', 'runDeployBench'],
  ['concurrency', 'runConcurrencyBench'],
  ['tarball', 'runTarballRows'],
  ['task-events', 'runTaskEventsBench'],
  ['bundles', 'runBundlesBench'],
  ['cli-start', 'runCliStartBench'],
  ['rollout-model', 'runRolloutModelBench'],
  ['stack', 'runStackBench'],
];

const child = fileURLToPath(new URL('./child.ts', import.meta.url));
const rows: BenchRow[] = [];
let failed = false;
for (const [name, fn] of BENCHES.filter(([n]) => !only || only.includes(n))) {
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', child, name, fn, quick ? 'quick' : 'full'], {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'SILENT' },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 20 * 60_000,
  });
  const line = run.stdout.split('\n').find((l) => l.startsWith('BENCH_ROWS '));
  if (run.status !== 0 || !line) {
    failed = true;
    rows.push({
      bench: name,
      row: 'benchmark run',
      value: `failed (exit ${run.status}): ${(run.stderr || run.stdout).trim().split('\n').slice(-3).join(' / ').slice(0, 300)}`,
      target: 'runs',
      ok: false,
    });
    continue;
  }
  rows.push(...(JSON.parse(line.slice('BENCH_ROWS '.length)) as BenchRow[]));
  process.stderr.write(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

console.log(formatTable(rows));
console.log(
  `\n${quick ? 'quick run' : 'full run'} on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
);
// a benchmark that could not run fails the command; a missed target is reported, not fatal
process.exit(failed ? 1 : 0);
