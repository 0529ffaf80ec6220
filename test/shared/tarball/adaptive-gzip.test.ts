import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AdaptiveGzip, ContextWriter } from '../../../shared/tarball/context.js';

async function gzipOf(data: Buffer, chunk = 64 * 1024): Promise<{ out: Buffer; levels: number[] }> {
  const gzip = new AdaptiveGzip();
  const parts: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (b: Buffer) => parts.push(b));
  const chunks = Array.from({ length: Math.ceil(data.length / chunk) }, (_, i) => data.subarray(i * chunk, (i + 1) * chunk));
  await pipeline(Readable.from(chunks), gzip, sink);
  return { out: Buffer.concat(parts), levels: gzip.levels };
}

const text = (bytes: number) => Buffer.from('export const line = "a line of source code, as apps are made of";\n'.repeat(Math.ceil(bytes / 66))).subarray(0, bytes);

describe('AdaptiveGzip: compresses what compresses, stores what does not', () => {
  it('keeps level 1 for sources: one member, a fraction of the size', async () => {
    const data = text(8 * 1024 * 1024);
    const { out, levels } = await gzipOf(data);
    expect(levels).toEqual([1]);
    expect(out.length).toBeLessThan(data.length / 4);
    expect(gunzipSync(out).equals(data)).toBe(true);
  });

  it('switches to stored after 4 MiB that did not shrink: two members that gunzip reads as one stream', async () => {
    const data = randomBytes(12 * 1024 * 1024);
    const { out, levels } = await gzipOf(data);
    expect(levels).toEqual([1, 0]);
    expect(gunzipSync(out).equals(data)).toBe(true);
  });

  it('writes a context GNU tar extracts whole across the member boundary', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rackless-adaptive-'));
    try {
      const big = randomBytes(6 * 1024 * 1024);
      const parts: Buffer[] = [];
      const sink = new PassThrough();
      sink.on('data', (b: Buffer) => parts.push(b));
      const writer = new ContextWriter(sink);
      for (const [name, body] of [
        ['app/assets.bin', big],
        ['app/Dockerfile', Buffer.from('FROM httpd:2.4\n')],
      ] as const) {
        const { sink: entry, done } = writer.entry({ name, type: 'file', size: body.length });
        entry.end(body);
        await done;
      }
      await writer.finish();
      expect(writer.gzip.levels).toEqual([1, 0]);
      await writeFile(join(dir, 'context.tar.gz'), Buffer.concat(parts));
      execFileSync('tar', ['-xzf', join(dir, 'context.tar.gz'), '-C', dir, '--strip-components=1', '--no-same-owner']);
      const hash = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      expect(hash(await readFile(join(dir, 'assets.bin')))).toBe(hash(big));
      expect(await readFile(join(dir, 'Dockerfile'), 'utf8')).toBe('FROM httpd:2.4\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('AdaptiveGzip at level 0: stored members written by hand', () => {
  it.each([0, 1, 65_535, 65_536, 200_001])('round-trips %i bytes through gunzip and GNU gzip', async (size) => {
    const data = randomBytes(size);
    const gzip = new AdaptiveGzip(0);
    const parts: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (b: Buffer) => parts.push(b));
    await pipeline(Readable.from(size === 0 ? [] : [data.subarray(0, Math.floor(size / 3)), data.subarray(Math.floor(size / 3))]), gzip, sink);
    const out = Buffer.concat(parts);
    expect(gzip.levels).toEqual([0]);
    expect(gunzipSync(out).equals(data)).toBe(true);
    // GNU gzip checks the CRC-32 and the length
    expect(execFileSync('gzip', ['-dc'], { input: out, maxBuffer: 1 << 24 }).equals(data)).toBe(true);
  });
});
