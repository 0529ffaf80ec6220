import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
afterEach(() => rack.faults.disarm());

const twoServices = (version: string, app: string) =>
  buildTarball([
    { name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' },
    { name: 'index.html', body: version },
    { name: 'rackless.yml', body: `services:\n  web:\n    build: .\n    port: 80\n    domain: ${app}.faults.example.com\n  worker:\n    build: .\n    command: sleep infinity\n` },
  ]);

async function revisions(app: string) {
  const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.resources.cluster, services: ['web', 'worker'].map((s) => `${ecsService(app, s)}`) }));
  return Object.fromEntries((res.services ?? []).map((s) => [s.serviceName!.split('-').pop(), s.taskDefinition!.split(':').pop()]));
}

/** The function's runtime dies after its AWS calls succeeded, before it could return (crash, timeout). */
function crashOnce(name: string): () => void {
  let crashed = false;
  return rack.functions.intercept(name, async (run) => {
    const result = await run();
    if (crashed) return result;
    crashed = true;
    throw Object.assign(new Error('the function exited before returning'), { name: 'Lambda.Unknown' });
  });
}

describe('faults', () => {
  it('completes a deploy when the first attempt of every AWS call is throttled or fails with a 5xx', async () => {
    // below the SDK's retry strategy, in every function's clients
    rack.faults.arm({ match: () => true, times: 'first' });
    const run = await rack.deploy('throttled', await twoServices('v1', 'throttled'));
    rack.faults.disarm();
    expect(run.cause ?? '', `${run.error} after ${run.statesEntered.join(' > ')}; injected ${rack.faults.injected.join(', ')}`).toBe('');
    expect(run.status).toBe('SUCCEEDED');
    expect(rack.faults.injected.length).toBeGreaterThan(20);
    expect(rack.faults.injected).toEqual(
      expect.arrayContaining(['S3Client.GetObjectCommand', 'ECSClient.CreateServiceCommand', 'ElasticLoadBalancingV2Client.CreateRuleCommand', 'SNSClient.PublishCommand']),
    );
    // the SDK's own retries absorb first-attempt faults: no step had to be retried
    expect(run.transitions).toBe(run.statesEntered.length);
    expect((await store.listReleases('throttled')).map((r) => r.number)).toEqual([1]);
  });

  it.each(['release', 'promote'])('a %s step that crashes after its AWS calls is retried without duplicates', async (step) => {
    const app = `crash-${step}`;
    const restore = crashOnce(step);
    try {
      const run = await rack.deploy(app, await twoServices('v1', app));
      expect(run.status).toBe('SUCCEEDED');
      expect(run.transitions).toBe(run.statesEntered.length + 1);
    } finally {
      restore();
    }
    const releases = await store.listReleases(app);
    expect(releases.map((r) => r.number)).toEqual([1]);
    expect(rack.calls.named('CreateService')).toHaveLength(2);
    const services = await rack.aws.ecs.send(
      new DescribeServicesCommand({ cluster: rack.resources.cluster, services: [`${ecsService(app, 'web')}`, `${ecsService(app, 'worker')}`] }),
    );
    expect(services.services).toHaveLength(2);
    const groups = await rack.aws.elb.send(new DescribeTargetGroupsCommand({}));
    expect(groups.TargetGroups?.filter((g) => g.TargetGroupName?.startsWith(`${app}-web`))).toHaveLength(1);
    const rules = await rack.aws.elb.send(new DescribeRulesCommand({ ListenerArn: rack.resources.listenerArn }));
    expect(rules.Rules?.filter((r) => JSON.stringify(r.Conditions).includes(`${app}.faults.example.com`))).toHaveLength(1);
  });

  it('an ECS event whose processing keeps failing ends up in the failed-invocations queue with its original body', async () => {
    const event = loadEvent('ecs-deployment-completed');
    // the table is unreachable for as long as Lambda keeps retrying
    rack.faults.arm({
      match: (name) => name.startsWith('DynamoDBClient.'),
      times: 'always',
      error: () => Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } }),
    });
    await rack.sendEvent(event);
    await rack.settled();
    rack.faults.disarm();
    const [record, ...more] = await rack.failedInvocations();
    expect(more).toEqual([]);
    expect(record).toMatchObject({ requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 }, responsePayload: { errorType: 'TransientError' } });
    // the body is the event as EventBridge delivered it
    expect(record!.requestPayload).toMatchObject({ source: event.source, 'detail-type': event['detail-type'], resources: event.resources, detail: event.detail });
    // replaying the kept body once the table is back processes it (README: Lambda Invoke with requestPayload)
    const replayed = await rack.functions.invokeAsync(record!.requestContext.functionArn, record!.requestPayload);
    expect(replayed.result).toMatchObject({ type: 'deployment' });
  });

  it('a build that times out ends the deploy with TIMED_OUT and nothing promoted', async () => {
    rack.builds.next('slowbuild', { status: 'TIMED_OUT' });
    const run = await rack.deploy('slowbuild', await buildTarball([{ name: 'Dockerfile', body: 'FROM x\n' }]));
    expect(run.error).toBe('BUILD_FAILED');
    expect(rack.calls.named('CreateService')).toEqual([]);
    const [note] = await rack.notifications();
    expect(note!.message).toContain('TIMED_OUT');
  });

  it('rolls back every touched service when one service of a multi-service release fails its rollout', async () => {
    await rack.deploy('multi', await twoServices('v1', 'multi'));
    expect(await revisions('multi')).toEqual({ web: '1', worker: '1' });
    rack.simulator.next('multi', { outcome: 'complete', services: { worker: 'fail' } });
    const run = await rack.deploy('multi', await twoServices('v2', 'multi'), 'b.tar.gz');
    expect(run.error).toBe('ROLLOUT_FAILED');
    expect(await revisions('multi')).toEqual({ web: '1', worker: '1' });
    const [latest, previous] = await store.listReleases('multi');
    expect(latest!.status).toBe('failed');
    expect((await store.getApp('multi'))!.currentRelease).toBe(previous!.id);
  });

  it('rolls back the services already promoted when Promote fails part-way', async () => {
    const manifest = 'services:\n  api:\n    build: .\n  jobs:\n    build: .\n';
    await rack.deploy(
      'partial',
      await buildTarball([
        { name: 'Dockerfile', body: 'FROM httpd:2.4\n' },
        { name: 'rackless.yml', body: manifest },
      ]),
    );
    // ECS refuses the second service's update to the new revision: the first is already rolling
    rack.faults.arm({
      match: (name, input) => name === 'ECSClient.UpdateServiceCommand' && input.service.endsWith('-jobs') && input.forceNewDeployment && !input.taskDefinition.endsWith(':1'),
      times: 'always',
      error: () =>
        Object.assign(new Error('Task definition does not support launch_type EC2.'), { name: 'InvalidParameterException', $fault: 'client', $metadata: { httpStatusCode: 400 } }),
    });
    const run = await rack.deploy(
      'partial',
      await buildTarball([
        { name: 'Dockerfile', body: 'FROM httpd:2.4\n# v2\n' },
        { name: 'rackless.yml', body: manifest },
      ]),
      'b.tar.gz',
    );
    expect(run.error).toBe('PROMOTE_FAILED');
    expect(run.statesEntered).toEqual(expect.arrayContaining(['Promote failed', 'Rollback']));
    const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.resources.cluster, services: ['api', 'jobs'].map((s) => `${ecsService('partial', s)}`) }));
    expect(res.services!.map((s) => s.taskDefinition!.split('/').pop())).toEqual([`${ecsService('partial', 'api')}:1`, `${ecsService('partial', 'jobs')}:1`]);
    const note = (await rack.notifications()).at(-1);
    expect(note!.attributes).toMatchObject({ status: 'rolled-back', step: 'Promote' });
    expect(note!.message).toContain('jobs');
  });
});
