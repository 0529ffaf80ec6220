import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import cliProgress from 'cli-progress';
import { formatBytes } from '../local/pack.js';
import type { Context } from './context.js';
import type { Io } from './io.js';

/** Uploads a tarball (multipart above 8 MiB, in parallel parts); a progress bar on a TTY only. */
export async function uploadTarball(ctx: Context, io: Io, key: string, body: Buffer): Promise<{ key: string; versionId?: string; etag?: string }> {
  const upload = new Upload({
    client: ctx.aws.s3,
    params: { Bucket: ctx.rack.bucket, Key: key, Body: body, ContentType: 'application/gzip' },
    partSize: 8 * 1024 * 1024,
    queueSize: 4,
  });
  const bar = io.barStream
    ? new cliProgress.SingleBar(
        { stream: io.barStream, format: 'Uploading... [{bar}] {percentage}% {done}/{size}', hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(body.length, 0, { done: formatBytes(0), size: formatBytes(body.length) });
  upload.on('httpUploadProgress', (progress) => bar?.update(progress.loaded ?? 0, { done: formatBytes(progress.loaded ?? 0), size: formatBytes(body.length) }));
  if (!bar) io.out('Uploading... ');
  try {
    const done = (await upload.done()) as { VersionId?: string; ETag?: string };
    bar?.stop();
    let versionId = done.VersionId;
    let etag = done.ETag;
    if (!versionId) {
      const head = await ctx.aws.s3.send(new HeadObjectCommand({ Bucket: ctx.rack.bucket, Key: key }));
      versionId = head.VersionId;
      etag = head.ETag;
    }
    io.out(bar ? `Uploading... OK (${formatBytes(body.length)})\n` : `OK (${formatBytes(body.length)})\n`);
    return { key, ...(versionId ? { versionId } : {}), ...(etag ? { etag: etag.replace(/"/g, '') } : {}) };
  } catch (error) {
    bar?.stop();
    if (!bar) io.out('FAILED\n');
    throw error;
  }
}

/** apps/<app>/<UTC time>.tar.gz: sortable, and says when it was uploaded. */
export function uploadKey(app: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d{3})Z$/, '$1Z');
  return `apps/${app}/${stamp}.tar.gz`;
}
