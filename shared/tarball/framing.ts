/**
 * The tar framing, read strictly, in front of tar-stream. Prepare validates what tar-stream parses and
 * the build extracts with GNU tar: wherever the two would frame the archive differently — find a
 * header where the other finds file data — the build could extract an entry Prepare never saw. So
 * every inflated chunk passes through `TarFraming.push` before tar-stream gets it: it walks the
 * 512-byte header blocks exactly where tar-stream will (a header, then its body rounded up to 512;
 * pax and GNU long-name bodies are read, and sized, alike), and refuses, before tar-stream sees it,
 * any header the two read differently:
 *
 * - a size or checksum field that is not octal digits ended by NUL or space (tar-stream's parseInt
 *   reads `000000020009` as 1024 and base-256 with a first byte 0x81–0xfe as null, which hung the
 *   scan; GNU tar refuses the field and reads the body as the next header), a negative one, or a
 *   block blank but for its checksum field (tar-stream skips it, GNU tar reads a header);
 * - a typeflag outside the set Prepare reads (`0`, NUL, `7`, `1`, `2`, `5`, `x`, `g`, `L`, `K`, and
 *   `3`, `4`, `6`, which the scan refuses by name): `N` is a long name to tar-stream and a file to
 *   GNU tar, `S` an old GNU sparse file, `D` `V` `M` … GNU extensions with bodies of their own;
 * - a body on an entry that has none (GNU tar reads it as further members; tar-stream reads it as
 *   the entry's data, or, after a directory, never at all), a regular file named `dir/` included,
 *   which GNU tar makes a directory;
 * - a pax header whose records are not `LENGTH key=value\n` end to end, or whose `size`, times or
 *   ids are not plain decimal numbers (tar-stream's parseInt reads `1024junk` as 1024, GNU tar
 *   ignores the record), an empty pax path or link, an empty pax header or GNU long name, a GNU long
 *   name whose NUL lies past its size (tar-stream stops at the size, GNU tar reads on into its
 *   padding: a size of 4 made "Dockerfile" "Dock"), and an extension header no entry follows.
 *
 * The names, types and sizes it reports are tar-stream's (test/shared/tarball/oracle.test.ts checks it
 * against tar-stream, and against GNU tar's listing, on generated and mutated archives). Memory stays
 * bounded: one header block, and an extension body (at most `MAX_EXTENSION_BYTES`, a GNU long name at
 * most a name's length) while it is collected; the chunks themselves pass through unchanged.
 */
import { MAX_NAME_LENGTH } from './paths.js';

export const BLOCK = 512;
/** tar-stream's own bound on a pax or long-name body (extract.js MAX_HEADER_SIZE): the most read of one */
export const MAX_EXTENSION_BYTES = 4 * 1024 * 1024;
/** a GNU long name or link is the name and its NUL */
const MAX_LONG_NAME_BYTES = MAX_NAME_LENGTH + 1;

/** An entry header as tar-stream will report it: its name, type and size after pax and GNU long names. */
export interface FramedEntry {
  name: string;
  /** tar-stream's type name ('file', 'directory', 'symlink', …) */
  type: string;
  size: number;
  /** where its header block starts in the tar */
  offset: number;
}

export type Reject = (code: string, message: string, details?: Record<string, unknown>) => Error;

/** Typeflags of entries, as tar-stream names them. */
const ENTRY_TYPES: Record<number, string> = {
  0: 'file',
  48: 'file',
  49: 'link',
  50: 'symlink',
  51: 'character-device',
  52: 'block-device',
  53: 'directory',
  54: 'fifo',
  55: 'contiguous-file',
};
const PAX = 0x78; // 'x'
const PAX_GLOBAL = 0x67; // 'g'
const LONG_NAME = 0x4c; // 'L'
const LONG_LINK = 0x4b; // 'K'
const OLD_SPARSE = 0x53; // 'S'
/** what the typeflags GNU tar knows and Prepare does not are */
const FOREIGN_TYPES: Record<string, string> = {
  A: 'a Solaris access control list',
  D: 'a GNU dumpdir',
  E: 'a Solaris extended attribute',
  I: 'a star inode',
  M: 'a GNU multi-volume continuation',
  N: 'old GNU long names',
  V: 'a GNU volume label',
  X: 'a Solaris extended header',
};

