/**
 * Streams a user's `.tar.gz` once: validates every entry, enforces size/count/ratio limits while
 * inflating, and keeps only the few small text files the deploy needs (Dockerfiles, rackless.yml,
 * .dockerignore). Nothing else is buffered; the first rejection destroys the source.
 *
 * With a `context` sink it also writes, as it goes, the **build context**: a new tar.gz holding
 * exactly the entries it accepted — regular files, directories, hard links to earlier files and
 * validated relative symlinks, under their normalised names, with no extension header of the
 * upload's — so the build extracts what was validated and nothing else (shared/tarball/context.ts).
 *
 * In front of tar-stream, the framing check (shared/tarball/framing.ts) reads every header where
 * tar-stream will and refuses any that GNU tar, which extracts the context's source in the build,
 * would frame differently. A deadline bounds the whole scan in time, by a timer as well as on each
 * chunk, and the inflated size bounds what it reads.
 */
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar, { type ExtractEvents, type Header } from 'tar-stream';
import { TarballRejected } from '../errors.js';
import { ContextWriter } from './context.js';
import { describeType, TarFraming } from './framing.js';
import {
  basename,
  dirname,
  MAX_LINK_HOPS,
  MAX_NAME_LENGTH,
  MAX_SEGMENT_LENGTH,
  nameProblem,
  normalisePath,
  resolveLexically,
  resolvePhysically,
  type NameProblem,
} from './paths.js';

export interface ScanLimits {
  /** Entries of any kind, directories and pax global headers included. */
  maxEntries: number;
  /** Total uncompressed size of file contents. */
  maxBytes: number;
  /** Inflated/compressed bytes, checked while streaming once `RATIO_FLOOR_BYTES` have been inflated. */
  maxRatio: number;
  /** Largest single captured text file. */
  maxCaptureBytes: number;
  /** All captured text files together: a monorepo's Dockerfiles must not fill a Lambda's memory. */
  maxCaptureTotalBytes: number;
}

export const DEFAULT_LIMITS: ScanLimits = Object.freeze({
  maxEntries: 10_000,
  maxBytes: 2 * 1024 ** 3,
  maxRatio: 100,
  maxCaptureBytes: 256 * 1024,
  maxCaptureTotalBytes: 1024 * 1024,
});

/** Below this much inflated output the ratio says nothing: a 10 KiB text tarball can inflate 200×. */
export const RATIO_FLOOR_BYTES = 1024 * 1024;

export interface TarballScan {
  /** Entries seen: files, directories, links, pax global headers. */
  entries: number;
  /** Uncompressed bytes of file contents (headers and padding excluded). */
  bytes: number;
  compressedBytes: number;
  /** 1 when everything sits under one top-level directory holding the Dockerfile or rackless.yml. */
  stripComponents: 0 | 1;
  /** Captured texts keyed by normalised path relative to the (stripped) root. */
  files: Record<string, string>;
  /** Every regular-file (and hard-link) path relative to the (stripped) root, in archive order. */
  paths: string[];
  /** Every entry the build context holds, relative to the (stripped) root, in archive order. */
  tree: TreeEntry[];
  /** Paths (relative to the stripped root) that are symlinks or hard links, with their targets. */
  links: Record<string, { type: 'symlink' | 'link'; target: string }>;
}

export interface TreeEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  size: number;
  /** symlink: its raw target; hard link: the archive path it names (relative to the stripped root) */
  target?: string;
  /** sha256 of a captured file's bytes (Dockerfiles, the manifest, .dockerignore) */
  sha256?: string;
}

export interface ScanOptions {
  /** the build context's first gzip level (default CONTEXT_GZIP_LEVEL; AdaptiveGzip stores what does not compress) */
  contextLevel?: number;
  /** where to write the build context (gzip of a canonical tar); none → validate only */
  context?: Writable;
  /**
   * epoch ms after which the scan gives up with TARBALL_SLOW (a Lambda's remaining time, less a
   * margin): checked as chunks arrive, and by a timer, so a source or a sink that stalls, or a parser
   * that waits for bytes that never come, is given up on too
   */
  deadline?: number;
  now?: () => number;
  /** arms the deadline's timer: calls `fire` after `ms` and returns what disarms it (default: setTimeout); tests pass their own */
  setTimer?: (fire: () => void, ms: number) => () => void;
}

/** setTimeout takes at most 2^31 - 1 ms, and fires at once past it */
const MAX_TIMER_MS = 2 ** 31 - 1;

