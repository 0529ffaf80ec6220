/**
 * Bundle size per function (minified, the AWS SDK bundled in, as packaged) and module init: the
 * wall time of a fresh Node process importing the bundle, as the runtime does at a cold start (with
 * LAMBDA_TASK_ROOT set, so the handler wires its clients at import as on Lambda — shared/handler.ts),
 * beside a fresh process importing `node:http` alone, interleaved in the same run; the median of
 * each, and their ratio. Usage: `npx tsx bench/bundles.ts [--quick]` (packages first).
 * Targets (issue 13): ≤ 2× `node:http` for every function, ≤ 1 MB each.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV_NAMES } from '../shared/config.js';
import type { BenchRow } from './table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SIZE_TARGET_KB = 1024;
const INIT_TARGET_RATIO = 2;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** wall time, ms, of a fresh process running `code` as an ES module */
function processTime(code: string, env: NodeJS.ProcessEnv, cwd: string): number {
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env, cwd, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) throw new Error(`node -e ${code}: ${child.stderr.slice(0, 500)}`);
  return ms;
}

export async function runBundlesBench({ quick = false } = {}): Promise<BenchRow[]> {
  const packaged = join(ROOT, '.serverless');
  execFileSync(join(ROOT, 'node_modules/.bin/serverless'), ['package', '--stage', 'bench', '--region', 'us-east-1'], {
    cwd: ROOT,
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    stdio: 'pipe',
  });
  // unpacked outside the repository: a bundle must carry everything it imports (nothing resolves
  // from the repository's node_modules), as in the Lambda runtime
  const unpacked = join(tmpdir(), `rackless-bench-bundles-${process.pid}`);
  rmSync(unpacked, { recursive: true, force: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...Object.fromEntries(
      Object.keys(ENV_NAMES).map((k) => [
        k,
        k.endsWith('_ARN') ? `arn:aws:sns:us-east-1:123456789012:${k}` : /SECONDS|DELAY|STOPS|MAX/.test(k) ? '30' : `bench-${k.toLowerCase()}`,
      ]),
    ),
    AWS_REGION: 'us-east-1',
    BASE_IMAGE_APPS: '{}',
    LAMBDA_TASK_ROOT: unpacked,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
  };
  const runs = quick ? 7 : 15;
  const bundles: Array<{ fn: string; handler: string; kb: number; times: number[] }> = [];
  const floor: number[] = [];
  try {
    for (const zip of readdirSync(packaged).filter((f) => f.endsWith('.zip'))) {
      const fn = zip.replace(/\.zip$/, '');
      const dir = join(unpacked, fn);
      mkdirSync(dir, { recursive: true });
      execFileSync('unzip', ['-q', '-o', join(packaged, zip), '-d', dir]);
      const handler = findHandler(dir);
      bundles.push({ fn, handler, kb: statSync(handler).size / 1024, times: [] });
    }
    // interleaved: each round imports node:http once and every bundle once, so a busy moment of the
    // machine falls on all of them alike
    for (let i = 0; i < runs; i++) {
      floor.push(processTime("await import('node:http');", env, unpacked));
      for (const b of bundles) b.times.push(processTime(`await import(${JSON.stringify(b.handler)});`, env, unpacked));
    }
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
  const http = median(floor);
  const sizes = bundles.map((b) => ({ fn: b.fn, kb: b.kb, initMs: median(b.times), ratio: median(b.times) / http }));
  const largest = sizes.reduce((a, b) => (b.kb > a.kb ? b : a));
  const slowest = sizes.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const over = sizes.filter((s) => s.kb > SIZE_TARGET_KB).map((s) => `${s.fn} ${s.kb.toFixed(0)} KB`);
  const slow = sizes.filter((s) => s.ratio > INIT_TARGET_RATIO).map((s) => `${s.fn} ${s.ratio.toFixed(2)}×`);
  return [
    {
      bench: 'bundles',
      row: `bundle size, ${sizes.length} functions (minified, AWS SDK bundled)`,
      value: `median ${median(sizes.map((s) => s.kb)).toFixed(0)} KB, largest ${largest.fn} ${largest.kb.toFixed(0)} KB`,
      target: `≤ ${SIZE_TARGET_KB} KB each`,
      ok: over.length === 0,
      note: `${sizes.map((s) => `${s.fn} ${s.kb.toFixed(0)}`).join(', ')} KB${over.length ? `; over: ${over.join(', ')}` : ''}`,
    },
    {
      bench: 'bundles',
      row: `cold import of a bundle vs node:http alone (median of ${runs} fresh processes each)`,
      value: `median ${median(sizes.map((s) => s.ratio)).toFixed(2)}×, slowest ${slowest.fn} ${slowest.ratio.toFixed(2)}× (${slowest.initMs.toFixed(0)} ms vs ${http.toFixed(0)} ms)`,
      target: `≤ ${INIT_TARGET_RATIO}× every function`,
      ok: slow.length === 0,
      note: `${sizes.map((s) => `${s.fn} ${s.ratio.toFixed(2)}× (${s.initMs.toFixed(0)} ms)`).join(', ')}${slow.length ? `; over: ${slow.join(', ')}` : ''}`,
    },
  ];
}

function findHandler(dir: string): string {
  const stack = [dir];
  while (stack.length) {
    const at = stack.pop()!;
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (/handler\.(mjs|js|cjs)$/.test(entry.name)) return path;
    }
  }
  throw new Error(`no handler bundle in ${dir}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { printTable } = await import('./table.js');
  printTable(await runBundlesBench({ quick: process.argv.includes('--quick') }));
}