/** pax records whose values are numbers to GNU tar (it ignores a malformed one, tar-stream's parseInt reads its digits) */
const DECIMAL = /^[0-9]+$/;
const TIME = /^-?[0-9]+(\.[0-9]+)?$/;
const NUMERIC_RECORDS: Record<string, RegExp> = { size: DECIMAL, uid: DECIMAL, gid: DECIMAL, mtime: TIME, atime: TIME, ctime: TIME };

interface Extension {
  kind: number;
  size: number;
  /** bytes read before it is decoded: its size, or for a GNU long name its whole blocks (GNU tar reads the name up to a NUL in them) */
  want: number;
  parts: Buffer[];
  collected: number;
}

/** What the extension headers since the last entry say about the next one. */
interface Pending {
  /** 'pax header', 'GNU long name', … in the order seen */
  kinds: string[];
  path?: string;
  size?: number;
  longName?: string;
  /** the first problem found, reported once the entry it belongs to is named ('entry "x"') */
  problem?: (subject: string, entry: string | undefined) => Error;
}

export class TarFraming {
  /** bytes of the tar read so far */
  private offset = 0;
  /** body and padding bytes still to pass over */
  private skip = 0;
  private readonly block = Buffer.alloc(BLOCK);
  /** bytes of a header block collected across chunks */
  private filled = 0;
  private extension: Extension | undefined;
  private pending: Pending = { kinds: [] };
  /** the pax global records so far: tar-stream merges them into every later pax header */
  private global: Record<string, string> | undefined;
  /** the last entry's name, for "after entry …" */
  private previous: string | undefined;
  /** where the header block being read starts: a rejection's `offset` (what precedes it, tar-stream reads as this does) */
  private headerStart = 0;

  constructor(
    private readonly reject: Reject,
    private readonly onEntry?: (entry: FramedEntry) => void,
  ) {}

  /** Reads one chunk of the tar; throws the rejection of the first header tar-stream and GNU tar would read differently. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        this.offset += n;
        at += n;
        continue;
      }
      const extension = this.extension;
      if (extension) {
        const n = Math.min(extension.want - extension.collected, chunk.length - at);
        extension.parts.push(chunk.subarray(at, at + n));
        extension.collected += n;
        this.offset += n;
        at += n;
        if (extension.collected === extension.want) {
          this.extension = undefined;
          // the parts are views of chunks the caller may reuse: the body is copied out here, once
          const blocks = Buffer.concat(extension.parts);
          this.decodeExtension(extension.kind, blocks.subarray(0, extension.size), blocks);
          this.skip = extension.size + padding(extension.size) - extension.want;
        }
        continue;
      }
      if (this.filled === 0 && chunk.length - at >= BLOCK) {
        this.offset += BLOCK;
        this.header(chunk.subarray(at, at + BLOCK));
        at += BLOCK;
        continue;
      }
      const n = Math.min(BLOCK - this.filled, chunk.length - at);
      chunk.copy(this.block, this.filled, at, at + n);
      this.filled += n;
      this.offset += n;
      at += n;
      if (this.filled === BLOCK) {
        this.filled = 0;
        this.header(this.block);
      }
    }
  }

  /**
   * The end of the tar. Cut inside a header or a body, it is tar-stream's to call truncated; cut
   * after a pax header or long name, that header describes no entry.
   */
  end(): void {
    if (this.skip > 0 || this.filled > 0 || this.extension) return;
    this.headerStart = this.offset;
    this.checkNothingPending('at the end of the archive');
  }

