import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { createGzip } from 'node:zlib';
import dockerignore from '@balena/dockerignore';
import tar from 'tar-stream';

/**
 * Packs a directory into the `.tar.gz` a rack deploys: the files Docker would send as build context
 * (`.dockerignore` honoured with Docker's own pattern rules), sorted, with fixed timestamps so the
 * same tree always packs to the same bytes.
 */
export interface PackOptions {
  /** honour <dir>/.dockerignore (default true) */
  dockerignore?: boolean;
}

export interface Packed {
  tarball: Buffer;
  /** relative paths of the regular files and symlinks packed, sorted */
  files: string[];
  /** size of the gzipped tarball */
  bytes: number;
  /** paths .dockerignore left out (files and whole directories) */
  ignored: string[];
}

// The pipeline reads these; Docker likewise sends the Dockerfile even when .dockerignore lists it.
const ALWAYS_PACKED = new Set(['Dockerfile', 'rackless.yml', 'rackless.yaml']);
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');

export async function packDirectory(dir: string, options: PackOptions = {}): Promise<Packed> {
  const root = await lstat(dir).catch(() => undefined);
  if (!root?.isDirectory()) throw new Error(`${dir} is not a directory`);
  const rules = options.dockerignore === false ? [] : await readIgnore(dir);
  const ignore = dockerignore().add(rules);
  const files: string[] = [];
  const ignored: string[] = [];
  const entries: Array<{ path: string; type: 'file' | 'directory' | 'symlink'; mode: number; linkname?: string }> = [];

  async function walk(relDir: string): Promise<void> {
    const names = (await readdir(join(dir, relDir))).sort();
    for (const name of names) {
      const rel = relDir ? posix.join(relDir, name) : name;
      const stat = await lstat(join(dir, ...rel.split('/')));
      if (ignore.ignores(rel) && !ALWAYS_PACKED.has(rel)) {
        // an excluded directory may still hold a `!re-included` path: Docker walks into it then
        if (!stat.isDirectory() || !rules.some((r) => r.trim().startsWith('!'))) {
          ignored.push(rel);
          continue;
        }
      }
      if (stat.isDirectory()) {
        entries.push({ path: rel, type: 'directory', mode: stat.mode & 0o7777 });
        await walk(rel);
      } else if (stat.isSymbolicLink()) {
        entries.push({ path: rel, type: 'symlink', mode: 0o777, linkname: await readlink(join(dir, ...rel.split('/'))) });
        files.push(rel);
      } else if (stat.isFile()) {
        entries.push({ path: rel, type: 'file', mode: stat.mode & 0o7777 });
        files.push(rel);
      }
    }
  }
  await walk('');

  const pack = tar.pack();
  const gzipped = pack.pipe(createGzip({ level: 9 }));
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of gzipped) chunks.push(chunk as Buffer);
  })();
  for (const entry of entries) {
    const header = {
      name: entry.type === 'directory' ? `${entry.path}/` : entry.path,
      mode: entry.mode,
      mtime: FIXED_MTIME,
      type: entry.type,
      ...(entry.linkname ? { linkname: entry.linkname } : {}),
    };
    const body = entry.type === 'file' ? await readFile(join(dir, ...entry.path.split('/'))) : undefined;
    await new Promise<void>((resolve, reject) => (body ? pack.entry(header, body, (e) => (e ? reject(e) : resolve())) : pack.entry(header, (e) => (e ? reject(e) : resolve()))));
  }
  pack.finalize();
  await collected;
  const tarball = Buffer.concat(chunks);
  return { tarball, files, bytes: tarball.length, ignored };
}

async function readIgnore(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => '');
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

/** "12.3 KiB" */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
