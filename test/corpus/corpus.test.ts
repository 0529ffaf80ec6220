import { ECRClient } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallLog } from '../../local/call-log.js';
import { resetMoto } from '../../local/moto.js';
import { LocalRack } from '../../local/rack.js';
import type { Store } from '../../shared/aws/store.js';
import { buildTarball } from '../support/tarballs.js';
import { CASES } from './cases.js';

const APP = 'corpus';
let rack: LocalRack;
let store: Store;
let serving: { release: string; taskDefinition: string };
const calls = new CallLog([ECSClient, ElasticLoadBalancingV2Client, ECRClient, CloudWatchClient]);

async function taskDefinition(): Promise<string> {
  const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.env.CLUSTER, services: [`rackless-corpus-${APP}-web`] }));
  return res.services![0]!.taskDefinition!;
}

beforeAll(async () => {
  await resetMoto(process.env.MOTO_URL!);
  rack = await new LocalRack({
    endpoint: process.env.MOTO_URL!,
    name: 'rackless-corpus',
    tarballLimits: { maxEntries: 1000, maxBytes: 8 * 1024 * 1024 },
  }).create();
  await rack.loadHandlers();
  store = rack.store;
  const first = await rack.deploy(APP, await buildTarball([{ name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' }]));
  expect(first.status).toBe('SUCCEEDED');
  serving = { release: (await store.getApp(APP))!.currentRelease!, taskDefinition: await taskDefinition() };
});
afterAll(() => calls.restore());

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
    calls.clear();
    const key = c.key?.(APP) ?? `apps/${APP}/${c.name.replace(/[^a-z0-9]+/gi, '-')}.tar.gz`;
    const started = await rack.deliverS3Event(await rack.putTarball(key, await c.body()));

    if (c.ignored) {
      expect(started.status).toBe('ignored');
      expect((started as { reason?: string }).reason).toMatch(c.ignored);
    } else {
      const run = await started.run!;
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe(c.code);
      expect(run.cause).toMatch(c.names!);
      const [note] = await rack.notifications();
      expect(note!.attributes).toMatchObject({ app: APP, status: 'failed', step: 'Prepare' });
      expect(note!.message).toContain(c.code!);
    }
    // zero mutating calls reached ECS, ELBv2, ECR or CloudWatch; the previous release still serves
    expect(calls.mutating()).toEqual([]);
    expect((await store.getApp(APP))!.currentRelease).toBe(serving.release);
    expect(await taskDefinition()).toBe(serving.taskDefinition);
  });
});