  /** true once the tar read so far ends on a header boundary */
  get complete(): boolean {
    return this.skip === 0 && this.filled === 0 && this.extension === undefined && this.pending.kinds.length === 0;
  }

  private header(block: Buffer): void {
    const start = this.offset - BLOCK;
    this.headerStart = start;
    if (blankButChecksum(block)) {
      // tar-stream reads such a block as no header at all (cksum 256) and reads on; GNU tar stops at
      // zero blocks, and a checksum field on one makes it a header
      if (!isZero(block, 148, 156)) this.notTar('a block blank but for its checksum field');
      this.checkNothingPending('before a zero block');
      return;
    }
    const checksum = octalField(block, 148, 8);
    const sum = unsignedSum(block);
    if (checksum === undefined || checksum !== sum) {
      this.failPending();
      this.notTar(
        checksum === undefined ? `its checksum field ${show(block.subarray(148, 156))} is not octal` : `bad checksum: the header sums to ${sum}, its field says ${checksum}`,
      );
    }
    const ustar = magicIs(block, 'ustar\u0000');
    if (!ustar && !(magicIs(block, 'ustar ') && block[263] === 0x20 && block[264] === 0)) {
      this.failPending();
      this.notTar('no ustar or GNU magic');
    }
    const flag = block[156]!;
    const size = sizeField(block);
    if (flag === PAX || flag === PAX_GLOBAL || flag === LONG_NAME || flag === LONG_LINK) {
      this.extensionHeader(flag, size);
      return;
    }
    this.entryHeader(block, flag, ustar, size, start);
  }

  private extensionHeader(flag: number, size: SizeField): void {
    const what = describeExtension(flag);
    if ('problem' in size) this.notTar(`the ${what} has a size field ${size.shown} that ${size.problem}`);
    const long = flag === LONG_NAME || flag === LONG_LINK;
    if (size.value === 0) {
      // tar-stream leaves an empty one "in progress" and reads the next entry's padding as its body
      if (long) throw this.fail('TARBALL_BAD_NAME', `the ${what} ${this.after()} is empty; expected a plain relative path`, { entry: this.previous });
      throw this.fail('TARBALL_PAX_UNSUPPORTED', `the ${what} ${this.after()} is empty; expected pax records (paths, times, owners)`, { entry: this.previous });
    }
    if (long && size.value > MAX_LONG_NAME_BYTES) {
      throw this.fail('TARBALL_BAD_NAME', `the ${what} ${this.after()} is too long (${size.value} bytes; names up to ${MAX_NAME_LENGTH}); expected a plain relative path`, {
        entry: this.previous,
        size: size.value,
      });
    }
    if (size.value > MAX_EXTENSION_BYTES) {
      throw this.fail('TARBALL_PAX_UNSUPPORTED', `the ${what} ${this.after()} holds ${size.value} bytes; expected at most ${MAX_EXTENSION_BYTES} of pax records`, {
        entry: this.previous,
        size: size.value,
      });
    }
    const want = long ? size.value + padding(size.value) : size.value;
    this.extension = { kind: flag, size: size.value, want, parts: [], collected: 0 };
  }

