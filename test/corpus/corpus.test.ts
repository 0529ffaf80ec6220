import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import type { Store } from '../../shared/aws/store.js';
import { localRack } from '../support/local-rack.js';
import { ecsService } from '../support/stage.js';
import { buildTarball } from '../support/tarballs.js';
import { CASES } from './cases.js';

const APP = 'corpus';
let rack: LocalRack;
let store: Store;
let serving: { release: string; taskDefinition: string };

async function taskDefinition(): Promise<string> {
  const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.resources.cluster, services: [`${ecsService(APP, 'web')}`] }));
  return res.services![0]!.taskDefinition!;
}

beforeAll(async () => {
  // limits a test can cross cheaply: stack parameters, as an operator would set them
  rack = await localRack({ parameters: { TarballMaxEntries: '1000', TarballMaxBytes: String(8 * 1024 * 1024) } });
  store = rack.store;
  const first = await rack.deploy(APP, await buildTarball([{ name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' }]));
  expect(first.status).toBe('SUCCEEDED');
  serving = { release: (await store.getApp(APP))!.currentRelease!, taskDefinition: await taskDefinition() };
});

describe('bad-input corpus', () => {
  it('has at least 40 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    if (c.needs) {
      const owner = await rack.deploy(c.needs.app, await buildTarball([{ name: 'rackless.yml', body: c.needs.manifest }]));
      expect(owner.status).toBe('SUCCEEDED');
    }
    await rack.notifications();
    rack.calls.clear();
    const invocations = rack.functions.invocationsOf('start-deployment').length;
    const key = c.key?.(APP) ?? `apps/${APP}/${c.name.replace(/[^a-z0-9]+/gi, '-')}.tar.gz`;
    const body = await c.body();
    const started = await rack.started(() => rack.upload(key, body));

    if (c.ignored) {
      expect(started).toEqual([]);
      const seen = rack.functions.invocationsOf('start-deployment').slice(invocations);
      // the rule delivers only keys under apps/; start-deployment ignores the rest with a reason
      if (key.startsWith('apps/')) expect(seen.at(-1)?.result).toMatchObject({ status: 'ignored', reason: expect.stringMatching(c.ignored) });
      else expect(seen).toEqual([]);
    } else {
      expect(started).toHaveLength(1);
      const run = await rack.finish(started[0]!.name);
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe(c.code);
      expect(run.cause).toMatch(c.names!);
      const [note] = await rack.notifications();
      expect(note!.attributes).toMatchObject({ app: APP, status: 'failed', step: 'Prepare' });
      expect(note!.message).toContain(c.code!);
    }
    // zero mutating calls reached ECS, ELBv2, ECR or CloudWatch; the previous release still serves
    expect(rack.calls.mutating(['ECSClient', 'ElasticLoadBalancingV2Client', 'ECRClient', 'CloudWatchClient'])).toEqual([]);
    expect((await store.getApp(APP))!.currentRelease).toBe(serving.release);
    expect(await taskDefinition()).toBe(serving.taskDefinition);
  });
});
