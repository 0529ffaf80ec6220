/**
 * A raw tar writer for hostile archives: every 512-byte header is laid out here, field by field, so
 * a test can write what no well-behaved packer would (a body on a directory, a lying size, a bad
 * checksum, base-256 numbers, GNU 'L'/'K' and pax records in any order). Correct by default: with no
 * overrides a header is a valid ustar header GNU tar and tar-stream both read.
 */
import { gzipSync } from 'node:zlib';

export const BLOCK = 512;

/** Typeflags by name; `typeflag` on a header writes any other byte ('V', 'N', 'D', …). */
export const TYPEFLAG = {
  file: '0',
  link: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
  contiguous: '7',
  pax: 'x',
  global: 'g',
  longname: 'L',
  longlink: 'K',
  sparse: 'S',
} as const;
export type TypeName = keyof typeof TYPEFLAG;

/** Numeric fields and their [offset, width] in a ustar header. */
const NUMERIC = { mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12], devmajor: [329, 8], devminor: [337, 8] } as const;
type NumericField = keyof typeof NUMERIC;

export interface RawHeader {
  /** bytes 0–99; a string is written as UTF-8 and must fit (use a pax path or a GNU 'L' record beyond) */
  name: string | Buffer;
  type?: TypeName;
  /** a raw typeflag byte, overriding `type` */
  typeflag?: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  linkname?: string | Buffer;
  /** ustar prefix (bytes 345–499), joined to the name with a slash by ustar readers */
  prefix?: string;
  uname?: string;
  gname?: string;
  /** 'ustar' (POSIX "ustar\0" "00", default), 'gnu' ("ustar " " \0"), or 'none' (a v7 header) */
  magic?: 'ustar' | 'gnu' | 'none';
  /** 'bad': the right sum plus one; 'signed': summed over signed bytes (old Sun tar); a number: written as is */
  checksum?: 'bad' | 'signed' | number;
  /** the 8 bytes of the checksum field as this makes them from the sum (a trailing letter, a base-256 form …) */
  checksumField?: (sum: number) => string | Buffer;
  /** the raw 12 bytes of the size field (garbage, base-256 …), written instead of `size` */
  sizeField?: string | Buffer;
  /** any numeric field written raw */
  fields?: Partial<Record<NumericField, string | Buffer>>;
  /** raw bytes at any offset (the old GNU sparse map at 386, its real size at 483, …), written last */
  at?: Record<number, string | Buffer>;
}

