import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractContext, extractedTree } from '../../../local/extract.js';
import { packagedTemplate } from '../../../local/template.js';
import { TarballRejected } from '../../../shared/errors.js';
import { scanTarball, type TarballScan } from '../../../shared/tarball/scan.js';
import { TEST_STAGE } from '../../support/stage.js';
import { buildTarball, streamOf, type TarEntry } from '../../support/tarballs.js';

/**
 * GNU tar is the oracle: for archives Prepare accepts, the build context it writes, extracted with
 * the buildspec's own command, holds exactly the entries the scan reported — names, types, sizes,
 * link targets, and the bytes of the files it read (Dockerfiles, the manifest).
 */
let buildSpec = '';
let scratch = '';

beforeAll(async () => {
  const template = await packagedTemplate(TEST_STAGE);
  buildSpec = template.Resources.BuildProject!.Properties.Source.BuildSpec;
  scratch = await mkdtemp(join(tmpdir(), 'rackless-oracle-'));
}, 240_000);
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function scanWithContext(tarball: Buffer): Promise<{ scan: TarballScan; context: Buffer }> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  const scan = await scanTarball(streamOf(tarball), {}, { context: sink });
  return { scan, context: Buffer.concat(chunks) };
}

let run = 0;
async function extracted(context: Buffer, strip: 0 | 1) {
  const dir = join(scratch, String(++run));
  const file = `${dir}.tar.gz`;
  await writeFile(file, context);
  await extractContext(buildSpec, file, join(dir, 'src'), { STRIP_COMPONENTS: String(strip) });
  return extractedTree(join(dir, 'src'));
}

/** What GNU tar must have written: the scan's tree, its implied parent directories, hard links as the files they name. */
function expectedTree(scan: TarballScan) {
  const byPath = new Map<string, { path: string; type: string; size: number; target?: string }>();
  const sizes = new Map(scan.tree.filter((e) => e.type === 'file').map((e) => [e.path, e.size]));
  for (const entry of scan.tree) {
    const parts = entry.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, type: 'directory', size: 0 });
    }
    if (entry.type === 'link') byPath.set(entry.path, { path: entry.path, type: 'file', size: sizes.get(entry.target!)! });
    else byPath.set(entry.path, { path: entry.path, type: entry.type, size: entry.size, ...(entry.type === 'symlink' ? { target: entry.target! } : {}) });
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
}

// names: ASCII and multi-byte, some over the 100 bytes a plain ustar name holds
const segment = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9_.-]{0,11}$/).filter((s) => s !== '.' && s !== '..'),
  fc.constantFrom('ünïcødé', '数据', 'données-été', 'x'.repeat(120), 'Dockerfile.dev'),
);
const relativePath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
const body = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
);

/** A tree Prepare should accept: files, then symlinks and hard links to them, maybe under one top directory. */
const acceptableTree = fc
  .record({
    files: fc.uniqueArray(fc.tuple(relativePath, body, fc.constantFrom(0o644, 0o755, 0o600)), { minLength: 1, maxLength: 12, selector: ([path]) => path.toLowerCase() }),
    top: fc.option(fc.constantFrom('app', 'my-app-1.2', 'ü-app'), { nil: undefined }),
    links: fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 4 }),
  })
  .map(({ files, top, links }) => {
    // no file may also be a directory of another
    const kept = files.filter(([path]) => !files.some(([other]) => other.startsWith(`${path}/`)));
    const prefix = top ? `${top}/` : '';
    const entries: TarEntry[] = [{ name: `${prefix}Dockerfile`, body: 'FROM httpd:2.4\nEXPOSE 80\n' }];
    for (const [path, content, mode] of kept) if (path !== 'Dockerfile') entries.push({ name: `${prefix}${path}`, body: content, mode });
    const names = new Set(entries.map((e) => e.name));
    links.forEach(([pick, symbolic], i) => {
      const target = kept[pick % kept.length]![0];
      if (target === 'Dockerfile') return;
      const name = `${prefix}link-${i}`;
      if (names.has(name)) return;
      names.add(name);
      // a symlink in the root pointing at the file; a hard link names the archive path
      entries.push(symbolic ? { name, type: 'symlink', linkname: target } : { name, type: 'link', linkname: `${prefix}${target}` });
    });
    return entries;
  });

