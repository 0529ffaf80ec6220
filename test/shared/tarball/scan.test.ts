import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TarballRejected } from '../../../shared/errors.js';
import { DEFAULT_LIMITS, type ScanLimits, type ScanOptions, scanTarball } from '../../../shared/tarball/scan.js';
import { buildTarball, chunked, streamOf, type TarEntry } from '../../support/tarballs.js';
import { type ManualTimer, manualTimer } from './manual-timer.js';

async function rejection(tarball: Buffer | AsyncIterable<Buffer>, limits?: Partial<ScanLimits>): Promise<TarballRejected> {
  const source = Buffer.isBuffer(tarball) ? streamOf(tarball) : tarball;
  const error: unknown = await scanTarball(source, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof TarballRejected)) throw new Error(`expected a TarballRejected, got ${String(error)}`);
  return error;
}

const tgz = (entries: TarEntry[]) => buildTarball(entries);
const file = (name: string, body: string | Buffer = 'x'): TarEntry => ({ name, body });

interface RejectionCase {
  name: string;
  tarball: () => Promise<Buffer>;
  limits?: Partial<ScanLimits>;
  /** Text the message must contain: the entry at fault, or what the whole tarball is when no entry is. */
  names: string;
}

function rejects(code: string, cases: RejectionCase[]): void {
  describe(code, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const error = await rejection(await c.tarball(), c.limits);
      expect(error.code).toBe(code);
      expect(error.message).toMatch(new RegExp(`^${code}: `));
      expect(error.message).toContain(c.names);
      expect(error.message).toContain('expected');
    });
  });
}

