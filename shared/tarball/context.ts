import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import type { ContextEntry } from './scan.js';

/**
 * The build context as the scan accepts it: a fresh ustar archive (tar-stream's packer; a name over
 * 100 bytes gets a pax `path` record, the one extension GNU tar and tar-stream read alike), gzip level
 * 1 (bench/tarball-scan.ts: level 1 keeps the whole of Prepare above gzip -dc | tar -t; the context
 * lives one day and travels inside the region). Entries go in as the scan admits them and their
 * bodies as they stream, so memory stays flat; the sink's backpressure reaches the parser.
 */
export const CONTEXT_GZIP_LEVEL = 1;

export class ContextWriter {
  private readonly pack = tar.pack();
  private readonly done: Promise<void>;

  constructor(sink: Writable, level = CONTEXT_GZIP_LEVEL) {
    this.done = pipeline(this.pack as unknown as NodeJS.ReadableStream, createGzip({ level, chunkSize: 128 * 1024, strategy: constants.Z_DEFAULT_STRATEGY }), sink);
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
