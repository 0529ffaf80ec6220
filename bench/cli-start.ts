/**
 * How fast `rackless` starts: the median wall time of fresh `node cli/bin.mjs --help` and
 * `--version` processes (the compiled CLI, dist/cli, built first as `npm ci` builds it), beside
 * `node -e 0` in the same run, as a ratio to it. Target (issue 13): `--help` under 0.5 s here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../cli/bin.mjs', import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** wall time of one fresh process, ms */
function timed(args: string[]): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function runCliStartBench({ quick = false } = {}): Promise<BenchRow[]> {
  execFileSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: ROOT });
  const runs = quick ? 5 : 15;
  const cases: Array<[string, string[]]> = [
    ['node -e 0', ['-e', '0']],
    ['rackless --help', [BIN, '--help']],
    ['rackless --version', [BIN, '--version']],
  ];
  const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  // interleaved, so a busy moment of the machine falls on every case alike
  for (let i = 0; i < runs; i++) for (const [name, args] of cases) samples.get(name)!.push(timed(args));
  const floor = median(samples.get('node -e 0')!);
  return cases.slice(1).map(([name]) => {
    const ms = median(samples.get(name)!);
    return {
      bench: 'cli-start',
      row: `${name} (median of ${runs} fresh processes)`,
      value: `${ms.toFixed(0)} ms, ${(ms / floor).toFixed(1)}× node -e 0 (${floor.toFixed(0)} ms)`,
      target: '< 500 ms',
      ok: ms < 500,
    };
  });
}