describe('scanTarball', () => {
  describe('rejects', () => {
    rejects('TARBALL_EMPTY', [{ name: 'a 0-byte object', tarball: async () => Buffer.alloc(0), names: 'the tarball is 0 bytes' }]);

    rejects('TARBALL_NOT_GZIP', [
      { name: 'a zip archive', tarball: async () => Buffer.from('PK\u0003\u0004\u0014\u0000\u0000\u0000rest of a zip'), names: 'looks like a zip archive' },
      { name: 'an uncompressed tar', tarball: () => buildTarball([file('Dockerfile')], { gzip: false }), names: 'uncompressed tar' },
      { name: 'a single stray byte', tarball: async () => Buffer.from([0x1f]), names: 'not gzip' },
      { name: 'plain text', tarball: async () => Buffer.from('FROM node:24\n'), names: 'not gzip' },
      {
        name: 'gzip whose deflate data is corrupt',
        tarball: async () => {
          const good = await tgz([file('Dockerfile', randomBytes(4096))]);
          const bad = Buffer.from(good);
          bad.fill(0xff, 10, 200);
          return bad;
        },
        names: 'corrupt',
      },
    ]);

    rejects('TARBALL_NOT_TAR', [
      { name: 'gzip of random bytes', tarball: async () => gzipSync(randomBytes(4096)), names: 'at the start' },
      { name: 'gzip of a short text', tarball: async () => gzipSync('FROM node:24\n'), names: 'holds 13 bytes' },
      { name: 'gzip of nothing', tarball: async () => gzipSync(Buffer.alloc(0)), names: 'inflates to 0 bytes' },
      {
        name: 'garbage after a valid entry',
        tarball: async () => gzipSync(Buffer.concat([await buildTarball([file('Dockerfile')], { gzip: false, truncate: 1024 }), randomBytes(1024)])),
        names: 'after entry "Dockerfile"',
      },
    ]);

    rejects('TARBALL_TRUNCATED', [
      {
        name: 'a gzip stream cut short',
        tarball: () => buildTarball([file('Dockerfile'), { name: 'app.bin', body: randomBytes(100_000) }], { truncate: 50_000 }),
        names: 'entry "app.bin"',
      },
      {
        name: 'a tar cut inside an entry, gzipped whole',
        tarball: async () => gzipSync(await buildTarball([file('big.txt', 'y'.repeat(5000))], { gzip: false, truncate: 3000 })),
        names: 'entry "big.txt" (2488 of 5000 bytes)',
      },
    ]);

    rejects('TARBALL_ABSOLUTE_PATH', [
      { name: 'a rooted path', tarball: () => tgz([file('/etc/passwd')]), names: '"/etc/passwd"' },
      { name: 'a Windows drive path', tarball: () => tgz([file('C:\\Windows\\x')]), names: '"C:\\\\Windows\\\\x"' },
    ]);

    rejects('TARBALL_PARENT_PATH', [
      { name: 'a leading ..', tarball: () => tgz([file('../outside')]), names: '"../outside"' },
      { name: 'a .. in the middle', tarball: () => tgz([file('app/../../etc/cron.d/x')]), names: '"app/../../etc/cron.d/x"' },
      { name: 'a .. directory', tarball: () => tgz([{ name: 'app/..', type: 'directory' }]), names: 'entry "app/.." has a ".." segment' },
    ]);

    rejects('TARBALL_BAD_NAME', [
      { name: 'an empty name', tarball: () => tgz([file('')]), names: 'entry "" is empty' },
      { name: 'a newline', tarball: () => tgz([file('app/evil\nname')]), names: '"app/evil\\nname"' },
      { name: 'a NUL carried by a pax path', tarball: () => tgz([file(`é/${'a'.repeat(120)}\u0000.sh`)]), names: 'U+0000' },
      { name: 'a segment over 255 characters', tarball: () => tgz([file(`app/${'n'.repeat(300)}`)]), names: `"app/${'n'.repeat(300)}"` },
      { name: 'a root entry that is a file', tarball: () => tgz([file('./', '')]), names: 'entry "./" names the archive root' },
      { name: 'a symlink with an empty target', tarball: () => tgz([{ name: 'l', type: 'symlink', linkname: '' }]), names: 'symlink "l"' },
    ]);

    rejects('TARBALL_LINK_ESCAPE', [
      { name: 'a symlink climbing out', tarball: () => tgz([{ name: 'app/etc', type: 'symlink', linkname: '../../etc' }]), names: '"app/etc" -> "../../etc"' },
      { name: 'an absolute symlink', tarball: () => tgz([{ name: 'passwd', type: 'symlink', linkname: '/etc/passwd' }]), names: '"passwd" -> "/etc/passwd"' },
      { name: 'a hard link climbing out', tarball: () => tgz([{ name: 'h', type: 'link', linkname: '../etc/shadow' }]), names: '"h" -> "../etc/shadow"' },
      { name: 'an absolute hard link', tarball: () => tgz([{ name: 'h', type: 'link', linkname: '/etc/shadow' }]), names: '"h" -> "/etc/shadow"' },
      {
        name: 'a symlink escaping through another symlink',
        tarball: () =>
          tgz([
            { name: 'here', type: 'symlink', linkname: '.' },
            { name: 'up', type: 'symlink', linkname: 'here/..' },
          ]),
        names: '"up" -> "here/.."',
      },
      {
        name: 'a symlink loop',
        tarball: () =>
          tgz([
            { name: 'a', type: 'symlink', linkname: 'b' },
            { name: 'b', type: 'symlink', linkname: 'a' },
          ]),
        names: 'symlink hops',
      },
    ]);

    rejects('TARBALL_SPECIAL_FILE', [
      { name: 'a character device', tarball: () => tgz([{ name: 'dev/null', type: 'character-device' }]), names: 'entry "dev/null" is a character device' },
      { name: 'a block device', tarball: () => tgz([{ name: 'dev/sda', type: 'block-device' }]), names: 'entry "dev/sda" is a block device' },
      { name: 'a fifo', tarball: () => tgz([{ name: 'pipe', type: 'fifo' }]), names: 'entry "pipe" is a fifo' },
    ]);

    rejects('TARBALL_DUPLICATE_ENTRY', [
      {
        name: 'the same file with and without ./',
        tarball: () => tgz([file('./Dockerfile', 'FROM a'), file('Dockerfile', 'FROM b')]),
        names: 'entry "Dockerfile" repeats the path "Dockerfile"',
      },
      { name: 'a file then a directory of that name', tarball: () => tgz([file('src'), { name: 'src', type: 'directory' }]), names: 'entry "src" repeats the path "src"' },
      { name: 'a path spelled with doubled slashes', tarball: () => tgz([file('a/b'), file('a//b')]), names: '"a//b"' },
    ]);

    rejects('TARBALL_TOO_MANY_ENTRIES', [
      { name: 'files past the limit', tarball: () => tgz([file('a'), file('b'), file('c')]), limits: { maxEntries: 2 }, names: 'entry "c" is number 3' },
      {
        name: 'directories and pax global headers count',
        tarball: () => tgz([{ name: 'pax_global_header', type: 'pax-global-header', pax: { comment: 'abc' } }, { name: 'src', type: 'directory' }, file('src/x')]),
        limits: { maxEntries: 2 },
        names: 'entry "src/x"',
      },
    ]);

    rejects('TARBALL_TOO_LARGE', [
      {
        name: 'files adding up past the limit',
        tarball: () =>
          tgz([
            { name: 'a.bin', size: 600 },
            { name: 'b.bin', size: 600 },
          ]),
        limits: { maxBytes: 1000 },
        names: 'entry "b.bin" (600 bytes)',
      },
    ]);

    rejects('TARBALL_RATIO', [
      { name: 'a file of zeros', tarball: () => tgz([file('Dockerfile'), { name: 'zeros.img', size: 8 * 1024 * 1024 }]), names: 'entry "zeros.img"' },
      { name: 'a lower limit', tarball: () => tgz([{ name: 'text.log', body: 'log line\n'.repeat(300_000) }]), limits: { maxRatio: 10 }, names: 'entry "text.log"' },
    ]);

    rejects('TARBALL_CAPTURE_TOO_LARGE', [
      {
        name: 'a large Dockerfile',
        tarball: () => tgz([file('api/Dockerfile', 'RUN x\n'.repeat(100))]),
        limits: { maxCaptureBytes: 500 },
        names: 'entry "api/Dockerfile" is 600 bytes',
      },
      { name: 'a large manifest', tarball: () => tgz([file('rackless.yml', '#'.repeat(600))]), limits: { maxCaptureBytes: 500 }, names: 'entry "rackless.yml"' },
      {
        name: 'many Dockerfiles together',
        tarball: () => tgz(['a', 'b', 'c'].map((dir) => file(`${dir}/Dockerfile`, '#'.repeat(400)))),
        limits: { maxCaptureBytes: 500, maxCaptureTotalBytes: 1000 },
        names: 'entry "c/Dockerfile"',
      },
    ]);
  });

  describe('stopping early', () => {
    it('stops reading the source once the compression ratio gives a bomb away', async () => {
      const bomb = await tgz([file('Dockerfile', 'FROM scratch\n'), { name: 'bomb.bin', size: 200 * 1024 * 1024 }]);
      const { source, consumed } = chunked(bomb, 1024);

      const error = await rejection(source);

      expect(error.code).toBe('TARBALL_RATIO');
      expect(consumed()).toBeLessThan(bomb.length / 2);
    });

    it('stops reading at the first bad entry instead of draining the rest', async () => {
      const tarball = await tgz([file('../escape'), { name: 'payload.bin', body: randomBytes(4 * 1024 * 1024) }]);
      const { source, consumed } = chunked(tarball, 16 * 1024);

      const error = await rejection(source);

      expect(error.code).toBe('TARBALL_PARENT_PATH');
      expect(consumed()).toBeLessThan(1024 * 1024);
    });

    it('rejects an oversized file from its header, before reading its body', async () => {
      const tarball = await tgz([{ name: 'huge.bin', body: randomBytes(4 * 1024 * 1024) }]);
      const { source, consumed } = chunked(tarball, 16 * 1024);

      const error = await rejection(source, { maxBytes: 1024 * 1024 });

      expect(error.code).toBe('TARBALL_TOO_LARGE');
      expect(consumed()).toBeLessThan(1024 * 1024);
    });

    it('destroys a stream source when it rejects', async () => {
      const tarball = await tgz([file('/abs'), { name: 'payload.bin', body: randomBytes(1024 * 1024) }]);
      const source = Readable.from(chunked(tarball, 16 * 1024).source);

      await rejection(source as unknown as AsyncIterable<Buffer>);

      expect(source.destroyed).toBe(true);
    });

    it('passes a failing source through unchanged: a dropped connection is not a bad tarball', async () => {
      const tarball = await tgz([{ name: 'app.bin', body: randomBytes(256 * 1024) }]);
      const dropped = new Error('socket hang up');
      async function* source(): AsyncGenerator<Buffer> {
        yield tarball.subarray(0, 64 * 1024);
        throw dropped;
      }

      await expect(scanTarball(source())).rejects.toBe(dropped);
    });
  });

  describe('accepts', () => {
    it('reads a root layout: Dockerfile, manifest and .dockerignore at the top', async () => {
      const tarball = await tgz([
        { name: './', type: 'directory' },
        file('./Dockerfile', 'FROM node:24\nEXPOSE 3000\n'),
        file('./rackless.yml', 'services:\n  web:\n    port: 3000\n'),
        file('./.dockerignore', 'node_modules\n'),
        { name: './src', type: 'directory' },
        file('./src/index.js', 'console.log(1)\n'),
      ]);

      const scan = await scanTarball(streamOf(tarball));

      expect(scan).toMatchObject({
        entries: 6,
        bytes: 26 + 31 + 13 + 15,
        compressedBytes: tarball.length,
        stripComponents: 0,
        files: { Dockerfile: 'FROM node:24\nEXPOSE 3000\n', 'rackless.yml': 'services:\n  web:\n    port: 3000\n', '.dockerignore': 'node_modules\n' },
        paths: ['Dockerfile', 'rackless.yml', '.dockerignore', 'src/index.js'],
        links: {},
      });
      expect(scan.tree.map((e) => [e.path, e.type, e.size, !!e.sha256])).toEqual([
        ['Dockerfile', 'file', 25, true],
        ['rackless.yml', 'file', 32, true],
        ['.dockerignore', 'file', 13, true],
        ['src', 'directory', 0, false],
        ['src/index.js', 'file', 15, false],
      ]);
    });

    it('strips a lone top-level directory that holds the Dockerfile (tar czf app.tgz myapp/)', async () => {
      const tarball = await tgz([
        { name: 'myapp/', type: 'directory' },
        file('myapp/Dockerfile', 'FROM nginx\n'),
        file('myapp/.dockerignore', '.git\n'),
        file('myapp/api/Dockerfile', 'FROM node:24\n'),
        file('myapp/api/server.js', ''),
      ]);

      const scan = await scanTarball(streamOf(tarball));

      expect(scan.stripComponents).toBe(1);
      expect(scan.files).toEqual({ Dockerfile: 'FROM nginx\n', '.dockerignore': '.git\n', 'api/Dockerfile': 'FROM node:24\n' });
      expect(scan.paths).toEqual(['Dockerfile', '.dockerignore', 'api/Dockerfile', 'api/server.js']);
    });

    it('strips a lone top-level directory that holds only rackless.yml, without a directory entry', async () => {
      const tarball = await tgz([file('myapp/rackless.yaml', 'services: {}\n'), file('myapp/web/Dockerfile', 'FROM httpd\n')]);

      const scan = await scanTarball(streamOf(tarball));

      expect(scan.stripComponents).toBe(1);
      expect(scan.files).toEqual({ 'rackless.yaml': 'services: {}\n', 'web/Dockerfile': 'FROM httpd\n' });
    });

    it('does not strip a lone top-level directory without a Dockerfile or manifest in it', async () => {
      const tarball = await tgz([file('services/api/Dockerfile', 'FROM a\n'), file('services/rackless.yml.bak', ''), file('services/api/rackless.yml', 'x')]);

      const scan = await scanTarball(streamOf(tarball));

      expect(scan.stripComponents).toBe(0);
      expect(scan.files).toEqual({ 'services/api/Dockerfile': 'FROM a\n' });
    });

    it('does not strip when a file sits beside the top-level directory', async () => {
      const tarball = await tgz([file('app/Dockerfile', 'FROM a\n'), file('app/rackless.yml', 'x'), file('README.md', '# hi')]);

      const scan = await scanTarball(streamOf(tarball));

      expect(scan.stripComponents).toBe(0);
      expect(scan.files).toEqual({ 'app/Dockerfile': 'FROM a\n' });
      expect(scan.paths).toEqual(['app/Dockerfile', 'app/rackless.yml', 'README.md']);
    });

    it('captures Dockerfiles at any depth whatever their case, and manifests only at the root', async () => {
      const tarball = await tgz([
        file('DOCKERFILE', 'FROM a'),
        file('api/Dockerfile.prod', 'FROM b'),
        file('deploy/images/worker.dockerfile', 'FROM c'),
        file('api/rackless.yml', 'not the manifest'),
        file('api/.dockerignore', 'not the root ignore file'),
        file('docs/guide.md', 'not captured'),
      ]);

      const scan = await scanTarball(streamOf(tarball));

      expect(scan.files).toEqual({ DOCKERFILE: 'FROM a', 'api/Dockerfile.prod': 'FROM b', 'deploy/images/worker.dockerfile': 'FROM c' });
      expect(scan.paths).toHaveLength(6);
    });

    it('resolves pax long and non-ASCII names and counts a pax global header as an entry', async () => {
      const deep = `${'very-long-directory-name/'.repeat(8)}Dockerfile`;
      const tarball = await tgz([{ name: 'pax_global_header', type: 'pax-global-header', pax: { comment: '2f4e0c1d9a' } }, file(deep, 'FROM deep'), file('café/menü.txt', 'ü')]);

      const scan = await scanTarball(streamOf(tarball));

      expect(deep.length).toBeGreaterThan(155);
      expect(scan.entries).toBe(3);
      expect(scan.files).toEqual({ [deep]: 'FROM deep' });
      expect(scan.paths).toEqual([deep, 'café/menü.txt']);
    });

    it('accepts links that stay inside, listing hard links as files and symlinks not at all', async () => {
      const tarball = await tgz([
        file('node_modules/pkg/bin.js', '#!/usr/bin/env node'),
        { name: 'node_modules/.bin/pkg', type: 'symlink', linkname: '../pkg/bin.js' },
        { name: 'current', type: 'symlink', linkname: 'node_modules/./pkg' },
        { name: 'bin-copy.js', type: 'link', linkname: 'node_modules/pkg/bin.js' },
        { name: 'through-link.js', type: 'link', linkname: 'current/bin.js' },
      ]);

      const scan = await scanTarball(streamOf(tarball));

      expect(scan.paths).toEqual(['node_modules/pkg/bin.js', 'bin-copy.js', 'through-link.js']);
      expect(scan.entries).toBe(5);
      // a hard link names the file it resolves to on disk, through the symlinks before it
      expect(scan.links['through-link.js']).toEqual({ type: 'link', target: 'node_modules/pkg/bin.js' });
    });

    it('lets a small tarball inflate far beyond the ratio: the ratio is judged after 1 MiB', async () => {
      const tarball = await tgz([file('Dockerfile', 'FROM a'), { name: 'zeros.bin', size: 512 * 1024 }]);

      const scan = await scanTarball(streamOf(tarball));

      expect(512 * 1024 + 2048).toBeGreaterThan(DEFAULT_LIMITS.maxRatio * tarball.length);
      expect(scan.bytes).toBe(6 + 512 * 1024);
    });

    it('reads any async iterable of Uint8Array, byte by byte if need be', async () => {
      const tarball = await tgz([file('Dockerfile', 'FROM a')]);
      async function* bytes(): AsyncGenerator<Uint8Array> {
        for (const byte of tarball) yield Uint8Array.of(byte);
      }

      const scan = await scanTarball(bytes());

      expect(scan.files).toEqual({ Dockerfile: 'FROM a' });
      expect(scan.compressedBytes).toBe(tarball.length);
    });
  });
});

