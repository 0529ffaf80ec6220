import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The build context extracted the way the build extracts it: the buildspec's own `tar -x…` line,
 * read from the template's BuildSpec (so a change there is what tests and local builds run), with
 * its `/tmp/context.tar.gz` and `/tmp/src` pointed at the given file and directory. GNU tar is the
 * oracle: whatever it writes is what `docker build` sees.
 */
export function extractionCommand(buildSpec: string): string {
  const line = buildSpec.split('\n').find((l) => /\btar\s+-x/.test(l));
  if (!line) throw new Error('the BuildSpec has no `tar -x…` command');
  return line.replace(/^\s*-\s*/, '');
}

export async function extractContext(buildSpec: string, contextFile: string, into: string, env: Record<string, string>): Promise<void> {
  const command = extractionCommand(buildSpec).replaceAll('/tmp/context.tar.gz', contextFile).replaceAll('/tmp/src', into);
  await run('bash', ['-euo', 'pipefail', '-c', command], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
}

export interface ExtractedEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink';
  size: number;
  target?: string;
  sha256: string | undefined;
}

/** What is on disk under `root`, as paths relative to it (lstat: symlinks are not followed). */
export async function extractedTree(root: string, dir = ''): Promise<ExtractedEntry[]> {
  const entries: ExtractedEntry[] = [];
  for (const name of (await readdir(join(root, dir))).sort()) {
    const path = dir ? `${dir}/${name}` : name;
    const stat = await lstat(join(root, path));
    if (stat.isSymbolicLink()) entries.push({ path, type: 'symlink', size: 0, target: await readlink(join(root, path)), sha256: undefined });
    else if (stat.isDirectory()) {
      entries.push({ path, type: 'directory', size: 0, sha256: undefined });
      entries.push(...(await extractedTree(root, path)));
    } else if (stat.isFile()) {
      entries.push({
        path,
        type: 'file',
        size: stat.size,
        sha256: createHash('sha256')
          .update(await readFile(join(root, path)))
          .digest('hex'),
      });
    } else throw new Error(`extraction wrote ${path}, which is neither file, directory nor symlink`);
  }
  return entries;
}
