/**
 * Prepare's whole work on an upload — scanTarball, and scanTarball writing the build context — against
 * `gzip -dc FILE | tar -t` and `pigz -dc FILE | tar -t`, on two generated tarballs, in one run: a large
 * one (small files and big random blobs) and a source tree of small text files. Prepare runs in a
 * child process (bundled with esbuild, as a Lambda runs it) so its peak RSS is its own.
 *
 * "before" is the scan alone (no context); "after" is the scan writing the build context at
 * CONTEXT_GZIP_LEVEL into a sink that drops it in 5 MiB parts, as lib-storage holds them
 * (shared/aws/build-context.ts) — the S3 upload's network time is not included. The other levels
 * are the same run with the context's gzip level changed in the child (scanTarball takes no level).
 *
 * Prints a table per file, then the same run as rows of `npm run bench`'s table.
 * Usage: `npx tsx bench/tarball-scan.ts [--quick] [--size MB] [--files N] [--runs N] [--levels 0,1,6] [--hwm BYTES] [--src DIR]`
 * (`--src`: bundle shared/ from another tree, e.g. a copy holding a candidate change).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { CONTEXT_GZIP_LEVEL } from '../shared/tarball/context.js';
import { type BenchTarball, writeBenchTarball } from '../scripts/make-tarball.js';
import { type BenchRow, formatTable as formatBenchTable } from './table.js';

export interface TarballBenchOptions {
  /** Uncompressed size of the large tarball in MB (10^6 bytes). */
  sizeMb: number;
  /** Files in the small-files tarball (source-like text, 256 B – 8 KiB each). */
  smallFiles: number;
  /** Runs per tool, interleaved; the median wall time and the largest peak RSS are reported. */
  runs?: number;
  /** gzip levels of the build context to compare; CONTEXT_GZIP_LEVEL is always among them. */
  levels?: number[];
  /** Read-stream highWaterMark for the scanner's createReadStream (default: Node's 64 KiB). */
  highWaterMark?: number;
  /** The tree whose shared/tarball/ is bundled (default: this repository): a candidate change, benched alike. */
  src?: string;
  log?: (line: string) => void;
}

export type RowKind = 'gzip' | 'pigz' | 'before' | 'after' | 'level';

export interface Row {
  kind: RowKind;
  tool: string;
  /** the context's gzip level (after and level rows) */
  level?: number;
  /** set when the tool could not run here (pigz not installed): no numbers, not a failure */
  skipped?: string;
  wallMs: number;
  /** Prepare's own time inside the child, without Node start-up (Prepare rows) */
  innerMs?: number;
  /** Compressed input MB (10^6 bytes) per second of process wall time. */
  mbPerSec: number;
  /** mbPerSec / the gzip | tar row's mbPerSec. */
  ratio: number;
  /** mbPerSec / the pigz | tar row's (undefined without pigz). */
  ratioPigz?: number;
  peakRssMb: number;
  /** the build context's size (after and level rows) */
  contextMb?: number;
  target: string;
  ok: boolean;
}