describe('the build context, extracted by the buildspec’s own tar', () => {
  it('holds exactly what the scan accepted, for generated trees', async () => {
    await fc.assert(
      fc.asyncProperty(acceptableTree, async (entries) => {
        const { scan, context } = await scanWithContext(await buildTarball(entries));
        const disk = await extracted(context, scan.stripComponents);
        expect(disk.map(({ sha256: _hash, ...rest }) => rest).sort((a, b) => (a.path < b.path ? -1 : 1))).toEqual(expectedTree(scan));
        for (const entry of scan.tree.filter((e) => e.sha256)) {
          expect(disk.find((d) => d.path === entry.path)?.sha256, entry.path).toBe(entry.sha256);
        }
        expect(scan.files.Dockerfile).toBe('FROM httpd:2.4\nEXPOSE 80\n');
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it('writes a name over 100 bytes so that GNU tar reads it whole (a pax path record)', async () => {
    const tarball = await buildTarball([
      { name: 'Dockerfile', body: 'FROM a\n' },
      { name: 'run.sh', body: '#!/bin/sh\n', mode: 0o4755 },
      { name: `a/very/deep/${'n'.repeat(150)}.txt`, body: 'long name' },
    ]);
    const { scan, context } = await scanWithContext(tarball);
    const disk = await extracted(context, scan.stripComponents);
    expect(disk.map((d) => d.path)).toContain(`a/very/deep/${'n'.repeat(150)}.txt`);
    expect(disk.find((d) => d.path === 'run.sh')).toMatchObject({ type: 'file', size: 10 });
  });
});

describe('the scan settles on any bytes', () => {
  // a valid archive to start from, then header bytes mutated anywhere
  let base: Buffer;
  beforeAll(async () => {
    base = await buildTarball(
      [
        { name: 'Dockerfile', body: 'FROM a\n' },
        { name: 'dir/', type: 'directory' },
        { name: 'dir/file.txt', body: 'x'.repeat(700) },
        { name: 'link', type: 'symlink', linkname: 'dir/file.txt' },
        { name: 'hard', type: 'link', linkname: 'dir/file.txt' },
      ],
      { gzip: false },
    );
  });

  it('answers every mutated header with a result or a TarballRejected, never a hang or a crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: 4095 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 24 }),
        fc.option(fc.nat({ max: 4096 }), { nil: undefined }),
        async (mutations, cut) => {
          const tar = Buffer.from(base);
          for (const [offset, value] of mutations) tar[offset % tar.length] = value;
          const bytes = gzipSync(cut === undefined ? tar : tar.subarray(0, cut));
          const sink = new PassThrough();
          sink.resume();
          const outcome = await scanTarball(streamOf(bytes), {}, { context: sink }).then(
            (scan) => ({ scan }),
            (error: unknown) => ({ error }),
          );
          if ('error' in outcome) {
            expect(outcome.error).toBeInstanceOf(TarballRejected);
            expect((outcome.error as TarballRejected).code).toMatch(/^TARBALL_[A-Z_]+$/);
          } else {
            expect(outcome.scan.entries).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 400 },
    );
  }, 120_000);

  it('refuses a directory or link header that carries a body (the archive that used to hang the scan)', async () => {
    const tar = Buffer.from(base);
    // dir/ is the second header: set its size field to 1024 (octal 2000)
    const dirHeader = tar.indexOf(Buffer.from('dir/\0'));
    tar.write('00000002000\0', dirHeader + 124, 'latin1');
    let sum = 0;
    tar.write('        ', dirHeader + 148, 'latin1');
    for (const byte of tar.subarray(dirHeader, dirHeader + 512)) sum += byte;
    tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, dirHeader + 148, 'latin1');
    const error = await scanTarball(streamOf(gzipSync(tar))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TarballRejected);
    expect((error as TarballRejected).message).toBe('TARBALL_UNEXPECTED_BODY: entry "dir/" is a directory with 1024 bytes of body; expected a body on regular files only');
  });
});
