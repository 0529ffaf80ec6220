import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import type { Store } from '../../shared/aws/store.js';
import { loadEvent } from '../support/fixtures.js';
import { localRack } from '../support/local-rack.js';
import { ecsService } from '../support/stage.js';
import { buildTarball } from '../support/tarballs.js';

let rack: LocalRack;
let store: Store;

beforeAll(async () => {
  rack = await localRack();
  store = rack.store;
});
beforeEach(async () => {
  await rack.notifications();
  rack.calls.clear();
});

/** The event goes on EventBridge; the redeploy rule's target runs; what it decided, and the runs it started. */
async function redeploy(event: Parameters<LocalRack['sendEvent']>[0]) {
  const started = await rack.started(() => rack.sendEvent(event));
  const results = rack.functions.invocationsOf('redeploy').at(-1)?.result as Array<{ app: string; status: string; execution?: string; reason?: string }>;
  return results.map((r) => ({ ...r, run: r.execution && started.some((e) => e.name === r.execution) ? rack.finish(r.execution) : undefined }));
}

const tarball = (version: string, from = 'httpd:2.4') =>
  buildTarball([
    { name: 'Dockerfile', body: `FROM ${from}\nCOPY index.html /usr/local/apache2/htdocs/\nEXPOSE 80\n` },
    { name: 'index.html', body: version },
  ]);

function redeployEvent(detail: Record<string, unknown>) {
  const event = loadEvent('rackless-redeploy-requested');
  event.detail = detail;
  event.id = `req-${Math.random().toString(36).slice(2)}`;
  return event;
}

async function taskDefinitionOf(app: string) {
  const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.resources.cluster, services: [`${ecsService(app, 'web')}`] }));
  return res.services?.[0]?.taskDefinition?.split('/').pop();
}

describe('redeploy', () => {
  it('promotes release N: its task definitions, a new release pointing to its build', async () => {
    await rack.deploy('shop', await tarball('one'));
    await rack.deploy('shop', await tarball('two'), 'b.tar.gz');
    const [second, first] = await store.listReleases('shop');
    expect(await taskDefinitionOf('shop')).toBe(`${ecsService('shop', 'web')}:2`);
    rack.calls.clear();
    const [result] = await redeploy(redeployEvent({ app: 'shop', release: first!.id }));
    const run = await result!.run!;
    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered).not.toContain('Build');
    expect(rack.calls.named('RegisterTaskDefinition')).toHaveLength(0);
    expect(await taskDefinitionOf('shop')).toBe(`${ecsService('shop', 'web')}:1`);
    const [third] = await store.listReleases('shop');
    expect(third).toMatchObject({ number: 3, basedOn: first!.id, buildId: first!.buildId, status: 'active', trigger: 'redeploy' });
    expect(third!.taskDefinitions).toEqual(first!.taskDefinitions);
    expect(second!.status).toBe('active');
    expect((await store.getApp('shop'))!.currentRelease).toBe(third!.id);
  });

  it('without a release, rolls the current one out again', async () => {
    await rack.deploy('again', await tarball('one'));
    const [result] = await redeploy(redeployEvent({ app: 'again' }));
    expect((await result!.run!).status).toBe('SUCCEEDED');
    expect(rack.calls.named('UpdateService')[0]!.input).toMatchObject({ forceNewDeployment: true, taskDefinition: expect.stringMatching(/--again--web:1$/) });
  });

  it('rebuild: builds the last tarball again into a new image and revision', async () => {
    await rack.deploy('nightly', await tarball('one'));
    const [result] = await redeploy(redeployEvent({ app: 'nightly', rebuild: true }));
    const run = await result!.run!;
    expect(run.statesEntered).toContain('Build');
    expect(run.status).toBe('SUCCEEDED');
    expect(await taskDefinitionOf('nightly')).toBe(`${ecsService('nightly', 'web')}:2`);
    const [latest] = await store.listReleases('nightly');
    expect(latest!.trigger).toBe('rebuild');
  });

  it('an ECR push of a base image rebuilds the apps whose Dockerfile builds on it', async () => {
    await rack.deploy('onbase', await tarball('x', '123456789012.dkr.ecr.us-east-1.amazonaws.com/base/node:20'));
    await rack.deploy('other', await tarball('y', 'httpd:2.4'));
    const results = await redeploy(loadEvent('ecr-image-push'));
    expect(results.map((r) => [r.app, r.status])).toEqual([['onbase', 'started']]);
    expect((await results[0]!.run!).status).toBe('SUCCEEDED');
  });

  it('a schedule target input redeploys the named app', async () => {
    await rack.deploy('cron', await tarball('one'));
    // a schedule rule with a constant Input hands the function that input, asynchronously
    const started = await rack.started(() => rack.functions.invokeAsync('redeploy', { app: 'cron' }));
    expect(rack.functions.invocationsOf('redeploy').at(-1)?.result).toMatchObject([{ app: 'cron', status: 'started' }]);
    expect((await rack.finish(started[0]!.name)).status).toBe('SUCCEEDED');
  });

  it.each([
    [{ app: 'ghost' }, /app ghost does not exist/],
    [{ app: 'shop', release: 'RNOPE' }, /release RNOPE of app shop does not exist/],
  ])('an unknown app or release → a failure notice, nothing changed (%j)', async (detail, reason) => {
    const [result] = await redeploy(redeployEvent(detail));
    expect(result).toMatchObject({ status: 'rejected', reason: expect.stringMatching(reason) });
    expect(rack.calls.mutating(['ECSClient', 'ElasticLoadBalancingV2Client', 'ECRClient', 'CloudWatchClient'])).toEqual([]);
    const [note] = await rack.notifications();
    expect(note!.attributes).toMatchObject({ kind: 'redeploy-rejected', app: detail.app });
    expect(note!.message).toMatch(reason);
  });
});
