import { describe, expect, it } from 'vitest';
import { TarballRejected } from '../../../shared/errors.js';
import { type FramedEntry, MAX_EXTENSION_BYTES, paxRecords, TarFraming } from '../../../shared/tarball/framing.js';
import { archive, BLOCK, base256, dir, entry, file, gnuLong, hardlink, header, octal, pax, paxRecord, symlink } from '../../support/raw-tar.js';

/**
 * The framing check on raw tar bytes (test/support/raw-tar.ts writes every header field by hand):
 * what GNU tar and tar-stream frame alike passes, with the entries tar-stream will report; what they
 * frame differently is refused before tar-stream reads it, with the code and the entry at fault.
 */
interface Framed {
  entries: FramedEntry[];
  error?: TarballRejected;
  complete: boolean;
}

function frame(tar: Buffer, chunkSize = tar.length): Framed {
  const entries: FramedEntry[] = [];
  const framing = new TarFraming(
    (code, message, details) => new TarballRejected(code, message, details),
    (e) => entries.push(e),
  );
  try {
    for (let at = 0; at < tar.length; at += chunkSize) framing.push(tar.subarray(at, at + chunkSize));
    framing.end();
  } catch (error) {
    if (!(error instanceof TarballRejected)) throw error;
    return { entries, error, complete: false };
  }
  return { entries, complete: framing.complete };
}

function refused(tar: Buffer): TarballRejected {
  const { error } = frame(tar);
  if (!error) throw new Error('expected the framing check to refuse the archive');
  // the same refusal whatever the chunking: byte by byte and block-unaligned
  for (const size of [1, 7, 511, 513]) expect(frame(tar, size).error?.message, `chunks of ${size}`).toBe(error.message);
  return error;
}

const names = (framed: Framed) => framed.entries.map((e) => [e.name, e.type, e.size]);
const EVIL = file('Dockerfile', 'FROM evil\n');