  private decodeExtension(kind: number, body: Buffer, blocks: Buffer): void {
    switch (kind) {
      case LONG_NAME:
      case LONG_LINK: {
        const name = cString(body, 0, body.length);
        this.pending.kinds.push(describeExtension(kind));
        // tar-stream reads the name up to a NUL within its size, GNU tar up to a NUL within its blocks
        const gnuName = cString(blocks, 0, blocks.length);
        if (gnuName !== name) {
          this.note((subject, entry) =>
            this.fail(
              'TARBALL_BAD_NAME',
              `${subject} has a ${describeExtension(kind)} that runs past its size (${q(name)}, or ${q(gnuName)} read to its NUL); expected a name ended by NUL`,
              {
                entry,
              },
            ),
          );
        }
        // tar-stream keeps the header's own name when a long one is empty, GNU tar takes the empty one
        if (name === '')
          this.note((subject, entry) => this.fail('TARBALL_BAD_NAME', `${subject} has an empty ${describeExtension(kind)}; expected a plain relative path`, { entry }));
        if (kind === LONG_NAME) this.pending.longName = name;
        return;
      }
      case PAX_GLOBAL: {
        const records = paxRecords(body);
        if (typeof records === 'string') {
          throw this.fail('TARBALL_PAX_UNSUPPORTED', `the pax global header ${this.after()} is malformed (${records}); expected records "LENGTH key=value\\n"`, {
            entry: this.previous,
          });
        }
        // which global records are allowed is the scan's to say; merged into later pax headers as tar-stream merges them
        this.global = records;
        return;
      }
      default: {
        this.pending.kinds.push('pax header');
        const own = paxRecords(body);
        if (typeof own === 'string') {
          this.note((subject, entry) => this.fail('TARBALL_PAX_UNSUPPORTED', `${subject} has a malformed pax header (${own}); expected records "LENGTH key=value\\n"`, { entry }));
          this.pending.path = undefined;
          this.pending.size = undefined;
          return;
        }
        // a second pax header replaces the first, in tar-stream as in GNU tar
        const records = this.global ? { ...this.global, ...own } : own;
        for (const [key, pattern] of Object.entries(NUMERIC_RECORDS)) {
          const value = records[key];
          if (value !== undefined && !pattern.test(value)) {
            const why =
              key === 'size' ? "the build's tar ignores it and keeps the header's size, where the scan's parser reads the digits it starts with" : "the build's tar ignores it";
            this.note((subject, entry) =>
              this.fail('TARBALL_PAX_UNSUPPORTED', `${subject} has the pax record ${key}=${q(value)}, which is not a plain decimal number (${why}); expected a number`, {
                entry,
                record: key,
              }),
            );
          }
        }
        for (const key of ['path', 'linkpath']) {
          if (records[key] === '') {
            this.note((subject, entry) =>
              this.fail('TARBALL_PAX_UNSUPPORTED', `${subject} has an empty pax ${key} record (an empty name to the build's tar, none to the scan's parser); expected a name`, {
                entry,
                record: key,
              }),
            );
          }
        }
        const size = records.size !== undefined && DECIMAL.test(records.size) ? Number(records.size) : undefined;
        if (size !== undefined && !Number.isSafeInteger(size)) {
          this.note((subject, entry) =>
            this.fail('TARBALL_PAX_UNSUPPORTED', `${subject} has the pax record size=${q(records.size!)}, out of range; expected a size in bytes`, { entry, record: 'size' }),
          );
        }
        this.pending.path = records.path || undefined;
        this.pending.size = size;
      }
    }
  }

  private entryHeader(block: Buffer, flag: number, ustar: boolean, size: SizeField, start: number): void {
    let name = cString(block, 0, 100);
    if (ustar && block[345] !== 0) name = `${cString(block, 345, 155)}/${name}`;
    // tar-stream: a GNU long name replaces the header's, a pax path both (an empty one neither: refused above)
    name = this.pending.path || this.pending.longName || name;
    this.failPending(name);
    const type = ENTRY_TYPES[flag];
    if (flag === OLD_SPARSE) {
      throw this.fail(
        'TARBALL_SPARSE',
        `entry ${q(name)} is an old GNU sparse file (typeflag 'S'), which the build's tar expands to another size; expected regular files stored whole`,
        {
          entry: name,
          typeflag: 'S',
        },
      );
    }
    if (type === undefined) {
      const shown = typeflag(flag);
      const what = FOREIGN_TYPES[String.fromCharCode(flag)];
      throw this.fail(
        'TARBALL_SPECIAL_FILE',
        `entry ${q(name)} has typeflag ${shown}${what ? ` (${what})` : ''}, which the build's tar reads differently; expected regular files, directories and links only`,
        { entry: name, typeflag: shown },
      );
    }
    if ('problem' in size) {
      throw this.fail('TARBALL_NOT_TAR', `entry ${q(name)} has a size field ${size.shown} that ${size.problem}; expected a valid tar header`, { entry: name });
    }
    const bytes = this.pending.size ?? size.value;
    const file = type === 'file' || type === 'contiguous-file';
    if (bytes > 0 && (!file || name.endsWith('/'))) {
      // GNU tar reads what follows a directory, link, device or fifo header as the next member, and a
      // regular file named with a trailing slash is a directory to it
      const what = file ? 'a directory (a file whose name ends in "/", which the build\'s tar extracts as a directory)' : describeType(type);
      throw this.fail('TARBALL_UNEXPECTED_BODY', `entry ${q(name)} is ${what} with ${bytes} bytes of body; expected a body on regular files only`, {
        entry: name,
        type,
        size: bytes,
      });
    }
    this.pending = { kinds: [] };
    this.previous = name;
    this.onEntry?.({ name, type, size: bytes, offset: start });
    // tar-stream frames no body after a directory (and none is left to frame: see above)
    if (type !== 'directory') this.skip = bytes + padding(bytes);
  }