export interface FileResult {
  /** 'large' | 'small' */
  name: 'large' | 'small';
  label: string;
  compressedMb: number;
  uncompressedMb: number;
  entries: number;
  rows: Row[];
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TIME = '/usr/bin/time';
export const RATIO_TARGET = 0.7;
export const RSS_TARGET_MB = 128;

interface Measured {
  wallMs: number;
  peakRssKb: number;
  stdout: string;
}

interface ChildReport {
  ms: number;
  entries: number;
  contextBytes: number;
  maxRssKb: number;
}

interface Tool {
  kind: RowKind;
  tool: string;
  level?: number;
  argv: (file: string) => string[];
}

export async function runTarballBench(opts: TarballBenchOptions): Promise<FileResult[]> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const runs = opts.runs ?? benchSizes(false).runs;
  const levels = [...new Set([...(opts.levels ?? [0, 1, 6]), CONTEXT_GZIP_LEVEL])].sort((a, b) => a - b);
  const pigz = hasPigz();
  const dir = await mkdtemp(join(tmpdir(), 'rackless-tarball-bench-'));
  try {
    const child = await bundlePrepare(dir, opts.src ?? REPO);
    const hwm = String(opts.highWaterMark ?? 0);
    const tools: Tool[] = [
      { kind: 'gzip', tool: 'gzip -dc | tar -t', argv: (f) => ['bash', '-c', 'gzip -dc "$1" | tar -t > /dev/null', 'bench', f] },
      ...(pigz ? [{ kind: 'pigz' as const, tool: 'pigz -dc | tar -t', argv: (f: string) => ['bash', '-c', 'pigz -dc "$1" | tar -t > /dev/null', 'bench', f] }] : []),
      { kind: 'before', tool: 'before: scan only', argv: (f) => [process.execPath, child, f, 'scan', '-1', hwm] },
      ...levels.map((level) => ({
        kind: level === CONTEXT_GZIP_LEVEL ? ('after' as const) : ('level' as const),
        tool: level === CONTEXT_GZIP_LEVEL ? `after: scan + context (gzip ${level})` : `scan + context at gzip ${level}`,
        level,
        argv: (f: string) => [process.execPath, child, f, 'context', String(level), hwm],
      })),
    ];

    const results: FileResult[] = [];
    for (const spec of [
      { name: 'large' as const, label: `${opts.sizeMb} MB tarball`, make: { bytes: opts.sizeMb * 1e6 } },
      {
        name: 'small' as const,
        label: `${opts.smallFiles.toLocaleString('en')} small files`,
        make: { bytes: 0, smallFiles: opts.smallFiles, content: 'text' as const, gzipLevel: 6 },
      },
    ]) {
      log(`generating the ${spec.label} in ${dir} …`);
      const tarball = await writeBenchTarball(join(dir, `${spec.name}.tgz`), spec.make);
      log(
        `  ${(tarball.compressedBytes / 1e6).toFixed(1)} MB compressed, ${(tarball.uncompressedBytes / 1e6).toFixed(1)} MB of files, ${tarball.entries.toLocaleString('en')} entries`,
      );
      const rows = await measureFile(tarball, tools, runs);
      if (!pigz)
        rows.splice(1, 0, {
          kind: 'pigz',
          tool: 'pigz -dc | tar -t',
          skipped: 'pigz not installed',
          wallMs: 0,
          mbPerSec: 0,
          ratio: 0,
          peakRssMb: 0,
          target: 'reference',
          ok: true,
        });
      results.push({
        name: spec.name,
        label: spec.label,
        compressedMb: tarball.compressedBytes / 1e6,
        uncompressedMb: tarball.uncompressedBytes / 1e6,
        entries: tarball.entries,
        rows,
      });
      await rm(tarball.file, { force: true });
    }

    for (const file of results) {
      log(`\n${file.label}: ${file.compressedMb.toFixed(1)} MB compressed, ${file.entries.toLocaleString('en')} entries`);
      log(formatTable(file.rows));
      const before = file.rows.find((r) => r.kind === 'before')!;
      const cost = file.rows
        .filter((r) => r.level !== undefined)
        .map((r) => `gzip ${r.level}: ${signed(r.wallMs - before.wallMs, 0)} ms wall, ${signed(r.innerMs! - before.innerMs!, 0)} ms in-process, ${r.contextMb!.toFixed(1)} MB`);
      log(`the context's compression over scan only — ${cost.join('; ')}`);
    }
    log(
      `\nwall: medians of ${runs} interleaved runs, RSS: the largest; Node ${process.version}; RSS via ${existsSync(TIME) ? `${TIME} -v (the largest process of a pipeline)` : 'process.resourceUsage().maxRSS'}; the S3 upload's network time is not included`,
    );
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureFile(tarball: BenchTarball, tools: Tool[], runs: number): Promise<Row[]> {
  const compressedMb = tarball.compressedBytes / 1e6;
  const samples = tools.map(() => [] as Array<Measured & { report?: ChildReport }>);
  // interleaved, so that a slow minute of the machine falls on every tool alike
  for (let run = 0; run < runs; run++) {
    for (const [i, tool] of tools.entries()) {
      const measured = await measure(tool.argv(tarball.file));
      if (tool.kind === 'gzip' || tool.kind === 'pigz') {
        samples[i]!.push(measured);
        continue;
      }
      const report = JSON.parse(measured.stdout) as ChildReport;
      if (report.entries !== tarball.entries) throw new Error(`${tool.tool}: the scan saw ${report.entries} entries, expected ${tarball.entries}`);
      if (tool.level !== undefined) {
        if (!(report.contextBytes > 0)) throw new Error(`${tool.tool}: no build context was written`);
        // stored blocks: level 0 writes more than the files; anything else that did so was not level 0
        if (tool.level === 0 && report.contextBytes < tarball.uncompressedBytes) throw new Error(`${tool.tool}: the context is smaller than its files; level 0 did not apply`);
      }
      samples[i]!.push({ ...measured, peakRssKb: measured.peakRssKb || report.maxRssKb, report });
    }
  }
  const medians = samples.map((s) => [...s].sort((a, b) => a.wallMs - b.wallMs)[Math.floor(s.length / 2)]!);
  // RSS: the worst of the runs, not the median run's (when V8 collects dead buffers varies run to run)
  const peaks = samples.map((s) => Math.max(...s.map((m) => m.peakRssKb)));
  const rate = (m: Measured): number => compressedMb / (m.wallMs / 1000);
  const gzipRate = rate(medians[tools.findIndex((t) => t.kind === 'gzip')]!);
  const pigzAt = tools.findIndex((t) => t.kind === 'pigz');
  const pigzRate = pigzAt === -1 ? undefined : rate(medians[pigzAt]!);
  return tools.map((tool, i) => {
    const m = medians[i]!;
    const mbPerSec = rate(m);
    const ratio = mbPerSec / gzipRate;
    const peakRssMb = peaks[i]! / 1024;
    const judged = tool.kind === 'before' || tool.kind === 'after';
    return {
      kind: tool.kind,
      tool: tool.tool,
      ...(tool.level !== undefined ? { level: tool.level } : {}),
      wallMs: m.wallMs,
      ...(m.report ? { innerMs: m.report.ms } : {}),
      mbPerSec,
      ratio,
      ...(pigzRate ? { ratioPigz: mbPerSec / pigzRate } : {}),
      peakRssMb,
      ...(m.report && tool.level !== undefined ? { contextMb: m.report.contextBytes / 1e6 } : {}),
      target: judged ? `≥ ${RATIO_TARGET}× gzip, RSS ≤ ${RSS_TARGET_MB} MB` : tool.kind === 'gzip' ? 'baseline' : 'reference',
      ok: judged ? ratio >= RATIO_TARGET && peakRssMb <= RSS_TARGET_MB : true,
    };
  });
}

export function formatTable(rows: Row[]): string {
  const header = ['tool', 'wall ms', 'in-process ms', 'MB/s', '× gzip|tar', '× pigz|tar', 'peak RSS MB', 'context MB', 'target', 'ok'];
  const body = rows.map((r) =>
    r.skipped
      ? [r.tool, r.skipped, '', '', '', '', '', '', r.target, 'yes']
      : [
          r.tool,
          r.wallMs.toFixed(0),
          r.innerMs === undefined ? '' : r.innerMs.toFixed(0),
          r.mbPerSec.toFixed(1),
          r.ratio.toFixed(2),
          r.ratioPigz === undefined ? '' : r.ratioPigz.toFixed(2),
          r.peakRssMb.toFixed(1),
          r.contextMb === undefined ? '' : r.contextMb.toFixed(1),
          r.target,
          r.ok ? 'yes' : 'NO',
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}

function hasPigz(): boolean {
  return spawnSync('sh', ['-c', 'command -v pigz'], { stdio: 'ignore' }).status === 0;
}

/**
 * Bundles Prepare's reading of an upload the way serverless-esbuild bundles the Lambda:
 * `child FILE scan|context LEVEL HWM`. The sink stands in for contextUpload's stream: a 1 MiB
 * buffer drained into 5 MiB parts (lib-storage's part size, one in flight), which are dropped.
 * LEVEL is the context's first gzip level (scanTarball's contextLevel): 0 stores everything, 1 is
 * what Prepare runs (AdaptiveGzip then stores what does not compress), 6 is gzip's default.
 */
async function bundlePrepare(dir: string, src: string): Promise<string> {
  const outfile = join(dir, 'prepare-child.cjs');
  await build({
    stdin: {
      contents: `
        import { createReadStream } from 'node:fs';
        import { Writable } from 'node:stream';
        import { scanTarball } from './shared/tarball/scan.ts';
        import { CONTEXT_GZIP_LEVEL } from './shared/tarball/context.ts';

        const PART_BYTES = 5 * 1024 * 1024;
        function partSink() {
          let part = [];
          let partBytes = 0;
          const sink = new Writable({
            highWaterMark: 1024 * 1024,
            write(chunk, _encoding, callback) {
              sink.bytes += chunk.length;
              part.push(chunk);
              partBytes += chunk.length;
              if (partBytes >= PART_BYTES) { Buffer.concat(part); part = []; partBytes = 0; }
              callback();
            },
            final(callback) { if (partBytes > 0) Buffer.concat(part); part = []; callback(); },
          });
          sink.bytes = 0;
          return sink;
        }

        async function main() {
          const [file, mode, levelArg, hwm] = process.argv.slice(2);
          const level = Number(levelArg);
          const sink = mode === 'context' ? partSink() : undefined;
          const started = performance.now();
          const stream = Number(hwm) > 0 ? createReadStream(file, { highWaterMark: Number(hwm) }) : createReadStream(file);
          const scan = await scanTarball(stream, {}, sink ? { context: sink, ...(level !== CONTEXT_GZIP_LEVEL ? { contextLevel: level } : {}) } : {});
          const ms = performance.now() - started;
          console.log(JSON.stringify({ ms, entries: scan.entries, contextBytes: sink ? sink.bytes : 0, maxRssKb: process.resourceUsage().maxRSS }));
        }
        main().catch((error) => { console.error(error); process.exit(1); });
      `,
      resolveDir: src,
      sourcefile: 'prepare-child.ts',
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

/** The sizes `npm run bench` uses: full, or `--quick` (CI). */
export function benchSizes(quick: boolean): { sizeMb: number; smallFiles: number; runs: number } {
  return quick ? { sizeMb: 20, smallFiles: 1_500, runs: 1 } : { sizeMb: 200, smallFiles: 9_000, runs: 5 };
}

/**
 * One run as rows of the common table (bench/tarball-rows.ts): per file, the two references, Prepare
 * before (scan only) and after (scan + build context), and what the context's gzip level costs.
 */
export function tarballRows(files: FileResult[], quick: boolean): BenchRow[] {
  const target = `≥ ${RATIO_TARGET}× gzip, RSS ≤ ${RSS_TARGET_MB} MB`;
  const rows: BenchRow[] = [];
  for (const [i, file] of files.entries()) {
    const find = (kind: Row['kind']): Row => file.rows.find((r) => r.kind === kind)!;
    const gzip = find('gzip');
    const pigz = find('pigz');
    const before = find('before');
    const after = find('after');
    const what = describe(file);
    rows.push(
      { bench: 'tarball', row: `${what}: gzip -dc \\| tar -t`, value: `${rowRate(gzip)}, RSS ${rowRss(gzip)}`, target: 'baseline', ok: true },
      {
        bench: 'tarball',
        row: `${what}: pigz -dc \\| tar -t`,
        value: pigz.skipped ?? `${rowRate(pigz)} = ${pigz.ratio.toFixed(2)}× gzip, RSS ${rowRss(pigz)}`,
        target: 'reference',
        ok: true,
      },
      { bench: 'tarball', row: `${what}: Prepare before (scan only)`, value: rowJudged(before), target, ok: before.ok },
      {
        bench: 'tarball',
        row: `${what}: Prepare after (scan + build context, gzip ${after.level})`,
        value: rowJudged(after),
        target,
        ok: after.ok,
        ...(i === 0 ? { note: 'the context goes to a sink that drops it in 5 MiB parts, as lib-storage holds them; the S3 upload (network) is not included' } : {}),
      },
      {
        bench: 'tarball',
        row: `${what}: context gzip level → cost over scan only, context size`,
        value: file.rows
          .filter((r) => r.level !== undefined)
          .map((r) => `${r.level}: ${signed((r.wallMs - before.wallMs) / 1000, 1)} s, ${r.contextMb!.toFixed(0)} MB`)
          .join('; '),
        target: 'reference',
        ok: true,
        ...(quick && i === 0 ? { note: 'quick sizes: Node start-up (~0.1 s) weighs on these small files; the full run (200 MB, 9,000 files) is the figure' } : {}),
      },
    );
  }
  return rows;
}

function describe(file: FileResult): string {
  // the large file is random bytes (compressed ≈ uncompressed); the small ones are text
  return file.name === 'large' ? file.label : `${file.label} (${file.compressedMb.toFixed(0)} MB gz)`;
}

const rowRate = (r: Row): string => `${r.mbPerSec.toFixed(0)} MB/s`;
const rowRss = (r: Row): string => `${r.peakRssMb.toFixed(0)} MB`;
const rowJudged = (r: Row): string => `${rowRate(r)} = ${r.ratio.toFixed(2)}× gzip, RSS ${rowRss(r)}`;
const signed = (n: number, digits: number): string => `${n < 0 ? '−' : '+'}${Math.abs(n).toFixed(digits)}`;

function parseArgs(argv: string[]): TarballBenchOptions {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i === -1 ? undefined : argv[i + 1];
  };
  const sizes = benchSizes(argv.includes('--quick'));
  const sizeMb = Number(value('--size') ?? sizes.sizeMb);
  const smallFiles = Number(value('--files') ?? sizes.smallFiles);
  const runs = Number(value('--runs') ?? sizes.runs);
  const levels = value('--levels')?.split(',').map(Number);
  const hwm = value('--hwm');
  const src = value('--src');
  if (!(sizeMb > 0) || !(smallFiles > 0) || !(runs > 0) || levels?.some((l) => !(Number.isInteger(l) && l >= 0 && l <= 9))) {
    throw new Error('usage: tarball-scan.ts [--quick] [--size MB] [--files N] [--runs N] [--levels 0,1,6] [--hwm BYTES] [--src DIR]');
  }
  return {
    sizeMb,
    smallFiles,
    runs,
    ...(levels ? { levels } : {}),
    ...(hwm === undefined ? {} : { highWaterMark: Number(hwm) }),
    ...(src === undefined ? {} : { src: resolve(src) }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const results = await runTarballBench(parseArgs(argv));
  // the same run as rows of `npm run bench`'s table (the README's)
  console.log(`\n${formatBenchTable(tarballRows(results, argv.includes('--quick')))}`);
  if (results.some((file) => file.rows.some((r) => !r.ok))) process.exitCode = 1;
}