/** `value` as a NUL-terminated octal field of `width` bytes. */
export function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** GNU base-256: the first byte 0x80 (positive) or 0xff (negative, two's complement), big-endian after it. */
export function base256(value: bigint | number, width = 12): Buffer {
  const out = Buffer.alloc(width);
  let v = BigInt(value);
  if (v < 0n) v += 1n << BigInt(8 * width);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out[0] = BigInt(value) < 0n ? 0xff : 0x80;
  return out;
}

function put(block: Buffer, offset: number, width: number, value: string | Buffer, what: string): void {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (bytes.length > width) throw new Error(`raw-tar: ${what} is ${bytes.length} bytes; the field holds ${width}`);
  bytes.copy(block, offset);
}

/** One 512-byte header block, its checksum right unless `checksum` says otherwise. */
export function header(h: RawHeader): Buffer {
  const block = Buffer.alloc(BLOCK);
  put(block, 0, 100, h.name, 'name');
  const numbers: Record<NumericField, number> = {
    mode: h.mode ?? (h.type === 'dir' ? 0o755 : 0o644),
    uid: h.uid ?? 1000,
    gid: h.gid ?? 1000,
    size: h.size ?? 0,
    mtime: h.mtime ?? 1_700_000_000,
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  };
  for (const [field, [offset, width]] of Object.entries(NUMERIC) as [NumericField, readonly [number, number]][]) {
    const raw = field === 'size' && h.sizeField !== undefined ? h.sizeField : h.fields?.[field];
    put(block, offset, width, raw ?? octal(numbers[field], width), field);
  }
  put(block, 156, 1, h.typeflag ?? TYPEFLAG[h.type ?? 'file'], 'typeflag');
  if (h.linkname !== undefined) put(block, 157, 100, h.linkname, 'linkname');
  const magic = h.magic ?? 'ustar';
  if (magic === 'ustar') put(block, 257, 8, Buffer.from('ustar\u000000', 'latin1'), 'magic');
  if (magic === 'gnu') put(block, 257, 8, Buffer.from('ustar  \u0000', 'latin1'), 'magic');
  put(block, 265, 32, h.uname ?? 'user', 'uname');
  put(block, 297, 32, h.gname ?? 'user', 'gname');
  if (h.prefix !== undefined) put(block, 345, 155, h.prefix, 'prefix');
  for (const [offset, bytes] of Object.entries(h.at ?? {})) put(block, Number(offset), BLOCK - Number(offset), bytes, `bytes at ${offset}`);
  block.write('        ', 148, 'latin1');
  let sum = 0;
  for (const byte of block) sum += h.checksum === 'signed' && byte > 127 ? byte - 256 : byte;
  const checksum = h.checksum === 'bad' ? sum + 1 : typeof h.checksum === 'number' ? h.checksum : sum;
  if (h.checksumField) put(block, 148, 8, h.checksumField(checksum), 'checksum');
  else block.write(`${checksum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function padded(body: Buffer): Buffer {
  const rest = body.length % BLOCK;
  return rest === 0 ? body : Buffer.concat([body, Buffer.alloc(BLOCK - rest)]);
}

/** A header and its body, padded to a whole block; the size field is the body's length unless the header gives one. */
export function entry(h: RawHeader, body: string | Buffer = Buffer.alloc(0)): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([header({ ...h, size: h.size ?? bytes.length }), padded(bytes)]);
}

/** A pax record `LEN key=value\n`, where LEN counts itself; `length` writes a lying one. */
export function paxRecord(key: string, value: string, length?: number): Buffer {
  const rest = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(rest) + 1;
  while (Buffer.byteLength(`${len}${rest}`) !== len) len += 1;
  return Buffer.from(`${length ?? len}${rest}`, 'utf8');
}

/** A pax extended-header body; pairs keep a key given twice. */
export function paxRecords(records: Record<string, string> | Array<[string, string]>): Buffer {
  const pairs = Array.isArray(records) ? records : Object.entries(records);
  return Buffer.concat(pairs.map(([key, value]) => paxRecord(key, value)));
}

/** A pax 'x' (next entry) or 'g' (global) header with its records. */
export function pax(records: Record<string, string> | Array<[string, string]> | Buffer, opts: { global?: boolean; header?: Partial<RawHeader> } = {}): Buffer {
  const body = Buffer.isBuffer(records) ? records : paxRecords(records);
  return entry({ name: opts.global ? 'pax_global_header' : 'PaxHeaders/entry', type: opts.global ? 'global' : 'pax', ...opts.header }, body);
}

/** A GNU long name ('L') or long link ('K') record for the next entry, as GNU tar writes it (NUL-terminated). */
export function gnuLong(kind: 'name' | 'link', value: string | Buffer, opts: { header?: Partial<RawHeader> } = {}): Buffer {
  const bytes = Buffer.concat([typeof value === 'string' ? Buffer.from(value, 'utf8') : value, Buffer.alloc(1)]);
  return entry({ name: '././@LongLink', type: kind === 'name' ? 'longname' : 'longlink', magic: 'gnu', uid: 0, gid: 0, mtime: 0, ...opts.header }, bytes);
}

export const file = (name: string, body: string | Buffer = '', h: Partial<RawHeader> = {}): Buffer => entry({ name, ...h }, body);
export const dir = (name: string, h: Partial<RawHeader> = {}): Buffer => entry({ name, type: 'dir', ...h });
export const symlink = (name: string, target: string, h: Partial<RawHeader> = {}): Buffer => entry({ name, type: 'symlink', linkname: target, ...h });
export const hardlink = (name: string, target: string, h: Partial<RawHeader> = {}): Buffer => entry({ name, type: 'link', linkname: target, ...h });

/** Blocks in order, then (unless `eof: false`) the two zero blocks that end an archive. */
export function archive(blocks: Buffer[], opts: { eof?: boolean } = {}): Buffer {
  return Buffer.concat([...blocks, opts.eof === false ? Buffer.alloc(0) : Buffer.alloc(2 * BLOCK)]);
}

/** The archive, gzipped: what a user uploads. */
export function tgz(blocks: Buffer[], opts: { eof?: boolean } = {}): Buffer {
  return gzipSync(archive(blocks, opts));
}