describe('TarFraming accepts what GNU tar and tar-stream frame alike', () => {
  it('reads ustar, GNU and pax headers, reporting each entry as tar-stream will', () => {
    const tar = archive([
      pax({ comment: 'abc123' }, { global: true }),
      dir('app/'),
      file('app/Dockerfile', 'FROM a\n'),
      file('b.txt', 'x'.repeat(700), { prefix: 'app/deep' }),
      gnuLong('name', `app/${'n'.repeat(150)}`),
      file('short', 'long-named', { magic: 'gnu' }),
      gnuLong('link', `app/${'n'.repeat(150)}`),
      hardlink('app/hard', 'ignored', { magic: 'gnu' }),
      pax([
        ['path', 'app/ünïcødé.txt'],
        ['mtime', '1700000000.123456789'],
        ['SCHILY.xattr.user.note', 'a=b\nc'],
      ]),
      file('ascii.txt', 'ü'),
      symlink('app/lnk', 'Dockerfile'),
      entry({ name: 'app/fifo', type: 'fifo' }),
    ]);
    const framed = frame(tar);
    expect(framed.error).toBeUndefined();
    expect(framed.complete).toBe(true);
    expect(names(framed)).toEqual([
      ['app/', 'directory', 0],
      ['app/Dockerfile', 'file', 7],
      ['app/deep/b.txt', 'file', 700],
      [`app/${'n'.repeat(150)}`, 'file', 10],
      ['app/hard', 'link', 0],
      ['app/ünïcødé.txt', 'file', 2],
      ['app/lnk', 'symlink', 0],
      ['app/fifo', 'fifo', 0],
    ]);
  });

  it.each([
    ['octal ended by NUL', octal(1024, 12)],
    ['octal ended by space', '00000002000 '],
    ['octal after leading spaces (old tars)', '      2000 \0'],
    ['twelve octal digits, no terminator', '000000002000'],
    ['base-256, first byte 0x80', base256(1024)],
  ])('a size field in %s', (_name, sizeField) => {
    const framed = frame(archive([entry({ name: 'x.bin', sizeField }, Buffer.alloc(1024, 0x61)), file('after.txt', 'x')]));
    expect(framed.error).toBeUndefined();
    expect(names(framed)).toEqual([
      ['x.bin', 'file', 1024],
      ['after.txt', 'file', 1],
    ]);
  });

  it('reads an all-NUL size field as 0, as both parsers do', () => {
    expect(names(frame(archive([entry({ name: 'empty', sizeField: Buffer.alloc(12) }), file('next', 'x')])))).toEqual([
      ['empty', 'file', 0],
      ['next', 'file', 1],
    ]);
  });

  it.each([
    ['GNU tar and Python write', (sum: number) => `${sum.toString(8).padStart(6, '0')}\0 `],
    ['tar-stream writes', (sum: number) => `${sum.toString(8).padStart(6, '0')} \0`],
    ['Go writes', (sum: number) => `${sum.toString(8).padStart(7, '0')}\0`],
    ['old tars write', (sum: number) => `  ${sum.toString(8)}\0`],
  ])('a checksum field as %s', (_name, checksumField) => {
    expect(frame(archive([file('a.txt', 'a', { checksumField })])).error).toBeUndefined();
  });

  it('frames a body by the pax size over the header’s, and a directory by none', () => {
    const framed = frame(archive([pax({ size: '1024' }), entry({ name: 'big.bin', size: 0 }), Buffer.alloc(1024), pax({ size: '0' }), file('zero.bin', 'ignored'), dir('d/')]));
    // the ustar size of zero.bin (7) is overridden: its 512-byte block is read as the next header
    expect(framed.error?.code).toBe('TARBALL_NOT_TAR');
    expect(names(framed)).toEqual([
      ['big.bin', 'file', 1024],
      ['zero.bin', 'file', 0],
    ]);
  });

  it('reads past zero blocks, as tar-stream does (the scan judges what follows)', () => {
    const framed = frame(Buffer.concat([file('a', 'a'), Buffer.alloc(BLOCK * 3), file('b', 'b'), Buffer.alloc(BLOCK * 2)]));
    expect(names(framed)).toEqual([
      ['a', 'file', 1],
      ['b', 'file', 1],
    ]);
    expect(framed.complete).toBe(true);
  });

  it('leaves a tar cut inside a header, a body or a pax header to tar-stream to call truncated', () => {
    const tar = archive([file('a', 'x'.repeat(600)), pax({ path: 'long' }), file('b', 'b')], { eof: false });
    for (const cut of [100, 700, 1100, 1024 + 512 + 10]) {
      const framed = frame(tar.subarray(0, cut));
      expect(framed.error, String(cut)).toBeUndefined();
      expect(framed.complete, String(cut)).toBe(false);
    }
  });
});