function defaultTimer(fire: () => void, ms: number): () => void {
  const timer = setTimeout(fire, Math.min(ms, MAX_TIMER_MS));
  return () => clearTimeout(timer);
}

/**
 * Per-entry PAX records the build context can do without, or that mean what tar-stream reads them
 * to mean (POSIX pax: path, linkpath, size; times and owners are not carried over; vendors' xattrs
 * are dropped). Anything else — GNU.sparse.* first of all, which GNU tar would expand into a file
 * tar-stream never saw — is refused.
 */
const PAX_KEYS = new Set(['path', 'linkpath', 'size', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'uname', 'gname', 'comment', 'charset', 'hdrcharset']);
const PAX_PREFIXES = ['SCHILY.xattr.', 'LIBARCHIVE.xattr.', 'SCHILY.acl.', 'LIBARCHIVE.creationtime', 'SCHILY.dev', 'SCHILY.ino', 'SCHILY.nlink', 'SCHILY.fflags'];
/** Global PAX records: `git archive` writes a comment (the commit); a global path or size would rename or resize every later entry for GNU tar. */
const GLOBAL_PAX_KEYS = new Set(['comment']);

type EntryStream = ExtractEvents['entry'][1];

export type TarballSource = AsyncIterable<Uint8Array | string> | NodeJS.ReadableStream;

// Larger inflate chunks cut per-chunk overhead in the tar parser; see bench/tarball-scan.ts.
const INFLATE_CHUNK_BYTES = 128 * 1024;
// Worst honest per-entry overhead: header + pax header with a PATH_MAX name + padding.
const ENTRY_OVERHEAD_BYTES = 8 * 1024;
const MANIFEST_NAMES = new Set(['rackless.yml', 'rackless.yaml']);
const DOCKERFILE = /dockerfile/i;
const VENDORED = /(^|\/)(node_modules|vendor|\.git)\//;
const SPECIAL_TYPES = new Set(['character-device', 'block-device', 'fifo']);

export async function scanTarball(source: TarballSource, limits: Partial<ScanLimits> = {}, options: ScanOptions = {}): Promise<TarballScan> {
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
  const writer = options.context ? new ContextWriter(options.context, options.contextLevel) : undefined;
  // Compressed bytes the inflater has consumed; bytes read from the source run ahead of it.
  const scan = new Scan({ ...DEFAULT_LIMITS, ...limits }, () => gunzip.bytesWritten, writer, options);
  const extract = tar.extract();
  countGlobalHeaders(extract, (records) => scan.admitGlobalHeader(records));
  extract.on('entry', (header, stream, next) => {
    scan.onEntry(header, stream, next, (error) => extract.destroy(error));
  });
  let tarError: Error | undefined;
  extract.on('error', (error: Error) => {
    tarError ??= error;
    // Entries are parsed asynchronously to the feed loop: tearing down the inflater stops the source now.
    gunzip.destroy(error);
  });

  const work = (async () => {
    await pipeline(
      source as AsyncIterable<Uint8Array | string>,
      (chunks: AsyncIterable<Uint8Array | string>) => scan.meterCompressed(chunks),
      gunzip,
      (inflated: AsyncIterable<Buffer>) => scan.feedTar(inflated, extract),
    );
    const result = scan.result();
    await writer?.finish();
    return result;
  })();
  // once the deadline has fired nothing waits for the pipeline, which may never settle (a source stuck mid-read)
  work.catch(() => undefined);
  let disarm = (): void => undefined;
  const deadline = options.deadline;
  const timedOut =
    deadline === undefined
      ? undefined
      : new Promise<never>((_, reject) => {
          disarm = (options.setTimer ?? defaultTimer)(
            () => {
              const slow = scan.slow();
              reject(slow);
              // tear everything down: the source (a stalled S3 body), the inflater, the parser and its open
              // entry, the context. Node streams are destroyed without an error: the pipeline may be past
              // listening for one; the parser's error handler stays for good
              (source as { destroy?: () => void }).destroy?.();
              gunzip.destroy();
              extract.destroy(slow);
              writer?.destroy();
            },
            Math.max(0, deadline - (options.now ?? Date.now)()),
          );
        });
  try {
    return await (timedOut ? Promise.race([work, timedOut]) : work);
  } catch (error) {
    const explained = scan.explain(error, tarError);
    writer?.destroy();
    throw explained;
  } finally {
    disarm();
  }
}

