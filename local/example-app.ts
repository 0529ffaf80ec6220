import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

const ROOT = new URL('..', import.meta.url).pathname;

/** The examples/httpd app as a tarball (the benchmark's and the demo's app). */
export async function buildAppTarball(dir = join(ROOT, 'examples/httpd')): Promise<Buffer> {
  const pack = tar.pack();
  const files: string[] = [];
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  await walk(dir);
  for (const file of files.sort()) pack.entry({ name: relative(dir, file) }, await readFile(file));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(pack).pipe(createGzip())) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