describe('TarFraming refuses what GNU tar and tar-stream frame differently', () => {
  describe('size fields (tar-stream: parseInt and parse256; GNU tar: strictly, or skips to the next header)', () => {
    it.each<[string, string | Buffer, string]>([
      ['a trailing 9', '000000020009', 'is not octal digits ended by NUL or space'],
      ['a trailing letter', '0000000001x\0', 'is not octal digits ended by NUL or space'],
      ['a 9 before the NUL', '00000000019\0', 'is not octal digits ended by NUL or space'],
      ['garbage after the terminator', '0000002000\0x', 'is not octal digits ended by NUL or space'],
      ['two leading NULs (GNU tar skips one, tar-stream all)', '\0\u00000000002000', 'is not octal digits ended by NUL or space'],
      ['a leading + (GNU base-64)', '+0000002000', 'is signed'],
      ['a leading -', '-0000000001\0', 'is signed'],
      ['blanks', ' '.repeat(12), 'is blank'],
      ['letters', 'zzzzzzzzzzz\0', 'is not octal digits'],
      ['a negative base-256 number', base256(-512), 'is negative (base-256)'],
      ...[0x81, 0xc0, 0xfe].map((first): [string, Buffer, string] => [
        `first byte 0x${first.toString(16)}`,
        Buffer.from([first, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0]),
        'is neither octal nor base-256',
      ]),
    ])('%s', (_name, sizeField, why) => {
      const error = refused(archive([file('a.txt', 'a'), entry({ name: 'x.bin', sizeField }, EVIL)]));
      expect(error.code).toBe('TARBALL_NOT_TAR');
      expect(error.message).toMatch(/^TARBALL_NOT_TAR: entry "x\.bin" has a size field /);
      expect(error.message).toContain(why);
      expect(error.details.offset).toBe(1024);
    });

    it('on a directory, a symlink and a pax header alike', () => {
      const c0 = Buffer.from([0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0]);
      expect(refused(archive([entry({ name: 'sub/', type: 'dir', sizeField: c0 }, EVIL)])).message).toContain('entry "sub/" has a size field 0xc0');
      expect(refused(archive([entry({ name: 'lnk', type: 'symlink', linkname: 'x', sizeField: c0 })])).message).toContain('entry "lnk" has a size field');
      const error = refused(archive([file('a', 'a'), pax({ path: 'x' }, { header: { sizeField: c0 } }), file('b', 'b')]));
      expect(error.message).toBe(
        'TARBALL_NOT_TAR: the gzip stream does not hold a valid tar header after entry "a" (the pax header has a size field 0xc000000000000000000004 that is neither octal nor base-256 (first byte 0xc0, where base-256 takes 0x80)); expected a tar archive',
      );
    });
  });

  describe('checksums and magic', () => {
    it.each([
      ['a trailing letter (tar-stream reads its digits)', { checksumField: (sum: number) => `${sum.toString(8).padStart(6, '0')}x ` }, 'its checksum field'],
      ['letters', { checksumField: () => 'abcdefg\0' }, 'its checksum field "abcdefg" is not octal'],
      ['the wrong sum', { checksum: 'bad' as const }, 'bad checksum: the header sums to'],
      ['a sum over signed bytes', { checksum: 'signed' as const, name: 'café' }, 'bad checksum'],
      ['no magic (v7)', { magic: 'none' as const }, 'no ustar or GNU magic'],
    ])('%s', (_name, h, why) => {
      const error = refused(archive([file('a.txt', 'a'), entry({ name: 'x.bin', ...h }, EVIL)]));
      expect(error.code).toBe('TARBALL_NOT_TAR');
      expect(error.message).toMatch(/^TARBALL_NOT_TAR: the gzip stream does not hold a valid tar header after entry "a\.txt" \(/);
      expect(error.message).toContain(why);
    });

    it('a block blank but for its checksum field (tar-stream: no header; GNU tar: a header)', () => {
      const block = Buffer.alloc(BLOCK);
      block.write('000400\0 ', 148, 'latin1');
      expect(refused(Buffer.concat([file('a', 'a'), block, EVIL])).message).toContain('(a block blank but for its checksum field)');
    });

    it('names the start of the archive when the first header is bad', () => {
      expect(refused(archive([file('x', 'x', { checksum: 'bad' })])).message).toContain('valid tar header at the start (bad checksum');
    });
  });

  describe('typeflags', () => {
    it.each([
      ['N', "has typeflag 'N' (old GNU long names), which the build's tar reads differently"],
      ['D', "has typeflag 'D' (a GNU dumpdir)"],
      ['V', "has typeflag 'V' (a GNU volume label)"],
      ['M', "has typeflag 'M' (a GNU multi-volume continuation)"],
      ['X', "has typeflag 'X' (a Solaris extended header)"],
      ['Q', "has typeflag 'Q', which the build's tar reads differently"],
      ['8', "has typeflag '8'"],
      ['\u0001', 'has typeflag 0x01'],
    ])('%j is refused as TARBALL_SPECIAL_FILE', (typeflag, message) => {
      const error = refused(archive([entry({ name: 'names', typeflag, magic: 'gnu' }, 'Dockerfile\0'), EVIL]));
      expect(error.code).toBe('TARBALL_SPECIAL_FILE');
      expect(error.message).toContain(`entry "names" ${message}`);
      expect(error.message).toContain('expected regular files, directories and links only');
    });

    it("'S' (old GNU sparse) is refused as TARBALL_SPARSE, under a long name too", () => {
      const sparse = { typeflag: 'S', magic: 'gnu' as const, at: { 483: octal(1024 ** 3, 12) } };
      expect(refused(archive([entry({ name: 'sparse.bin', ...sparse }, 'hello')])).message).toBe(
        "TARBALL_SPARSE: entry \"sparse.bin\" is an old GNU sparse file (typeflag 'S'), which the build's tar expands to another size; expected regular files stored whole",
      );
      expect(refused(archive([gnuLong('name', 'deep/sparse.bin'), entry({ name: 'x', ...sparse })])).message).toContain('entry "deep/sparse.bin" is an old GNU sparse file');
    });
  });

  describe('bodies on entries that have none (GNU tar reads them as further members)', () => {
    it.each([
      ['a directory', entry({ name: 'sub/', type: 'dir' }, EVIL), 'entry "sub/" is a directory with 1024 bytes of body'],
      ['a symlink', entry({ name: 'lnk', type: 'symlink', linkname: 'a' }, EVIL), 'entry "lnk" is a symlink with 1024 bytes'],
      ['a hard link', entry({ name: 'hard', type: 'link', linkname: 'a' }, EVIL), 'entry "hard" is a hard link with 1024 bytes'],
      ['a character device', entry({ name: 'tty', type: 'char' }, EVIL), 'entry "tty" is a character device with 1024 bytes'],
      ['a block device', entry({ name: 'sda', type: 'block' }, EVIL), 'entry "sda" is a block device with 1024 bytes'],
      ['a fifo', entry({ name: 'pipe', type: 'fifo' }, EVIL), 'entry "pipe" is a fifo with 1024 bytes'],
      ['a directory, by a pax size', Buffer.concat([pax({ size: '1024' }), dir('sub/'), EVIL]), 'entry "sub/" is a directory with 1024 bytes'],
      ['a directory claiming 8 GiB', entry({ name: 'sub/', type: 'dir', size: 8 * 1024 ** 3 - 1 }), `with ${8 * 1024 ** 3 - 1} bytes`],
    ])('%s', (_name, blocks, message) => {
      const error = refused(archive([file('a', 'a'), blocks]));
      expect(error.code).toBe('TARBALL_UNEXPECTED_BODY');
      expect(error.message).toContain(message);
    });

    it.each([
      ['typeflag 0', entry({ name: 'olddir/' }, EVIL)],
      ['typeflag NUL', entry({ name: 'olddir/', typeflag: '\0' }, EVIL)],
      ['typeflag 7', entry({ name: 'olddir/', type: 'contiguous' }, EVIL)],
      ['a ustar prefix and an empty name', entry({ name: '', prefix: 'olddir' }, EVIL)],
      ['a pax path', Buffer.concat([pax({ path: 'olddir/' }), file('notes.txt', EVIL)])],
      ['a GNU long name', Buffer.concat([gnuLong('name', 'olddir/'), file('notes.txt', EVIL, { magic: 'gnu' })])],
    ])('a regular file named with a trailing slash, by %s (a directory to GNU tar)', (_name, blocks) => {
      const error = refused(archive([blocks]));
      expect(error.message).toBe(
        'TARBALL_UNEXPECTED_BODY: entry "olddir/" is a directory (a file whose name ends in "/", which the build\'s tar extracts as a directory) with 1024 bytes of body; expected a body on regular files only',
      );
    });

    it('but not an empty one: the scan reads it as the directory it is to GNU tar', () => {
      expect(names(frame(archive([entry({ name: 'olddir/' }), file('olddir/a', 'a')])))).toEqual([
        ['olddir/', 'file', 0],
        ['olddir/a', 'file', 1],
      ]);
    });
  });

  describe('pax headers', () => {
    it.each([
      [
        'a length that does not end at a newline',
        Buffer.concat([paxRecord('path', '../../../../etc/cron.d/evil', 16), paxRecord('mtime', '1')]),
        'record 1 says 16 bytes, which do not end in a newline',
      ],
      ['a length past the header', paxRecord('path', 'x', 99), 'record 1 says 99 bytes, past the end of the header'],
      ['no length', Buffer.from(' path=x\n'), 'record 1 does not start with its length and a space'],
      ['a length with letters', Buffer.from('12a path=x\n'), 'record 1 does not start with its length and a space'],
      ['no key=value', Buffer.from('8 pathx\n'), 'record 1 has no key=value'],
      ['NUL padding after the records', Buffer.concat([paxRecord('path', 'x'), Buffer.alloc(20)]), 'record 2 does not start with its length and a space'],
    ])('refuses records with %s', (_name, body, why) => {
      const error = refused(archive([pax(body), file('innocent.txt', 'x')]));
      expect(error.message).toBe(`TARBALL_PAX_UNSUPPORTED: entry "innocent.txt" has a malformed pax header (${why}); expected records "LENGTH key=value\\n"`);
    });

    it.each([
      ['size', '1024junk'],
      ['size', '-1'],
      ['size', ' 12'],
      ['size', '0x10'],
      ['size', ''],
      ['mtime', '1700000000junk'],
      ['mtime', '1.5e9'],
      ['uid', '1000 '],
      ['gid', '-1'],
    ])('refuses the record %s=%j', (key, value) => {
      const error = refused(archive([pax({ [key]: value }), file('notes.txt', 'x')]));
      expect(error.code).toBe('TARBALL_PAX_UNSUPPORTED');
      expect(error.message).toContain(`entry "notes.txt" has the pax record ${key}=${JSON.stringify(value)}, which is not a plain decimal number`);
    });

    it('accepts the numbers GNU tar, bsdtar, Python and Go write', () => {
      const records = { size: '1', mtime: '1700000000.123456789', atime: '-1.5', ctime: '1700000000', uid: '4294967294', gid: '0' };
      expect(names(frame(archive([pax(records), file('n', 'x')])))).toEqual([['n', 'file', 1]]);
    });

    it('refuses a size out of range', () => {
      expect(refused(archive([pax({ size: '9'.repeat(20) }), file('n', 'x')])).message).toContain('has the pax record size="99999999999999999999", out of range');
    });

    it('refuses an empty path or linkpath (an empty name to GNU tar, none to tar-stream)', () => {
      expect(refused(archive([pax({ path: '' }), file('innocent.txt', 'x')])).message).toContain('entry "innocent.txt" has an empty pax path record');
      expect(refused(archive([pax({ linkpath: '' }), symlink('lnk', 'index.html')])).message).toContain('entry "lnk" has an empty pax linkpath record');
    });

    it('refuses an empty pax header (tar-stream would read the next entry’s padding as its body)', () => {
      const error = refused(archive([file('a', 'a'), pax(Buffer.alloc(0)), file('b', 'hello'), file('c', 'c')]));
      expect(error.message).toBe('TARBALL_PAX_UNSUPPORTED: the pax header after entry "a" is empty; expected pax records (paths, times, owners)');
      expect(refused(archive([pax(Buffer.alloc(0), { global: true }), file('b', 'b')])).message).toContain('the pax global header at the start is empty');
    });

    it('refuses a pax header over tar-stream’s bound from its header alone', () => {
      const tar = header({ name: 'PaxHeaders/x', type: 'pax', size: MAX_EXTENSION_BYTES + 1 });
      expect(refused(tar).message).toBe(
        `TARBALL_PAX_UNSUPPORTED: the pax header at the start holds ${MAX_EXTENSION_BYTES + 1} bytes; expected at most ${MAX_EXTENSION_BYTES} of pax records`,
      );
    });

    it('refuses a malformed global header at once, and frames with the global records merged as tar-stream does', () => {
      expect(refused(archive([pax(Buffer.from('5 x\n'), { global: true }), file('a', 'a')])).message).toContain('the pax global header at the start is malformed');
      // a global size reaches an entry only through a pax header of its own (tar-stream merges them)
      const framed = frame(archive([pax({ size: '1024' }, { global: true }), file('plain', 'x'), pax({ mtime: '1' }), entry({ name: 'merged', size: 0 }), Buffer.alloc(1024)]));
      expect(names(framed)).toEqual([
        ['plain', 'file', 1],
        ['merged', 'file', 1024],
      ]);
    });

    it('refuses a pax header or long name that no entry follows', () => {
      expect(refused(archive([file('a', 'a'), pax({ path: 'Dockerfile' })])).message).toBe(
        'TARBALL_NOT_TAR: the gzip stream does not hold a valid tar header after entry "a" (a pax header before a zero block, with no entry it describes); expected a tar archive',
      );
      expect(refused(archive([file('a', 'a'), gnuLong('name', 'x'), pax({ path: 'y' })], { eof: false })).message).toContain(
        '(a GNU long name and a pax header at the end of the archive, with no entry it describes)',
      );
    });
  });

  describe('GNU long names', () => {
    it('refuses an empty one (tar-stream keeps the header’s name, GNU tar takes the empty one)', () => {
      expect(refused(archive([gnuLong('name', ''), file('innocent.txt', 'x', { magic: 'gnu' })])).message).toBe(
        'TARBALL_BAD_NAME: entry "innocent.txt" has an empty GNU long name; expected a plain relative path',
      );
      expect(refused(archive([gnuLong('link', Buffer.alloc(0)), symlink('lnk', 'x', { magic: 'gnu' })])).message).toContain('entry "lnk" has an empty GNU long link');
      expect(refused(archive([file('a', 'a'), entry({ name: '././@LongLink', type: 'longname', magic: 'gnu', size: 0 }), file('b', 'b')])).message).toBe(
        'TARBALL_BAD_NAME: the GNU long name after entry "a" is empty; expected a plain relative path',
      );
    });

    it('refuses one longer than a name may be, from its header alone', () => {
      const tar = header({ name: '././@LongLink', type: 'longname', magic: 'gnu', size: 5 * 1024 * 1024 });
      expect(refused(tar).message).toBe('TARBALL_BAD_NAME: the GNU long name at the start is too long (5242880 bytes; names up to 4096); expected a plain relative path');
    });

    it('refuses one whose NUL lies past its size (GNU tar reads it to the NUL in its blocks, tar-stream to its size)', () => {
      const error = refused(archive([gnuLong('name', 'Dockerfile', { header: { size: 4 } }), file('notes.txt', 'FROM evil', { magic: 'gnu' })]));
      expect(error.message).toBe(
        'TARBALL_BAD_NAME: entry "Dock" has a GNU long name that runs past its size ("Dock", or "Dockerfile" read to its NUL); expected a name ended by NUL',
      );
      // a name that fills its blocks to the end has no NUL, to either
      const whole = 'n'.repeat(BLOCK);
      expect(names(frame(archive([entry({ name: '././@LongLink', type: 'longname', magic: 'gnu' }, whole), file('x', 'x', { magic: 'gnu' })])))).toEqual([[whole, 'file', 1]]);
    });

    it('takes the last of two, and a pax path over a long name, as tar-stream and GNU tar do', () => {
      expect(names(frame(archive([gnuLong('name', 'first'), gnuLong('name', 'second'), file('x', 'x', { magic: 'gnu' })])))).toEqual([['second', 'file', 1]]);
      expect(names(frame(archive([gnuLong('name', 'long'), pax({ path: 'pax' }), file('x', 'x', { magic: 'gnu' })])))).toEqual([['pax', 'file', 1]]);
    });
  });
});

describe('paxRecords', () => {
  it('reads records whose values hold newlines, = and UTF-8', () => {
    const body = Buffer.concat([paxRecord('path', 'a=b\nc'), paxRecord('SCHILY.xattr.user.x', 'ü')]);
    expect(paxRecords(body)).toEqual({ path: 'a=b\nc', 'SCHILY.xattr.user.x': 'ü' });
  });

  it('keeps the last of a key given twice', () => {
    expect(paxRecords(Buffer.concat([paxRecord('path', 'a'), paxRecord('path', 'b')]))).toEqual({ path: 'b' });
  });
});