  private fail(code: string, message: string, details: Record<string, unknown>): Error {
    return this.reject(code, message, { ...details, offset: this.headerStart });
  }

  private note(problem: NonNullable<Pending['problem']>): void {
    this.pending.problem ??= problem;
  }

  /** Reports a problem of the extension headers before this entry, now that it can be named. */
  private failPending(name?: string): void {
    const problem = this.pending.problem;
    if (problem) throw problem(name === undefined ? `the entry ${this.after()}` : `entry ${q(name)}`, name);
  }

  private checkNothingPending(where: string): void {
    this.failPending();
    const kinds = this.pending.kinds;
    if (kinds.length === 0) return;
    throw this.fail(
      'TARBALL_NOT_TAR',
      `the gzip stream does not hold a valid tar header ${this.after()} (a ${kinds.join(' and a ')} ${where}, with no entry it describes); expected a tar archive`,
      {
        entry: this.previous,
      },
    );
  }

  private notTar(why: string): never {
    throw this.fail('TARBALL_NOT_TAR', `the gzip stream does not hold a valid tar header ${this.after()} (${why}); expected a tar archive`, { entry: this.previous });
  }

  private after(): string {
    return this.previous === undefined ? 'at the start' : `after entry ${q(this.previous)}`;
  }
}

/** "a directory", "a hard link", …: a tar-stream type name, for a message. */
export function describeType(type: string | null | undefined): string {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'a regular file';
    case 'directory':
      return 'a directory';
    case 'symlink':
      return 'a symlink';
    case 'link':
      return 'a hard link';
    case 'character-device':
      return 'a character device';
    case 'block-device':
      return 'a block device';
    case 'fifo':
      return 'a fifo';
    default:
      return 'an entry of a type the scan does not know';
  }
}

function describeExtension(flag: number): string {
  switch (flag) {
    case LONG_NAME:
      return 'GNU long name';
    case LONG_LINK:
      return 'GNU long link';
    case PAX_GLOBAL:
      return 'pax global header';
    default:
      return 'pax header';
  }
}

type SizeField = { value: number } | { problem: string; shown: string };

/**
 * The size field, as GNU tar and tar-stream both read it, or why they would not: octal digits
 * (leading spaces allowed) ended by NUL or space, all NUL (0), or base-256 with the first byte 0x80.
 * tar-stream computes base-256 in floating point; so does this, for the same number.
 */
function sizeField(block: Buffer): SizeField {
  const field = block.subarray(124, 136);
  const first = field[0]!;
  if (first === 0x80) {
    let sum = 0;
    for (let i = field.length - 1, power = 0; i > 0; i--, power++) sum += field[i]! * 256 ** power;
    return { value: sum };
  }
  const octal = octalField(block, 124, 12);
  if (octal !== undefined) return { value: octal };
  const shown = show(field);
  if (first === 0xff) return { problem: 'is negative (base-256)', shown };
  if (first & 0x80) return { problem: `is neither octal nor base-256 (first byte 0x${first.toString(16)}, where base-256 takes 0x80)`, shown };
  if (first === 0x2b || first === 0x2d) return { problem: "is signed (the build's tar reads it as obsolete base-64)", shown };
  if (field.every((b) => b === 0x20)) return { problem: 'is blank', shown };
  return { problem: 'is not octal digits ended by NUL or space', shown };
}

