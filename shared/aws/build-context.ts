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
  /** what S3 stored: set once PutObject or CompleteMultipartUpload has answered */
  let stored: { versionId: string | undefined } | undefined;
  const done = upload.done().then((output) => {
    stored = { versionId: output.VersionId };
  });
  done.catch(() => undefined);
  // the scan ended the body: S3 may hold the object even if its answer never came
  let ended = false;
  stream.once('finish', () => {
    ended = true;
  });
  return {
    stream,
    async done(): Promise<void> {
      await done;
    },
    async discard(): Promise<void> {
      if (!stored) {
        stream.destroy();
        await upload.abort().catch(() => undefined);
        await done.catch(() => undefined);
      }
      // a single-part upload may have landed just as the scan failed: then `stored` says which version
      if (stored?.versionId !== undefined) {
        // The source bucket is versioned: a DeleteObject by key only adds a delete marker, and the
        // context's bytes stay as a noncurrent version until the builds/ lifecycle rule expires them.
        // Deleting the version the upload returned removes them (IAM: s3:DeleteObjectVersion).
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: stored.versionId }));
        return;
      }
      // an unversioned bucket (no VersionId), or an upload whose answer was lost after the body was
      // sent: by key, the most that can be done without listing versions. A body the scan never
      // finished was never stored (lib-storage sends no object for a stream that errors), so nothing
      // is deleted for it: a delete by key would only leave a delete marker behind
      if (stored || ended) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };
}