describe('scanTarball: vendored files', () => {
  it('does not capture dockerfile-named files under node_modules, vendor or .git', async () => {
    const tarball = await buildTarball([
      { name: 'Dockerfile', body: 'FROM node:20\n' },
      { name: 'node_modules/highlight.js/lib/languages/dockerfile.js', body: 'x'.repeat(300 * 1024) },
      { name: 'vendor/x/Dockerfile', body: 'FROM y\n' },
    ]);
    const scan = await scanTarball(streamOf(tarball));
    expect(Object.keys(scan.files)).toEqual(['Dockerfile']);
    expect(scan.paths).toContain('node_modules/highlight.js/lib/languages/dockerfile.js');
  });
});

describe('scanTarball: the deadline', () => {
  // the deadline's timer is the test's (ScanOptions.setTimer): firing it is the deadline passing
  const NOW = 1_700_000_000_000;
  const options = (timer: ManualTimer, extra: ScanOptions = {}): ScanOptions => ({ deadline: NOW + 60_000, now: () => NOW, setTimer: timer.set, ...extra });

  /** Yields the first `bytes` of a tarball, then waits for bytes that never come (a stalled S3 body). */
  function stalled(tarball: Buffer, bytes: number): Readable & { reads: number } {
    let sent = false;
    const source = new Readable({
      read() {
        source.reads += 1;
        if (!sent) this.push(tarball.subarray(0, bytes));
        sent = true;
      },
    }) as Readable & { reads: number };
    source.reads = 0;
    return source;
  }

  it('arms a timer for the time left, independent of chunks arriving', async () => {
    const timer = manualTimer();
    await scanTarball(streamOf(await tgz([file('Dockerfile', 'FROM a')])), {}, options(timer));
    expect(timer.ms).toBe(60_000);
    expect(timer.disarmed).toBe(true);
  });

  it('gives up with TARBALL_SLOW when the source stalls, and destroys it', async () => {
    const tarball = await tgz([file('Dockerfile', 'FROM a'), { name: 'app.bin', body: randomBytes(256 * 1024) }]);
    const source = stalled(tarball, 64 * 1024);
    const timer = manualTimer();
    const scan = scanTarball(source, {}, options(timer)).catch((e: unknown) => e);
    // the scan has read what there is and waits: nothing but the timer ends it
    while (source.reads < 2) await new Promise((resolve) => setImmediate(resolve));
    expect(timer.fire()).toBe(true);
    const error = (await scan) as TarballRejected;
    expect(error).toBeInstanceOf(TarballRejected);
    expect(error.code).toBe('TARBALL_SLOW');
    // where it was depends on how far the inflater got with the first chunk
    expect(error.message).toMatch(
      /^TARBALL_SLOW: the scan ran out of time at (entry "app\.bin"|the archive before its first entry) after \d+ inflated bytes; expected the archive to be read before Prepare's deadline/,
    );
    expect(source.destroyed).toBe(true);
  });

  it('gives up with TARBALL_SLOW when the build context stops draining', async () => {
    const tarball = await tgz([file('Dockerfile', 'FROM a'), { name: 'app.bin', body: randomBytes(512 * 1024) }]);
    let written = 0;
    // an S3 upload that never acknowledges a part
    const context = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, _callback) {
        written += chunk.length;
      },
    });
    const timer = manualTimer();
    const scan = scanTarball(streamOf(tarball), {}, options(timer, { context })).catch((e: unknown) => e);
    while (written === 0) await new Promise((resolve) => setImmediate(resolve));
    for (let turn = 0; turn < 100; turn++) await new Promise((resolve) => setImmediate(resolve));
    timer.fire();
    expect(((await scan) as TarballRejected).code).toBe('TARBALL_SLOW');
    expect(context.destroyed).toBe(true);
  });

  it('fires at once when the deadline has already passed', async () => {
    const timer = manualTimer();
    const source = stalled(await tgz([file('Dockerfile', 'FROM a')]), 10);
    const scan = scanTarball(source, {}, options(timer, { deadline: NOW - 1 })).catch((e: unknown) => e);
    expect(timer.ms).toBe(0);
    timer.fire();
    expect(((await scan) as TarballRejected).code).toBe('TARBALL_SLOW');
  });

  it('keeps the first rejection when the deadline fires after it', async () => {
    const timer = manualTimer();
    const error = await scanTarball(streamOf(await tgz([file('../escape')])), {}, options(timer)).catch((e: unknown) => e);
    expect((error as TarballRejected).code).toBe('TARBALL_PARENT_PATH');
    expect(timer.disarmed).toBe(true);
    expect(timer.fire()).toBe(false);
  });

  it('still checks the clock as chunks arrive', async () => {
    const timer = manualTimer();
    let now = NOW;
    const tarball = await tgz([{ name: 'app.bin', body: randomBytes(512 * 1024) }]);
    async function* slow(): AsyncGenerator<Buffer> {
      for (let at = 0; at < tarball.length; at += 16 * 1024) {
        now += 10_000;
        yield tarball.subarray(at, at + 16 * 1024);
      }
    }
    const error = await scanTarball(slow(), {}, { deadline: NOW + 60_000, now: () => now, setTimer: timer.set }).catch((e: unknown) => e);
    expect((error as TarballRejected).code).toBe('TARBALL_SLOW');
  });
});
