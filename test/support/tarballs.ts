/**
 * Builds tarballs in memory for tests, good and deliberately bad, with tar-stream's packer and zlib.
 * No binary fixtures: every archive a test reads is described next to the test.
 */
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

export type TarEntryType =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'link'
  | 'character-device'
  | 'block-device'
  | 'fifo'
  /** A pax global header (what `git archive` writes first); its records come from `pax`. */
  | 'pax-global-header';

export interface TarEntry {
  name: string;
  /** File contents. */
  body?: string | Buffer;
  type?: TarEntryType;
  /** Target of a symlink (relative to its directory) or hard link (relative to the root). */
  linkname?: string;
  /** A file of this many zero bytes, streamed so a large or bomb-like entry costs no memory to write. */
  size?: number;
  mode?: number;
  /** Records of a pax-global-header entry, e.g. `{comment: '<git sha>'}`. */
  pax?: Record<string, string>;
}

export interface TarballOptions {
  /** gzip the tar (default true). */
  gzip?: boolean;
  /** Keep only the first N bytes of the output; a negative N drops the last |N| bytes. */
  truncate?: number;
}

const ZERO_CHUNK = Buffer.alloc(64 * 1024);

export async function buildTarball(entries: TarEntry[], opts: TarballOptions = {}): Promise<Buffer> {
  const pack = tar.pack();
  const output = opts.gzip === false ? pack : pack.pipe(createGzip());
  const collected = collect(output);
  for (const entry of entries) await addEntry(pack, entry);
  pack.finalize();
  const tarball = await collected;
  if (opts.truncate === undefined) return tarball;
  return opts.truncate >= 0 ? tarball.subarray(0, opts.truncate) : tarball.subarray(0, tarball.length + opts.truncate);
}

/** Feeds a buffer to `scanTarball` in chunks of `chunkSize`, counting how many bytes it was asked for. */
export function chunked(buffer: Buffer, chunkSize = 1024): { source: AsyncIterable<Buffer>; consumed: () => number } {
  let consumed = 0;
  async function* source(): AsyncGenerator<Buffer> {
    for (let offset = 0; offset < buffer.length; offset += chunkSize) {
      const chunk = buffer.subarray(offset, offset + chunkSize);
      consumed += chunk.length;
      yield chunk;
    }
  }
  return { source: source(), consumed: () => consumed };
}

/** One Readable yielding `buffer`, as an S3 GetObject body would. */
export function streamOf(buffer: Buffer): Readable {
  return Readable.from([buffer]);
}

async function addEntry(pack: tar.Pack, entry: TarEntry): Promise<void> {
  const type = entry.type ?? 'file';
  if (type === 'pax-global-header') {
    pushRaw(pack, paxGlobalHeader(entry.name, entry.pax ?? {}));
    return;
  }
  if (entry.body !== undefined && entry.size !== undefined) throw new Error(`entry ${entry.name}: give body or size, not both`);
  const header = { name: entry.name, type, mode: entry.mode, linkname: entry.linkname };
  if (entry.body !== undefined) {
    await new Promise<void>((resolve, reject) => pack.entry(header, entry.body!, (err) => (err ? reject(err) : resolve())));
    return;
  }
  const size = type === 'file' ? (entry.size ?? 0) : 0;
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ ...header, size }, (err) => (err ? reject(err) : resolve()));
    void writeZeros(sink, size).then(() => sink.end(undefined), reject);
  });
}

async function writeZeros(sink: ReturnType<tar.Pack['entry']>, size: number): Promise<void> {
  for (let left = size; left > 0; left -= ZERO_CHUNK.length) {
    const ok = sink.write(left >= ZERO_CHUNK.length ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, left));
    if (!ok) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
  }
}

/** tar-stream's packer cannot write a typeflag `g` header, so this writes the ustar blocks itself. */
function paxGlobalHeader(name: string, records: Record<string, string>): Buffer {
  const body = Buffer.from(
    Object.entries(records)
      .map(([key, value]) => paxRecord(key, value))
      .join(''),
  );
  const header = Buffer.alloc(512);
  header.write(name.slice(0, 100), 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('g', 156);
  header.write('ustar\u000000', 257, 'latin1');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header, body, padding]);
}

/** `LEN key=value\n`, where LEN counts itself. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(rest) + 1;
  while (Buffer.byteLength(`${length}${rest}`) !== length) length += 1;
  return `${length}${rest}`;
}

/** Pushes pre-encoded blocks between entries (the packer is idle between awaited entries). */
function pushRaw(pack: tar.Pack, blocks: Buffer): void {
  pack.push(blocks);
}

async function collect(stream: NodeJS.ReadableStream | tar.Pack): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A tarball holding only a rackless.yml of these services, each body indented under its name. */
export function manifestTarball(services: Record<string, string>): Promise<Buffer> {
  const body = `services:\n${Object.entries(services)
    .map(([name, settings]) => `  ${name}:\n${settings.replace(/^/gm, '    ')}\n`)
    .join('')}`;
  return buildTarball([{ name: 'rackless.yml', body }]);
}