/** tar-stream consumes pax global headers silently; the entry count and the record check must still see them. */
function countGlobalHeaders(extract: tar.Extract, onGlobal: (records: Record<string, string>) => void): void {
  const internals = extract as unknown as { _header?: { type?: string | null } | null; _decodeLongHeader?: (buf: Buffer) => void; _paxGlobal?: Record<string, string> | null };
  const decode = internals._decodeLongHeader;
  if (typeof decode !== 'function') throw new Error('tar-stream internals changed: _decodeLongHeader is gone');
  internals._decodeLongHeader = function (this: typeof internals, buf: Buffer) {
    const global = this._header?.type === 'pax-global-header';
    decode.call(this, buf);
    if (global) onGlobal(this._paxGlobal ?? {});
  };
}

interface CapturedFile {
  path: string;
  text: string;
}

/** What an accepted entry becomes: its header in the build context, and where its body is captured. */
interface Admitted {
  entry?: ContextEntry;
  capture?: string;
}

export type ContextEntry = { name: string; type: 'file' | 'directory' | 'symlink' | 'link'; size?: number; mode?: number; mtime?: Date; linkname?: string };

class Scan {
  private readonly limits: ScanLimits;
  private entries = 0;
  private bytes = 0;
  private compressedBytes = 0;
  private inflatedBytes = 0;
  private readonly seen = new Set<string>();
  private readonly filePaths: string[] = [];
  private readonly symlinks = new Map<string, string>();
  private readonly hardlinks = new Map<string, string>();
  private readonly captured: CapturedFile[] = [];
  private capturedBytes = 0;
  /** Top-level segment shared by every entry so far; null once a second one appears. */
  private top: string | undefined | null = undefined;
  /** A non-directory entry sits directly in the root (so there is nothing to strip). */
  private rootHasNonDirectory = false;
  private current: { name: string; size: number; read: number } | undefined;
  private failure: TarballRejected | undefined;
  /** every directory an entry implies (its path's prefixes) or names */
  private readonly directories = new Set<string>();
  private readonly tree: TreeEntry[] = [];
  private readonly hashes = new Map<string, string>();
  private readonly regularFiles = new Set<string>();

  constructor(
    limits: ScanLimits,
    private readonly inflaterInputBytes: () => number,
    private readonly writer: ContextWriter | undefined,
    private readonly options: ScanOptions,
  ) {
    this.limits = limits;
  }

  async *meterCompressed(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer> {
    let head = Buffer.alloc(0);
    for await (const raw of chunks) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      if (chunk.length === 0) continue;
      if (this.compressedBytes < 2) {
        head = Buffer.concat([head, chunk.subarray(0, 300)]);
        if (head.length >= 2) this.checkMagic(head);
      }
      this.compressedBytes += chunk.length;
      yield chunk;
    }
    if (this.compressedBytes === 0) {
      throw this.reject('TARBALL_EMPTY', 'the tarball is 0 bytes; expected a gzip-compressed tar archive (.tar.gz)');
    }
    if (head.length < 2) this.checkMagic(head);
  }

