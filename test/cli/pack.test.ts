import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packDirectory } from '../../local/pack.js';
import { scanTarball } from '../../shared/tarball/scan.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rackless-pack-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tree(files: Record<string, string>) {
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), body);
  }
}

describe('packDirectory', () => {
  it('honours .dockerignore with Docker’s rules: root-anchored patterns, globs, ! exceptions', async () => {
    await tree({
      Dockerfile: 'FROM httpd:2.4\n',
      'index.html': '<h1>hi</h1>\n',
      'node_modules/left-pad/index.js': 'module.exports = 1;\n',
      'src/node_modules/kept.js': '// not at the root: kept\n',
      'debug.log': 'noise\n',
      'keep.log': 'kept by !keep.log\n',
      'docs/a/b.md': '# doc\n',
      '.dockerignore': 'node_modules\n*.log\n!keep.log\ndocs/**/*.md\n# a comment\nDockerfile\n',
    });
    const packed = await packDirectory(dir);
    expect(packed.files).toEqual(['.dockerignore', 'Dockerfile', 'index.html', 'keep.log', 'src/node_modules/kept.js']);
    expect(packed.ignored).toEqual(['debug.log', 'docs/a/b.md', 'node_modules/left-pad/index.js']);
    // the tarball the rack scans holds exactly those files
    const scan = await scanTarball(Readable.from([packed.tarball]));
    expect(scan.paths.sort()).toEqual(packed.files);
    expect(packed.bytes).toBe(packed.tarball.length);
  });

  it('packs everything without .dockerignore, and the same tree to the same bytes', async () => {
    await tree({ Dockerfile: 'FROM httpd:2.4\n', 'logs/a.log': 'x\n' });
    const first = await packDirectory(dir);
    const second = await packDirectory(dir);
    expect(first.files).toEqual(['Dockerfile', 'logs/a.log']);
    expect(second.tarball.equals(first.tarball)).toBe(true);
  });

  it('can ignore .dockerignore when asked', async () => {
    await tree({ Dockerfile: 'FROM httpd:2.4\n', 'a.log': 'x\n', '.dockerignore': '*.log\n' });
    expect((await packDirectory(dir, { dockerignore: false })).files).toEqual(['.dockerignore', 'Dockerfile', 'a.log']);
  });
});