/** Octal digits after optional spaces, then only NULs and spaces; an all-NUL field is 0. */
function octalField(block: Buffer, offset: number, width: number): number | undefined {
  const end = offset + width;
  if (isZero(block, offset, end)) return 0;
  let at = offset;
  while (at < end && block[at] === 0x20) at++;
  const digits = at;
  let value = 0;
  while (at < end && block[at]! >= 0x30 && block[at]! <= 0x37) value = value * 8 + (block[at++]! - 0x30);
  if (at === digits) return undefined;
  for (; at < end; at++) if (block[at] !== 0 && block[at] !== 0x20) return undefined;
  return value;
}

/** Records `LENGTH key=value\n`, each LENGTH counting its whole record, filling the body exactly; or what is wrong. */
export function paxRecords(body: Buffer): Record<string, string> | string {
  const records: Record<string, string> = {};
  let at = 0;
  let n = 0;
  while (at < body.length) {
    n += 1;
    let digits = at;
    while (digits < body.length && body[digits]! >= 0x30 && body[digits]! <= 0x39) digits++;
    if (digits === at || digits - at > 12 || body[digits] !== 0x20) return `record ${n} does not start with its length and a space`;
    const length = Number(body.toString('latin1', at, digits));
    const end = at + length;
    if (end > body.length) return `record ${n} says ${length} bytes, past the end of the header`;
    if (length <= digits - at + 1 || body[end - 1] !== 0x0a) return `record ${n} says ${length} bytes, which do not end in a newline`;
    const record = body.subarray(digits + 1, end - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) return `record ${n} has no key=value`;
    records[record.toString('utf8', 0, equals)] = record.toString('utf8', equals + 1);
    at = end;
  }
  return records;
}

function padding(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

/** tar-stream's test for "no header": every byte but the checksum field's is zero. */
function blankButChecksum(block: Buffer): boolean {
  return isZero(block, 0, 148) && isZero(block, 156, BLOCK);
}

function isZero(block: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (block[i] !== 0) return false;
  return true;
}

/** The checksum as tar-stream and POSIX compute it: unsigned bytes, the checksum field as spaces. */
function unsignedSum(block: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < BLOCK; i++) sum += block[i]!;
  return sum;
}

function magicIs(block: Buffer, magic: string): boolean {
  for (let i = 0; i < magic.length; i++) if (block[257 + i] !== magic.charCodeAt(i)) return false;
  return true;
}

/** A NUL-terminated field, decoded as tar-stream decodes names (UTF-8). */
function cString(buf: Buffer, offset: number, width: number): string {
  const nul = buf.indexOf(0, offset);
  const end = nul === -1 || nul > offset + width ? offset + width : nul;
  return buf.toString('utf8', offset, end);
}

function typeflag(flag: number): string {
  return flag >= 0x21 && flag <= 0x7e ? `'${String.fromCharCode(flag)}'` : `0x${flag.toString(16).padStart(2, '0')}`;
}

/** A numeric field for a message: quoted when it is text (trailing NULs dropped), else its bytes in hex. */
function show(field: Buffer): string {
  let end = field.length;
  while (end > 0 && field[end - 1] === 0) end--;
  const bytes = field.subarray(0, end);
  if (bytes.every((b) => (b >= 0x20 && b <= 0x7e) || b === 0)) return JSON.stringify(bytes.toString('latin1'));
  return `0x${bytes.toString('hex')}`;
}

function q(name: string): string {
  return JSON.stringify(name);
}