  private checkMagic(head: Buffer): void {
    if (head[0] === 0x1f && head[1] === 0x8b) return;
    let hint = `starts with bytes ${head.subarray(0, 4).toString('hex')}`;
    if (head[0] === 0x50 && head[1] === 0x4b) hint = 'looks like a zip archive';
    else if (head.subarray(257, 262).toString('latin1') === 'ustar') hint = 'looks like an uncompressed tar; gzip it';
    else if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) hint = 'looks like a bzip2 archive';
    else if (head[0] === 0xfd && head.subarray(1, 6).toString('latin1') === '7zXZ\u0000') hint = 'looks like an xz archive';
    throw this.reject('TARBALL_NOT_GZIP', `the tarball is not gzip (${hint}); expected a .tar.gz starting with 1f8b`, {
      magic: head.subarray(0, 4).toString('hex'),
    });
  }

  async feedTar(inflated: AsyncIterable<Buffer>, extract: tar.Extract): Promise<void> {
    // every chunk is framed strictly before tar-stream reads it (shared/tarball/framing.ts)
    const framing = new TarFraming((code, message, details) => this.reject(code, message, details));
    const ceiling = this.limits.maxBytes + this.limits.maxEntries * ENTRY_OVERHEAD_BYTES + RATIO_FLOOR_BYTES;
    for await (const chunk of inflated) {
      this.inflatedBytes += chunk.length;
      this.checkRatio();
      this.checkDeadline();
      if (this.inflatedBytes > ceiling) {
        throw this.reject('TARBALL_TOO_LARGE', `the archive inflates past ${ceiling} bytes at ${this.where()}; expected at most ${this.limits.maxBytes} bytes of files`, {
          entry: this.current?.name,
          inflatedBytes: this.inflatedBytes,
        });
      }
      framing.push(chunk);
      if (!extract.write(chunk)) await settle(extract, 'drain', () => this.failure);
      if (this.failure) throw this.failure;
    }
    if (this.inflatedBytes === 0) {
      throw this.reject('TARBALL_NOT_TAR', 'the gzip stream inflates to 0 bytes; expected a tar archive inside');
    }
    framing.end();
    extract.end(undefined);
    await settle(extract, 'finish', () => this.failure);
  }

  private checkDeadline(): void {
    if (this.options.deadline === undefined || (this.options.now ?? Date.now)() <= this.options.deadline) return;
    throw this.slow();
  }

  /** The deadline has passed (a chunk arrived after it, or its timer fired). */
  slow(): TarballRejected {
    return this.reject(
      'TARBALL_SLOW',
      `the scan ran out of time at ${this.where()} after ${this.inflatedBytes} inflated bytes; expected the archive to be read before Prepare's deadline (upload a smaller tarball)`,
      {
        entry: this.current?.name,
      },
    );
  }

  private checkRatio(): void {
    if (this.inflatedBytes < RATIO_FLOOR_BYTES) return;
    const consumed = Math.max(1, this.inflaterInputBytes());
    const ratio = this.inflatedBytes / consumed;
    if (ratio <= this.limits.maxRatio) return;
    throw this.reject(
      'TARBALL_RATIO',
      `${this.where()} inflates ${consumed} compressed bytes to ${this.inflatedBytes} (ratio ${Math.round(ratio)}); expected at most ${this.limits.maxRatio}× (gzip bomb?)`,
      { entry: this.current?.name, ratio, compressedBytes: consumed, inflatedBytes: this.inflatedBytes },
    );
  }

  admitGlobalHeader(records: Record<string, string>): void {
    this.countEntry('(pax global header)');
    const unsupported = Object.keys(records).filter((key) => !GLOBAL_PAX_KEYS.has(key));
    if (unsupported.length > 0) {
      throw this.reject(
        'TARBALL_PAX_UNSUPPORTED',
        `a pax global header sets ${unsupported.map(q).join(', ')}, which would rename, resize or reinterpret every later entry for the build's tar; expected at most a comment (as git archive writes)`,
        { records: unsupported },
      );
    }
  }

  onEntry(header: Header, stream: EntryStream, next: () => void, abort: (error: Error) => void): void {
    // Tearing down the parser destroys the open entry with the same error, which is reported once, by the parser.
    stream.on('error', () => undefined);
    let admitted: Admitted;
    try {
      admitted = this.admit(header);
    } catch (error) {
      abort(error as Error);
      return;
    }
    const current = { name: header.name, size: header.size ?? 0, read: 0 };
    this.current = current;
    const chunks: Buffer[] = [];
    const hash = admitted.capture !== undefined ? createHash('sha256') : undefined;
    const opened = this.writer && admitted.entry ? this.writer.entry(admitted.entry) : undefined;
    const sink = admitted.entry?.type === 'file' ? opened?.sink : undefined;
    stream.on('data', (data) => {
      const chunk = data as Buffer;
      current.read += chunk.length;
      if (admitted.capture !== undefined) {
        chunks.push(chunk);
        hash!.update(chunk);
      }
      // the context's backpressure reaches the parser, and through it the download
      if (sink && !sink.write(chunk)) {
        stream.pause();
        sink.once('drain', () => stream.resume());
      }
    });
    stream.on('end', () => {
      if (admitted.capture !== undefined) {
        this.captured.push({ path: admitted.capture, text: Buffer.concat(chunks).toString('utf8') });
        this.hashes.set(admitted.capture, hash!.digest('hex'));
      }
      if (!opened) {
        next();
        return;
      }
      sink?.end();
      opened.done.then(next, abort);
    });
    stream.resume();
  }

  /** Validates one entry header: what the build context gets of it, and the path to capture its body under. */
  private admit(header: Header): Admitted {
    const raw = header.name;
    // the framing check refuses the typeflags tar-stream does not know (it reports them as null)
    const reported: string = (header.type as string | null) ?? 'unknown';
    // a regular file named with a trailing slash is a directory to GNU tar (an old tar's convention;
    // tar-stream applies it after computing the type, so never); the framing check refused a body on one
    const type = (reported === 'file' || reported === 'contiguous-file') && raw.endsWith('/') ? 'directory' : reported;
    this.countEntry(raw);
    this.checkPax(raw, header.pax as Record<string, string> | null | undefined);

    const problem = nameProblem(raw);
    if (problem) throw this.nameRejection(raw, problem);
    const path = normalisePath(raw);
    const size = header.size ?? 0;
    // only a regular file has a body: GNU tar reads the bytes after a directory or link header as
    // further members, tar-stream skips (or hangs on) them. The framing check refuses these first;
    // this stays for whatever reaches the scan without it
    if (size > 0 && type !== 'file' && type !== 'contiguous-file') {
      throw this.reject('TARBALL_UNEXPECTED_BODY', `entry ${q(raw)} is ${describeType(type)} with ${size} bytes of body; expected a body on regular files only`, {
        entry: raw,
        type,
        size,
      });
    }
    if (path === '') {
      // a regular file named "./" is still refused: only a directory header may name the root
      if (reported === 'directory') return {};
      throw this.reject('TARBALL_BAD_NAME', `entry ${q(raw)} names the archive root but is ${describeType(type)}; expected a file name`, { entry: raw });
    }
    if (this.seen.has(path)) {
      throw this.reject('TARBALL_DUPLICATE_ENTRY', `entry ${q(raw)} repeats the path ${q(path)}; expected each path once`, { entry: raw, path });
    }
    this.checkNotThroughLink(raw, path, type);
    this.seen.add(path);
    this.noteTopLevel(path, type);
    const parents = path.split('/').slice(0, -1);
    for (let i = 1; i <= parents.length; i++) this.directories.add(parents.slice(0, i).join('/'));
    const mode = (header.mode ?? 0o644) & 0o777;
    const mtime = header.mtime;

    switch (type) {
      case 'directory':
        this.directories.add(path);
        this.tree.push({ path, type: 'directory', size: 0 });
        return { entry: { name: path, type: 'directory', mode: mode || 0o755, ...(mtime ? { mtime } : {}) } };
      case 'symlink': {
        const target = header.linkname ?? '';
        this.admitSymlink(raw, path, target);
        this.tree.push({ path, type: 'symlink', size: 0, target });
        return { entry: { name: path, type: 'symlink', linkname: target, ...(mtime ? { mtime } : {}) } };
      }
      case 'link': {
        const target = this.admitHardlink(raw, path, header.linkname ?? '');
        this.filePaths.push(path);
        this.tree.push({ path, type: 'link', size: 0, target });
        return { entry: { name: path, type: 'link', linkname: target, ...(mtime ? { mtime } : {}) } };
      }
      case 'file':
      case 'contiguous-file': {
        const capture = this.admitFile(raw, path, size);
        this.tree.push({ path, type: 'file', size });
        return { ...(capture !== undefined ? { capture } : {}), entry: { name: path, type: 'file', size, mode, ...(mtime ? { mtime } : {}) } };
      }
      default:
        if (SPECIAL_TYPES.has(type)) {
          throw this.reject('TARBALL_SPECIAL_FILE', `entry ${q(raw)} is ${describeType(type)}; expected regular files, directories and links only`, { entry: raw, type });
        }
        throw this.reject('TARBALL_SPECIAL_FILE', `entry ${q(raw)} has a type the scan's parser does not know; expected regular files, directories and links only`, {
          entry: raw,
          type,
        });
    }
  }

  private checkPax(raw: string, pax: Record<string, string> | null | undefined): void {
    for (const key of Object.keys(pax ?? {})) {
      if (PAX_KEYS.has(key) || PAX_PREFIXES.some((prefix) => key.startsWith(prefix))) continue;
      if (key.startsWith('GNU.sparse.')) {
        throw this.reject('TARBALL_SPARSE', `entry ${q(raw)} is a GNU sparse file (pax ${q(key)}); expected regular files stored whole`, { entry: raw, record: key });
      }
      throw this.reject(
        'TARBALL_PAX_UNSUPPORTED',
        `entry ${q(raw)} has the pax record ${q(key)}, which the build's tar could read differently; expected only path, linkpath, size, times and owners`,
        {
          entry: raw,
          record: key,
        },
      );
    }
  }

  /**
   * An entry whose directory is an earlier symlink would be written *through* it by the build's tar
   * (`d -> .` then `d/Dockerfile` replaces the validated Dockerfile), and a symlink over a directory
   * earlier entries live in would redirect them: both are refused.
   */
  private checkNotThroughLink(raw: string, path: string, type: string): void {
    const segments = path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const prefix = segments.slice(0, i).join('/');
      if (this.symlinks.has(prefix)) {
        throw this.reject('TARBALL_THROUGH_LINK', `entry ${q(raw)} lies under ${q(prefix)}, an earlier symlink; expected entries under real directories only`, {
          entry: raw,
          link: prefix,
        });
      }
      if (this.hardlinks.has(prefix) || this.isFile(prefix)) {
        throw this.reject('TARBALL_THROUGH_LINK', `entry ${q(raw)} lies under ${q(prefix)}, which is a file; expected entries under directories only`, {
          entry: raw,
          file: prefix,
        });
      }
    }
    if (type !== 'directory' && this.directories.has(path)) {
      throw this.reject('TARBALL_THROUGH_LINK', `${type} ${q(raw)} replaces a directory earlier entries are in; expected a path of its own`, { entry: raw });
    }
  }

  private isFile(path: string): boolean {
    return this.seen.has(path) && !this.directories.has(path) && !this.symlinks.has(path);
  }

  private countEntry(name: string): void {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) {
      throw this.reject('TARBALL_TOO_MANY_ENTRIES', `entry ${q(name)} is number ${this.entries}; expected at most ${this.limits.maxEntries} entries`, {
        entry: name,
        maxEntries: this.limits.maxEntries,
      });
    }
  }

  private admitFile(raw: string, path: string, size: number): string | undefined {
    this.bytes += size;
    if (this.bytes > this.limits.maxBytes) {
      throw this.reject('TARBALL_TOO_LARGE', `entry ${q(raw)} (${size} bytes) brings the archive to ${this.bytes} bytes; expected at most ${this.limits.maxBytes}`, {
        entry: raw,
        bytes: this.bytes,
        maxBytes: this.limits.maxBytes,
      });
    }
    this.filePaths.push(path);
    this.regularFiles.add(path);
    if (!this.isCaptureCandidate(path)) return undefined;
    if (size > this.limits.maxCaptureBytes) {
      throw this.reject('TARBALL_CAPTURE_TOO_LARGE', `entry ${q(raw)} is ${size} bytes; expected a Dockerfile or manifest of at most ${this.limits.maxCaptureBytes} bytes`, {
        entry: raw,
        size,
        maxCaptureBytes: this.limits.maxCaptureBytes,
      });
    }
    this.capturedBytes += size;
    if (this.capturedBytes > this.limits.maxCaptureTotalBytes) {
      throw this.reject(
        'TARBALL_CAPTURE_TOO_LARGE',
        `entry ${q(raw)} brings the Dockerfiles and manifests to ${this.capturedBytes} bytes; expected at most ${this.limits.maxCaptureTotalBytes} in total`,
        {
          entry: raw,
          capturedBytes: this.capturedBytes,
          maxCaptureTotalBytes: this.limits.maxCaptureTotalBytes,
        },
      );
    }
    return path;
  }

  /** Dockerfiles anywhere; manifest and .dockerignore in the root or in a lone top-level directory. */
  private isCaptureCandidate(path: string): boolean {
    const name = basename(path);
    // vendored code (highlight.js ships dockerfile.js) is never a build's Dockerfile
    if (DOCKERFILE.test(name)) return !VENDORED.test(path);
    if (!MANIFEST_NAMES.has(name) && name !== '.dockerignore') return false;
    const depth = path.split('/').length - 1;
    return depth === 0 || (depth === 1 && this.top !== null);
  }

  private admitSymlink(raw: string, path: string, target: string): void {
    this.checkLinkTarget(raw, target, 'symlink');
    if (resolveLexically(dirname(path), target) === undefined) {
      throw this.linkEscape(raw, target, `resolves outside the archive root from ${q(dirname(path) || '.')}`);
    }
    this.symlinks.set(path, target);
  }

  /** The normalised archive path a hard link names: it must be an earlier regular file (GNU tar links to what it has extracted). */
  private admitHardlink(raw: string, path: string, target: string): string {
    this.checkLinkTarget(raw, target, 'hard link');
    // Hard-link targets are archive paths, read from the root, not from the link's directory.
    if (resolveLexically('', target) === undefined) {
      throw this.linkEscape(raw, target, 'resolves outside the archive root');
    }
    // through the symlinks so far, as link(2) resolves it on the build's disk
    const physical = resolvePhysically('', target, this.symlinks);
    if (!physical.inside) throw this.linkEscape(raw, target, 'resolves outside the archive root through symlinks');
    const resolved = physical.path;
    if (!this.regularFiles.has(resolved)) {
      throw this.reject('TARBALL_HARDLINK_TARGET', `hard link ${q(raw)} -> ${q(target)} does not name an earlier regular file; expected a file that comes before the link`, {
        entry: raw,
        linkname: target,
      });
    }
    this.hardlinks.set(path, resolved);
    return resolved;
  }

  private checkLinkTarget(raw: string, target: string, kind: string): void {
    if (target === '') {
      throw this.reject('TARBALL_BAD_NAME', `${kind} ${q(raw)} has an empty target; expected a path inside the archive`, { entry: raw });
    }
    const problem = nameProblem(target);
    if (problem?.kind === 'absolute') throw this.linkEscape(raw, target, 'is absolute');
    if (problem && problem.kind !== 'parent') {
      throw this.reject('TARBALL_BAD_NAME', `${kind} ${q(raw)} has a target ${q(target)} that ${describe(problem)}; expected a plain relative path`, {
        entry: raw,
        linkname: target,
      });
    }
  }

  private linkEscape(raw: string, target: string, why: string): TarballRejected {
    return this.reject('TARBALL_LINK_ESCAPE', `link ${q(raw)} -> ${q(target)} ${why}; expected a target inside the archive`, { entry: raw, linkname: target });
  }

  private noteTopLevel(path: string, type: string): void {
    const slash = path.indexOf('/');
    const first = slash === -1 ? path : path.slice(0, slash);
    if (slash === -1 && type !== 'directory') this.rootHasNonDirectory = true;
    if (this.top === undefined) this.top = first;
    else if (this.top !== first) this.top = null;
  }

  /**
   * Once every link is known, in the layout the build extracts (the top directory stripped when it
   * is): each symlink resolves inside the root as the kernel would resolve it. A link that stays in
   * the archive but leaves it once its top directory is stripped is caught here.
   */
  private checkLinksPhysically(relative: (path: string) => string): void {
    const symlinks = new Map([...this.symlinks].map(([path, target]) => [relative(path), target]));
    for (const [path, target] of symlinks) {
      const resolution = resolvePhysically(dirname(path), target, symlinks);
      if (!resolution.inside) {
        const why =
          resolution.reason === 'loops'
            ? `does not resolve within ${MAX_LINK_HOPS} symlink hops`
            : 'resolves outside the build context through other symlinks or its top directory';
        throw this.linkEscape(path, target, why);
      }
    }
  }

  result(): TarballScan {
    const top = this.top;
    const strip =
      typeof top === 'string' && !this.rootHasNonDirectory && this.filePaths.some((p) => p === `${top}/Dockerfile` || p === `${top}/rackless.yml` || p === `${top}/rackless.yaml`);
    const relative = (path: string): string => (strip ? path.slice(path.indexOf('/') + 1) : path);
    this.checkLinksPhysically(relative);
    const files: Record<string, string> = {};
    for (const { path, text } of this.captured) {
      const rel = relative(path);
      const rootOnly = MANIFEST_NAMES.has(basename(rel)) || basename(rel) === '.dockerignore';
      if (!rootOnly || !rel.includes('/')) files[rel] = text;
    }
    const links: TarballScan['links'] = {};
    for (const [path, target] of this.symlinks) links[relative(path)] = { type: 'symlink', target };
    for (const [path, target] of this.hardlinks) links[relative(path)] = { type: 'link', target: relative(target) };
    const tree = this.tree
      .filter((entry) => !(strip && entry.path === top))
      .map((entry) => {
        const sha256 = this.hashes.get(entry.path);
        return { ...entry, path: relative(entry.path), ...(entry.type === 'link' ? { target: relative(entry.target!) } : {}), ...(sha256 ? { sha256 } : {}) };
      });
    return {
      entries: this.entries,
      bytes: this.bytes,
      compressedBytes: this.compressedBytes,
      stripComponents: strip ? 1 : 0,
      files,
      paths: this.filePaths.map(relative),
      tree,
      links,
    };
  }

  private nameRejection(raw: string, problem: NameProblem): TarballRejected {
    const details = { entry: raw };
    switch (problem.kind) {
      case 'absolute':
        return this.reject('TARBALL_ABSOLUTE_PATH', `entry ${q(raw)} is an absolute path; expected a path relative to the archive root`, details);
      case 'parent':
        return this.reject('TARBALL_PARENT_PATH', `entry ${q(raw)} has a ".." segment; expected a path that stays inside the archive root`, details);
      default:
        return this.reject('TARBALL_BAD_NAME', `entry ${q(raw)} ${describe(problem)}; expected a plain relative path`, details);
    }
  }

  private where(): string {
    return this.current ? `entry ${q(this.current.name)}` : 'the archive before its first entry';
  }

  /** Records the first rejection so a later teardown error cannot replace it. */
  reject(code: string, message: string, details: Record<string, unknown> = {}): TarballRejected {
    this.failure ??= new TarballRejected(code, message, details);
    return this.failure;
  }

  /** Maps whatever the pipeline failed with to the rejection a user can act on. */
  explain(error: unknown, tarError: Error | undefined): unknown {
    if (this.failure) return this.failure;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      const message = (error as Error).message;
      if (code === 'Z_BUF_ERROR') {
        return this.reject(
          'TARBALL_TRUNCATED',
          `the gzip stream ends early (${message}) after ${this.compressedBytes} bytes, inside ${this.where()}; expected a complete .tar.gz (was the upload cut short?)`,
          {
            entry: this.current?.name,
            compressedBytes: this.compressedBytes,
          },
        );
      }
      return this.reject('TARBALL_NOT_GZIP', `the gzip data is corrupt (${message}) near ${this.where()}; expected a valid .tar.gz`, {
        entry: this.current?.name,
        zlibCode: code,
      });
    }
    if (tarError) return this.explainTar(tarError);
    return error;
  }

  private explainTar(error: Error): TarballRejected {
    const inflated = this.inflatedBytes;
    if (error.message === 'Unexpected end of data') {
      if (this.entries === 0 && inflated < 512) {
        return this.reject('TARBALL_NOT_TAR', `the gzip stream holds ${inflated} bytes, too short for a tar header; expected a tar archive inside`, { inflatedBytes: inflated });
      }
      const current = this.current;
      const progress = current && current.read < current.size ? ` (${current.read} of ${current.size} bytes)` : '';
      return this.reject('TARBALL_TRUNCATED', `the tar archive ends early inside ${this.where()}${progress}; expected the rest of the entry and the end-of-archive blocks`, {
        entry: current?.name,
        inflatedBytes: inflated,
      });
    }
    const after = this.current ? `after entry ${q(this.current.name)}` : 'at the start';
    return this.reject('TARBALL_NOT_TAR', `the gzip stream does not hold a valid tar header ${after} (${error.message}); expected a tar archive`, {
      entry: this.current?.name,
      inflatedBytes: inflated,
    });
  }
}

/** Waits for `event` on a tar-stream (streamx) writable, failing if it errors or closes first. */
function settle(stream: tar.Extract, event: 'drain' | 'finish', failure: () => Error | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroying || stream.destroyed) {
      reject(failure() ?? new Error('tar parser closed early'));
      return;
    }
    const done = (error?: Error): void => {
      stream.off(event, onEvent);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onEvent = (): void => done();
    const onError = (error: Error): void => done(failure() ?? error);
    const onClose = (): void => done(failure() ?? new Error('tar parser closed early'));
    stream.on(event, onEvent);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

function describe(problem: NameProblem): string {
  switch (problem.kind) {
    case 'empty':
      return 'is empty';
    case 'control':
      return `contains the control character U+${problem.char.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`;
    case 'too-long':
      return `is too long (${problem.length} bytes in UTF-8; names up to ${MAX_NAME_LENGTH}, segments up to ${MAX_SEGMENT_LENGTH})`;
    case 'absolute':
      return 'is absolute';
    case 'parent':
      return 'has a ".." segment';
  }
}

/** Quotes a name with control characters escaped, so the message shows exactly what is wrong. */
function q(name: string): string {
  return JSON.stringify(name);
}
