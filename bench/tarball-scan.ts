/**
 * scanTarball against `gzip -dc FILE | tar -t`, on one generated tarball, in one run.
 * The scanner runs in a child process (the scanner bundled with esbuild, as a Lambda would run it)
 * so its peak RSS is its own. Usage: `npx tsx bench/tarball-scan.ts [--quick] [--size MB] [--runs N]`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { writeBenchTarball } from '../scripts/make-tarball.js';

export interface TarballBenchOptions {
  /** Uncompressed size of the generated tarball in MB (10^6 bytes). */
  sizeMb: number;
  /** Runs per tool; the median is reported. */
  runs?: number;
  /** Read-stream highWaterMark for the scanner's createReadStream (default: Node's 64 KiB). */
  highWaterMark?: number;
  log?: (line: string) => void;
}

export interface Row {
  tool: string;
  wallMs: number;
  /** Compressed input MB (10^6 bytes) per second of process wall time. */
  mbPerSec: number;
  /** mbPerSec / the gzip|tar row's mbPerSec. */
  ratio: number;
  peakRssMb: number;
  target: string;
  ok: boolean;
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TIME = '/usr/bin/time';
const RATIO_TARGET = 0.7;
const RSS_TARGET_MB = 128;

interface Measured {
  wallMs: number;
  peakRssKb: number;
  stdout: string;
}

export async function runTarballBench(opts: TarballBenchOptions): Promise<Row[]> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const runs = opts.runs ?? 3;
  const dir = await mkdtemp(join(tmpdir(), 'rackless-tarball-bench-'));
  try {
    log(`generating a ${opts.sizeMb} MB tarball in ${dir} …`);
    const tarball = await writeBenchTarball(join(dir, 'app.tgz'), { bytes: opts.sizeMb * 1e6 });
    const compressedMb = tarball.compressedBytes / 1e6;
    log(`  ${compressedMb.toFixed(1)} MB compressed, ${(tarball.uncompressedBytes / 1e6).toFixed(1)} MB of files, ${tarball.entries} entries`);
    const child = await bundleScanner(dir);

    const baseline = await median(runs, () => measure(['bash', '-c', 'gzip -dc "$1" | tar -t > /dev/null', 'bench', tarball.file]));
    const scans: Array<{ ms: number; entries: number }> = [];
    const scanner = await median(runs, async () => {
      const measured = await measure([process.execPath, child, tarball.file, String(opts.highWaterMark ?? 0)]);
      const report = JSON.parse(measured.stdout) as { scanMs: number; entries: number; maxRssKb: number };
      if (report.entries !== tarball.entries) throw new Error(`scanner saw ${report.entries} entries, expected ${tarball.entries}`);
      scans.push({ ms: report.scanMs, entries: report.entries });
      return { ...measured, peakRssKb: measured.peakRssKb || report.maxRssKb };
    });

    const baseRate = compressedMb / (baseline.wallMs / 1000);
    const scanRate = compressedMb / (scanner.wallMs / 1000);
    const rows: Row[] = [
      { tool: 'gzip -dc | tar -t', wallMs: baseline.wallMs, mbPerSec: baseRate, ratio: 1, peakRssMb: baseline.peakRssKb / 1024, target: 'baseline', ok: true },
      {
        tool: 'scanTarball (child node)',
        wallMs: scanner.wallMs,
        mbPerSec: scanRate,
        ratio: scanRate / baseRate,
        peakRssMb: scanner.peakRssKb / 1024,
        target: `ratio ≥ ${RATIO_TARGET}×, RSS ≤ ${RSS_TARGET_MB} MB`,
        ok: scanRate / baseRate >= RATIO_TARGET && scanner.peakRssKb / 1024 <= RSS_TARGET_MB,
      },
    ];
    log(formatTable(rows));
    const inProcess = scans.map((s) => Math.round(s.ms)).join(', ');
    log(`scanTarball alone, inside the child without Node start-up: ${inProcess} ms (${scans.map((s) => (compressedMb / (s.ms / 1000)).toFixed(0)).join(', ')} MB/s)`);
    log(`medians of ${runs} runs; Node ${process.version}; RSS via ${existsSync(TIME) ? `${TIME} -v` : 'process.resourceUsage().maxRSS'}`);
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatTable(rows: Row[]): string {
  const header = ['tool', 'wall ms', 'MB/s', '× gzip|tar', 'peak RSS MB', 'target', 'ok'];
  const body = rows.map((r) => [r.tool, r.wallMs.toFixed(0), r.mbPerSec.toFixed(1), r.ratio.toFixed(2), r.peakRssMb.toFixed(1), r.target, r.ok ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}

/** Bundles a tiny scanner entry point the way serverless-esbuild bundles a Lambda. */
async function bundleScanner(dir: string): Promise<string> {
  const outfile = join(dir, 'scan-child.cjs');
  await build({
    stdin: {
      contents: `
        import { createReadStream } from 'node:fs';
        import { scanTarball } from './shared/tarball/scan.ts';
        async function main() {
          const [file, hwm] = process.argv.slice(2);
          const started = performance.now();
          const stream = Number(hwm) > 0 ? createReadStream(file, { highWaterMark: Number(hwm) }) : createReadStream(file);
          const scan = await scanTarball(stream);
          const scanMs = performance.now() - started;
          console.log(JSON.stringify({ scanMs, entries: scan.entries, maxRssKb: process.resourceUsage().maxRSS }));
        }
        main().catch((error) => { console.error(error); process.exit(1); });
      `,
      resolveDir: REPO,
      sourcefile: 'scan-child.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

async function measure(argv: string[]): Promise<Measured> {
  const timed = existsSync(TIME);
  const [cmd, ...args] = timed ? [TIME, '-v', ...argv] : argv;
  const started = performance.now();
  const { stdout, stderr, code } = await run(cmd!, args);
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return { wallMs, peakRssKb: rss ? Number(rss[1]) : 0, stdout };
}

function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ stdout, stderr, code }));
  });
}

async function median(runs: number, once: () => Promise<Measured>): Promise<Measured> {
  const results: Measured[] = [];
  for (let i = 0; i < runs; i++) results.push(await once());
  results.sort((a, b) => a.wallMs - b.wallMs);
  return results[Math.floor(results.length / 2)]!;
}

function parseArgs(argv: string[]): TarballBenchOptions {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i === -1 ? undefined : argv[i + 1];
  };
  const sizeMb = argv.includes('--quick') ? 20 : Number(value('--size') ?? 200);
  const runs = Number(value('--runs') ?? 3);
  const hwm = value('--hwm');
  if (!(sizeMb > 0) || !(runs > 0)) throw new Error('usage: tarball-scan.ts [--quick] [--size MB] [--runs N] [--hwm BYTES]');
  return { sizeMb, runs, highWaterMark: hwm === undefined ? undefined : Number(hwm) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runTarballBench(parseArgs(process.argv.slice(2)));
  if (rows.some((r) => !r.ok)) process.exitCode = 1;
}
