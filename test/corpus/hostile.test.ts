import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { ListObjectsV2Command, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { contextKey } from '../../shared/aws/build-context.js';
import type { Store } from '../../shared/aws/store.js';
import { localRack } from '../support/local-rack.js';
import { ecsService } from '../support/stage.js';
import { buildTarball } from '../support/tarballs.js';
import { HOSTILE, KNOWN_GAPS } from './hostile.js';

/**
 * Every hostile tarball, uploaded as a user would over a serving release: the deploy fails in Prepare
 * with the case's code and a message naming the entry, nothing mutating reaches ECS, ELBv2, ECR,
 * CloudWatch or IAM, the release keeps serving, and the build context Prepare was writing while it
 * scanned is gone — no version of it and no delete marker either, in the versioned source bucket.
 */
const APP = 'hostile';
// the client names the call log records (the SDK's own, as local/plugins.ts logs them)
const MUTATED = ['ECSClient', 'ElasticLoadBalancingV2Client', 'ECRClient', 'CloudWatchClient', 'IAMClient'];
// a hostile case must settle well inside this: a directory with a size field once hung the scan
const CASE_TIMEOUT_MS = 30_000;

let rack: LocalRack;
let store: Store;
let serving: { release: string; taskDefinition: string };

async function taskDefinition(app = APP): Promise<string> {
  const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.resources.cluster, services: [ecsService(app, 'web')] }));
  return res.services![0]!.taskDefinition!;
}

/** Current objects under a prefix of the source bucket. */
async function keys(prefix: string): Promise<string[]> {
  const found: string[] = [];
  let token: string | undefined;
  do {
    const res = await rack.aws.s3.send(new ListObjectsV2Command({ Bucket: rack.resources.bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of res.Contents ?? []) found.push(object.Key!);
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return found.sort();
}

/** Keys that have (or had) a stored version under a prefix: delete markers are not bytes. */
async function versionedKeys(prefix: string): Promise<string[]> {
  const found = new Set<string>();
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  do {
    const res = await rack.aws.s3.send(new ListObjectVersionsCommand({ Bucket: rack.resources.bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
    for (const version of res.Versions ?? []) found.add(version.Key!);
    keyMarker = res.IsTruncated ? res.NextKeyMarker : undefined;
    versionMarker = res.IsTruncated ? res.NextVersionIdMarker : undefined;
  } while (keyMarker);
  return [...found].sort();
}

/** Every version and delete marker S3 holds of one key. */
async function versionsOf(key: string): Promise<{ versions: string[]; deleteMarkers: string[] }> {
  const res = await rack.aws.s3.send(new ListObjectVersionsCommand({ Bucket: rack.resources.bucket, Prefix: key }));
  return {
    versions: (res.Versions ?? []).filter((v) => v.Key === key).map((v) => v.VersionId!),
    deleteMarkers: (res.DeleteMarkers ?? []).filter((m) => m.Key === key).map((m) => m.VersionId!),
  };
}

beforeAll(async () => {
  // the same limits as the bad-input corpus: stack parameters, as an operator would set them
  rack = await localRack({ parameters: { TarballMaxEntries: '1000', TarballMaxBytes: String(8 * 1024 * 1024) } });
  store = rack.store;
  const first = await rack.deploy(APP, await buildTarball([{ name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' }]));
  expect(first.status).toBe('SUCCEEDED');
  serving = { release: (await store.getApp(APP))!.currentRelease!, taskDefinition: await taskDefinition() };
});

describe('hostile corpus', () => {
  it('has at least 60 cases, each named once', () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(60);
    expect(new Set(HOSTILE.map((c) => c.name)).size).toBe(HOSTILE.length);
  });

  it.each(HOSTILE.map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      await rack.notifications();
      const contextsBefore = await keys('builds/');
      const storedBefore = await versionedKeys('builds/');
      rack.calls.clear();
      const key = `apps/${APP}/${c.name.replace(/[^a-z0-9]+/gi, '-')}.tar.gz`;
      const started = await rack.started(async () => rack.upload(key, await c.body()));

      expect(started).toHaveLength(1);
      const run = await rack.finish(started[0]!.name);
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe(c.code);
      expect(run.cause).toMatch(c.names!);
      const [note] = await rack.notifications();
      expect(note!.attributes).toMatchObject({ app: APP, status: 'failed', step: 'Prepare' });
      expect(note!.message).toContain(c.code!);

      expect(rack.calls.mutating(MUTATED)).toEqual([]);
      expect((await store.getApp(APP))!.currentRelease).toBe(serving.release);
      expect(await taskDefinition()).toBe(serving.taskDefinition);
      // the context Prepare was writing while it scanned is discarded: no object under builds/ ...
      expect(await keys('builds/')).toEqual(contextsBefore);
      // ... and no bytes of it either: a scan that refuses the archive stops the upload before any are
      // stored, and a refusal after the scan (manifest, Dockerfile) deletes the version the upload
      // returned, not the key, which in a versioned bucket would keep them as a noncurrent version
      expect(await versionsOf(contextKey(APP, run.execution.slice(0, 100)))).toEqual({ versions: [], deleteMarkers: [] });
      expect(await versionedKeys('builds/')).toEqual(storedBefore);
    },
    CASE_TIMEOUT_MS,
  );

  it('refuses, after the scan, some deploys whose context was stored (so discarding one by its version is tested)', () => {
    expect(HOSTILE.filter((c) => !c.code!.startsWith('TARBALL_')).length).toBeGreaterThan(5);
  });

  // archives Prepare accepts (or hangs on) although GNU tar reads them otherwise: see KNOWN_GAPS (none now)
  for (const gap of KNOWN_GAPS) it.todo(`gap: ${gap.name}`);
});

describe('build contexts under builds/', () => {
  it('a Dockerfile build leaves exactly one context, under builds/<app>/, for that deploy', async () => {
    const app = 'ctx-build';
    const before = await keys(`builds/${app}/`);
    const run = await rack.deploy(app, await buildTarball([{ name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' }]));
    expect(run.status).toBe('SUCCEEDED');
    expect(before).toEqual([]);
    expect(await keys(`builds/${app}/`)).toEqual([`builds/${app}/${run.execution.slice(0, 100)}.tar.gz`]);
  });

  it('an image-only manifest leaves none, not even a noncurrent version', async () => {
    const app = 'ctx-image';
    const run = await rack.deploy(app, await buildTarball([{ name: 'rackless.yml', body: 'services:\n  web:\n    image: httpd:2.4\n    port: 80\n' }]));
    expect(run.status).toBe('SUCCEEDED');
    expect(await keys(`builds/${app}/`)).toEqual([]);
    expect(await versionedKeys(`builds/${app}/`)).toEqual([]);
    expect(await versionsOf(contextKey(app, run.execution.slice(0, 100)))).toEqual({ versions: [], deleteMarkers: [] });
  });
});
