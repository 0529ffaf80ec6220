/**
 * Writes a large, realistic-shaped .tar.gz to disk without holding it in memory: a Dockerfile and
 * manifest, thousands of small files, and big incompressible blobs (so compressed ≈ uncompressed).
 * Or, with `bytes: 0` and `content: 'text'`, a source tree: only small, compressible text files.
 * Used by bench/tarball-scan.ts; runnable alone: `npx tsx scripts/make-tarball.ts OUT.tgz [MB [FILES [text]]]`.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import tar from 'tar-stream';

export interface BenchTarballSpec {
  /** Target uncompressed size in bytes (the compressed file ends up a little larger). */
  bytes: number;
  /** How many small files (256 B – 8 KiB each); default one per 40 KB of target size, at least 500. */
  smallFiles?: number;
  /**
   * What the small files hold: `random` bytes (incompressible, the default) or `text`, source-like
   * lines that gzip about 3× (a tree of sources). The blobs are always random.
   */
  content?: 'random' | 'text';
  /** gzip level of the tarball itself; default 1 (random data is stored at any level). `tar czf` writes 6. */
  gzipLevel?: number;
}

export interface BenchTarball {
  file: string;
  compressedBytes: number;
  uncompressedBytes: number;
  entries: number;
}

const BLOB_BYTES = 8 * 1024 * 1024;
const SLICE_BYTES = 1024 * 1024;

export async function writeBenchTarball(file: string, spec: BenchTarballSpec): Promise<BenchTarball> {
  // Slices of one random pool stay incompressible: repeats are far beyond deflate's 32 KiB window.
  const pool = randomBytes(16 * 1024 * 1024);
  const randomSlice = (length: number): Buffer => {
    const start = Math.floor(Math.random() * (pool.length - length));
    return pool.subarray(start, start + length);
  };
  const text = spec.content === 'text' ? sourceText(16 * 1024 * 1024) : undefined;
  const textSlice = (length: number): Buffer => {
    const start = Math.floor(Math.random() * (text!.length - length));
    return text!.subarray(start, start + length);
  };
  const smallFiles = spec.smallFiles ?? Math.max(500, Math.round(spec.bytes / 40_000));
  const pack = tar.pack();
  // Level 1 by default: random data is stored either way, and the generator should not dominate the run.
  const written = pipeline(pack, createGzip({ level: spec.gzipLevel ?? zlibConstants.Z_BEST_SPEED }), createWriteStream(file));
  let uncompressed = 0;
  let entries = 0;
  const add = (name: string, body: Buffer | string): Promise<void> => {
    uncompressed += Buffer.byteLength(body);
    entries += 1;
    return new Promise((resolve, reject) => pack.entry({ name }, body, (err) => (err ? reject(err) : resolve())));
  };

  await add('Dockerfile', 'FROM node:24-alpine\nWORKDIR /app\nCOPY . .\nEXPOSE 3000\nCMD ["node", "src/index.js"]\n');
  await add('rackless.yml', 'services:\n  web:\n    build: .\n    port: 3000\n');
  await add('.dockerignore', 'node_modules\n.git\n');
  for (let i = 0; i < smallFiles; i++) {
    const size = 256 + Math.floor(Math.random() * (8 * 1024 - 256));
    const dir = `src/d${String(i % 50).padStart(2, '0')}`;
    await add(text ? `${dir}/file-${i}.ts` : `${dir}/file-${i}.bin`, text ? textSlice(size) : randomSlice(size));
  }
  for (let i = 0; uncompressed < spec.bytes; i++) {
    const size = Math.min(BLOB_BYTES, spec.bytes - uncompressed);
    uncompressed += size;
    entries += 1;
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ name: `assets/blob-${i}.bin`, size }, (err) => (err ? reject(err) : resolve()));
      void (async () => {
        for (let left = size; left > 0; left -= SLICE_BYTES) {
          if (!sink.write(randomSlice(Math.min(SLICE_BYTES, left)))) await new Promise<void>((r) => sink.once('drain', () => r()));
        }
        sink.end(undefined);
      })().catch(reject);
    });
  }
  pack.finalize();
  await written;
  return { file, compressedBytes: (await stat(file)).size, uncompressedBytes: uncompressed, entries };
}

/** Source-like lines from a small vocabulary: deflate finds about what it finds in real code (≈ 3×). */
function sourceText(length: number): Buffer {
  const words = ['const', 'let', 'return', 'await', 'export', 'function', 'import', 'from', 'if', 'else', 'for', 'of', 'new', 'this', 'type', 'interface'];
  const names = Array.from({ length: 400 }, () => `v${randomBytes(4).toString('hex')}`);
  const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)]!;
  const lines: string[] = [];
  let size = 0;
  while (size < length) {
    const indent = ' '.repeat(2 * Math.floor(Math.random() * 4));
    const line = `${indent}${pick(words)} ${pick(names)}${pick(['', 'Id', 'Name', 'List'])} = ${pick(names)}(${pick(names)}, ${Math.floor(Math.random() * 1000)});${Math.random() < 0.2 ? ` // ${pick(names)} ${pick(names)}` : ''}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''), 'utf8');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [out, mb = '200', files, content] = process.argv.slice(2);
  if (!out) {
    console.error('usage: npx tsx scripts/make-tarball.ts OUT.tgz [MB [FILES [text]]]');
    process.exit(2);
  }
  const smallFiles = files === undefined ? undefined : Number(files);
  console.log(
    await writeBenchTarball(out, {
      bytes: Number(mb) * 1e6,
      ...(smallFiles === undefined ? {} : { smallFiles }),
      ...(content === 'text' ? { content: 'text' as const, gzipLevel: 6 } : {}),
    }),
  );
}
