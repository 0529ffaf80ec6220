/**
 * Bundle size per function (minified, as packaged) and module init time: the median of ≥ 10 fresh
 * Node processes importing the bundle. Usage: `npx tsx bench/bundles.ts [--quick]` (packages first).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV_NAMES } from '../shared/config.js';
import type { BenchRow } from './table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SIZE_TARGET_KB = 250;
const INIT_TARGET_MS = 60;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function runBundlesBench({ quick = false } = {}): Promise<BenchRow[]> {
  const packaged = join(ROOT, '.serverless');
  execFileSync(join(ROOT, 'node_modules/.bin/serverless'), ['package', '--stage', 'bench', '--region', 'us-east-1'], {
    cwd: ROOT,
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    stdio: 'pipe',
  });
  // unpacked inside the repository so the runtime-provided SDK resolves from node_modules, as on Lambda
  const unpacked = join(ROOT, '.bench-bundles');
  rmSync(unpacked, { recursive: true, force: true });
  const env = {
    ...process.env,
    ...Object.fromEntries(
      Object.keys(ENV_NAMES).map((k) => [
        k,
        k.endsWith('_ARN') ? `arn:aws:sns:us-east-1:123456789012:${k}` : /SECONDS|DELAY|STOPS|MAX/.test(k) ? '30' : `bench-${k.toLowerCase()}`,
      ]),
    ),
  };
  env.AWS_REGION = 'us-east-1';
  env.BASE_IMAGE_APPS = '{}';
  const runs = quick ? 10 : 15;
  const sizes: Array<{ fn: string; kb: number; initMs: number }> = [];
  try {
    for (const zip of readdirSync(packaged).filter((f) => f.endsWith('.zip'))) {
      const fn = zip.replace(/\.zip$/, '');
      const dir = join(unpacked, fn);
      mkdirSync(dir, { recursive: true });
      execFileSync('unzip', ['-q', '-o', join(packaged, zip), '-d', dir]);
      const handler = findHandler(dir);
      const kb = statSync(handler).size / 1024;
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const child = spawnSync(
          process.execPath,
          ['--input-type=module', '-e', `const t = performance.now(); await import(${JSON.stringify(handler)}); console.log(performance.now() - t);`],
          { env, encoding: 'utf8' },
        );
        if (child.status !== 0) throw new Error(`${fn}: importing its bundle failed: ${child.stderr.slice(0, 500)}`);
        times.push(Number(child.stdout.trim()));
      }
      sizes.push({ fn, kb, initMs: median(times) });
    }
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
  // the floor: the runtime's SDK clients that nearly every function loads, and nothing else
  const floor: number[] = [];
  for (let i = 0; i < runs; i++) {
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const t = performance.now(); await import('@aws-sdk/client-dynamodb'); await import('@aws-sdk/lib-dynamodb'); console.log(performance.now() - t);",
      ],
      { cwd: ROOT, env, encoding: 'utf8' },
    );
    floor.push(Number(child.stdout.trim()));
  }
  const largest = sizes.reduce((a, b) => (b.kb > a.kb ? b : a));
  const slowest = sizes.reduce((a, b) => (b.initMs > a.initMs ? b : a));
  const over = sizes.filter((s) => s.kb > SIZE_TARGET_KB).map((s) => `${s.fn} ${s.kb.toFixed(0)} KB`);
  return [
    {
      bench: 'bundles',
      row: `bundle size, ${sizes.length} functions (minified)`,
      value: `median ${median(sizes.map((s) => s.kb)).toFixed(0)} KB, largest ${largest.fn} ${largest.kb.toFixed(0)} KB`,
      target: `≤ ${SIZE_TARGET_KB} KB`,
      ok: over.length === 0,
      note: `${sizes.map((s) => `${s.fn} ${s.kb.toFixed(0)}`).join(', ')} KB${over.length ? `; over: ${over.join(', ')}` : ''}`,
    },
    {
      bench: 'bundles',
      row: `module init time (median of ${runs} fresh processes)`,
      value: `median ${median(sizes.map((s) => s.initMs)).toFixed(0)} ms, slowest ${slowest.fn} ${slowest.initMs.toFixed(0)} ms`,
      target: `≤ ${INIT_TARGET_MS} ms`,
      ok: slowest.initMs <= INIT_TARGET_MS,
    },
    {
      bench: 'bundles',
      row: 'reference: importing the runtime SDK clients alone (DynamoDB + lib-dynamodb)',
      value: `median ${median(floor).toFixed(0)} ms`,
      target: 'reference',
      ok: true,
      note: 'the floor every function pays: the runtime-provided AWS SDK v3 loads from many files',
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
