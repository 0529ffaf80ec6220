import { PassThrough } from 'node:stream';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** Where a build's context lives: beside the uploads, under a prefix no rule listens to. */
export function contextKey(app: string, buildId: string): string {
  return `builds/${app}/${buildId}.tar.gz`;
}

/** The smallest part S3 multipart upload takes (S3 User Guide, "Amazon S3 multipart upload limits"): 5 MiB. */
const PART_BYTES = 5 * 1024 * 1024;

/**
 * A streaming upload of the build context (lib-storage multipart: one part in flight, so a few MiB
 * of memory whatever the size). `stream` is written by the scan; `done()` waits for the object;
 * `discard()` aborts a running upload or deletes a finished one, so a rejected deploy leaves nothing.
 */
export function contextUpload(s3: S3Client, bucket: string, key: string) {
  const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
  // a refused upload tears the stream down; the error that matters is the scan's
  stream.on('error', () => undefined);
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: stream, ContentType: 'application/gzip', ServerSideEncryption: 'AES256' },
    partSize: PART_BYTES,
    queueSize: 1,
    leavePartsOnError: false,
  });
  const done = upload.done();
  done.catch(() => undefined);
  let finished = false;
  return {
    stream,
    async done(): Promise<void> {
      await done;
      finished = true;
    },
    async discard(): Promise<void> {
      if (!finished) {
        stream.destroy();
        await upload.abort().catch(() => undefined);
        await done.catch(() => undefined);
      }
      // a single-part upload may have landed just as the scan failed
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };
}
