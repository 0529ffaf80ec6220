import { once } from 'node:events';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createGzip, type Gzip } from 'node:zlib';
import tar from 'tar-stream';
import type { ContextEntry } from './scan.js';

/**
 * The build context as the scan accepts it: a fresh ustar archive (tar-stream's packer; a name over
 * 100 bytes gets a pax `path` record, the one extension GNU tar and tar-stream read alike), gzipped
 * by AdaptiveGzip. Entries go in as the scan admits them and their bodies as they stream, so memory
 * stays flat; the sink's backpressure reaches the parser.
 */
export const CONTEXT_GZIP_LEVEL = 1;

/** Writes reach zlib in batches of this much: one write per tar header or small body costs more than compressing it. */
const BATCH_BYTES = 128 * 1024;
/** After this much input at level 1, a member that shrank the data by less than a tenth ends, and the rest is stored. */
const PROBE_BYTES = 4 * 1024 * 1024;
const INCOMPRESSIBLE = 0.9;

/**
 * gzip that stops compressing what does not compress. Level 1 makes a context of sources about a
 * quarter of its size for little CPU; on already-compressed bodies (images, archives, binaries) it
 * costs a fifth of gunzip's speed for nothing (bench/tarball-scan.ts, "cost of each context level").
 * So the first member is level 1 and, once PROBE_BYTES of it shrank by less than a tenth, it ends and
 * the rest goes in a level-0 (stored) member. A gzip file may hold several members, which gunzip
 * reads as one stream ("a gzip file consists of a series of members" — RFC 1952, 2.2; GNU gzip and
 * so `tar -xz` decompress them in turn).
 */
export class AdaptiveGzip extends Transform {
  private gzip: Gzip | undefined;
  private stored: StoredMember | undefined;
  private memberIn = 0;
  private memberOut = 0;
  private batch: Buffer[] = [];
  private batched = 0;
  /** the level of each member written, for tests and the bench */
  readonly levels: number[] = [];

  constructor(level = CONTEXT_GZIP_LEVEL) {
    super();
    this.open(level);
  }

  private open(level: number): void {
    this.levels.push(level);
    this.memberIn = 0;
    this.memberOut = 0;
    if (level === 0) {
      // stored blocks need no compressor: the input goes out as it came, framed (no copy, no thread hop)
      this.stored = new StoredMember();
      this.push(this.stored.header());
      return;
    }
    const gzip = createGzip({ level, chunkSize: BATCH_BYTES });
    gzip.on('data', (chunk: Buffer) => {
      this.memberOut += chunk.length;
      // the reader is full: hold zlib's output, so its writes stop draining and the batches wait
      if (!this.push(chunk)) gzip.pause();
    });
    this.gzip = gzip;
  }

  override _read(size: number): void {
    this.gzip?.resume();
    super._read(size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.stored) {
      for (const piece of this.stored.blocks(chunk)) this.push(piece);
      callback();
      return;
    }
    this.batch.push(chunk);
    this.batched += chunk.length;
    if (this.batched < BATCH_BYTES) {
      callback();
      return;
    }
    this.writeBatch().then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.writeBatch()
      .then(() => this.endMember())
      .then(() => callback(), callback);
  }

  private async writeBatch(): Promise<void> {
    if (this.batched === 0 || !this.gzip) return;
    const data = this.batch.length === 1 ? this.batch[0]! : Buffer.concat(this.batch, this.batched);
    this.batch = [];
    this.batched = 0;
    this.memberIn += data.length;
    if (!this.gzip.write(data)) await once(this.gzip, 'drain');
    if (this.memberIn >= PROBE_BYTES && this.memberOut > INCOMPRESSIBLE * this.memberIn) {
      await this.endMember();
      this.open(0);
    }
  }

  private async endMember(): Promise<void> {
    if (this.stored) {
      this.push(this.stored.trailer());
      this.stored = undefined;
      return;
    }
    const gzip = this.gzip!;
    this.gzip = undefined;
    const ended = once(gzip, 'end');
    gzip.end();
    gzip.resume();
    await ended;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.gzip?.destroy();
    callback(error);
  }
}

/**
 * One gzip member of stored (uncompressed) deflate blocks, written by hand: RFC 1952 (header, CRC-32,
 * ISIZE) around RFC 1951 3.2.4 blocks (BTYPE 00: a byte of BFINAL/BTYPE, LEN, NLEN, at most 65,535
 * bytes of data each).
 */
class StoredMember {
  private crc = 0;
  private size = 0;

  header(): Buffer {
    // ID1 ID2, CM=8 (deflate), no flags, no mtime, XFL 0, OS 255 (unknown)
    return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  }

  *blocks(data: Buffer): Generator<Buffer> {
    this.crc = crc32(data, this.crc);
    this.size = (this.size + data.length) >>> 0;
    for (let at = 0; at < data.length; at += 0xffff) {
      const piece = data.subarray(at, at + 0xffff);
      const head = Buffer.alloc(5);
      head.writeUInt16LE(piece.length, 1);
      head.writeUInt16LE(~piece.length & 0xffff, 3);
      yield head;
      yield piece;
    }
  }

  trailer(): Buffer {
    const end = Buffer.alloc(13);
    // the final block: BFINAL=1, empty
    end.writeUInt8(1, 0);
    end.writeUInt16LE(0, 1);
    end.writeUInt16LE(0xffff, 3);
    end.writeUInt32LE(this.crc >>> 0, 5);
    end.writeUInt32LE(this.size, 9);
    return end;
  }
}

export class ContextWriter {
  private readonly pack = tar.pack();
  private readonly done: Promise<void>;
  readonly gzip: AdaptiveGzip;

  constructor(sink: Writable, level = CONTEXT_GZIP_LEVEL) {
    this.gzip = new AdaptiveGzip(level);
    this.done = pipeline(this.pack as unknown as NodeJS.ReadableStream, this.gzip, sink);
    // a failed pipeline is reported by finish() or replaced by the scan's own rejection
    this.done.catch(() => undefined);
  }

  /**
   * Opens one entry: a file's body is written to `sink`, then ended; `done` settles once the entry
   * is in the archive (a directory or link at once). The next entry waits for it.
   */
  entry(entry: ContextEntry): { sink: Writable; done: Promise<void> } {
    const header =
      entry.type === 'file'
        ? { name: entry.name, type: 'file' as const, size: entry.size ?? 0, mode: entry.mode ?? 0o644, ...(entry.mtime ? { mtime: entry.mtime } : {}) }
        : entry.type === 'directory'
          ? { name: entry.name, type: 'directory' as const, mode: entry.mode ?? 0o755, ...(entry.mtime ? { mtime: entry.mtime } : {}) }
          : { name: entry.name, type: entry.type, linkname: entry.linkname ?? '', ...(entry.mtime ? { mtime: entry.mtime } : {}) };
    let settle!: (error?: Error | null) => void;
    const done = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
    const sink = this.pack.entry(header, (error) => settle(error)) as unknown as Writable;
    // a context torn down mid-entry fails the entry too; the scan's own rejection is what is reported
    done.catch(() => undefined);
    sink.on('error', () => undefined);
    return { sink, done };
  }

  async finish(): Promise<void> {
    this.pack.finalize();
    await this.done;
  }

  /** Stops the context mid-way (the scan refused the upload): the sink sees the stream end early. */
  destroy(): void {
    (this.pack as unknown as { destroy(): void }).destroy();
  }
}
