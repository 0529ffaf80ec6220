import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { contextKey, contextUpload } from '../../../shared/aws/build-context.js';

/**
 * discard() in a versioned bucket: a context that was stored is deleted by the version its upload
 * returned (a delete by key would keep its bytes as a noncurrent version behind a delete marker), and
 * a context the scan never finished was never stored, so nothing is deleted for it.
 */
const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const mock = mockClient(s3);
const BUCKET = 'rack-sourcebucket';
const KEY = contextKey('shop', 'exec-1');

afterEach(() => mock.reset());

function deletes() {
  return mock.commandCalls(DeleteObjectCommand).map((call) => call.args[0].input);
}

async function stored(versionId: string | undefined) {
  mock.on(PutObjectCommand).resolves(versionId === undefined ? {} : { VersionId: versionId });
  mock.on(DeleteObjectCommand).resolves({});
  const context = contextUpload(s3, BUCKET, KEY);
  context.stream.end(Buffer.from('a small context: one part'));
  await context.done();
  return context;
}

describe('contextUpload', () => {
  it('writes the context under builds/<app>/', () => {
    expect(KEY).toBe('builds/shop/exec-1.tar.gz');
  });

  it('deletes a stored context by the version its upload returned', async () => {
    const context = await stored('3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY');
    await context.discard();
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(1);
    expect(deletes()).toEqual([{ Bucket: BUCKET, Key: KEY, VersionId: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY' }]);
  });

  it('deletes by key in a bucket that returns no version', async () => {
    const context = await stored(undefined);
    await context.discard();
    expect(deletes()).toEqual([{ Bucket: BUCKET, Key: KEY }]);
  });

  it('stores and deletes nothing for a context the scan tore down', async () => {
    mock.on(PutObjectCommand).resolves({ VersionId: 'never' });
    const context = contextUpload(s3, BUCKET, KEY);
    context.stream.write(Buffer.from('the start of a context'));
    // what the scan's refusal does to the context's stream (ContextWriter.destroy, through its pipeline)
    context.stream.destroy(new Error('the scan refused the upload'));
    await context.discard();
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(deletes()).toEqual([]);
  });

  it('falls back to a delete by key when the upload failed after the body was sent', async () => {
    mock.on(PutObjectCommand).rejects(new Error('socket hang up'));
    mock.on(DeleteObjectCommand).resolves({});
    const context = contextUpload(s3, BUCKET, KEY);
    context.stream.end(Buffer.from('a whole context'));
    await expect(context.done()).rejects.toThrow('socket hang up');
    await context.discard();
    expect(deletes()).toEqual([{ Bucket: BUCKET, Key: KEY }]);
  });
});
