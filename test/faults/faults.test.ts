import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallLog } from '../../local/call-log.js';
import { FirstAttemptFaults } from '../../local/faults.js';
import { localRack } from '../support/local-rack.js';
import type { LocalRack } from '../../local/rack.js';
import type { Store } from '../../shared/aws/store.js';
import { loadEvent } from '../support/fixtures.js';
import { buildTarball } from '../support/tarballs.js';

let rack: LocalRack;
let store: Store;

beforeAll(async () => {
  rack = await localRack({ name: 'rackless-faults', watchDeadlineSeconds: 15 });
  store = rack.store;
});
beforeEach(async () => {
  await rack.simulator.settled();
  await rack.notifications();
});

const twoServices = (version: string, app: string) =>
  buildTarball([
    { name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' },
    { name: 'index.html', body: version },
    { name: 'rackless.yml', body: `services:\n  web:\n    build: .\n    port: 80\n    domain: ${app}.faults.example.com\n  worker:\n    build: .\n    command: sleep infinity\n` },
  ]);

async function revisions(app: string) {
  const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.env.CLUSTER, services: ['web', 'worker'].map((s) => `rackless-faults-${app}-${s}`) }));
  return Object.fromEntries((res.services ?? []).map((s) => [s.serviceName!.split('-').pop(), s.taskDefinition!.split(':').pop()]));
}

/** A handler that dies after its AWS calls succeeded, before it could return (crash, timeout). */
function crashOnce(name: string): () => void {
  const handlers = (rack as unknown as { handlers: Record<string, (e: unknown, c: unknown) => Promise<unknown>> }).handlers;
  const real = handlers[name]!;
  let crashed = false;
  handlers[name] = async (event, context) => {
    const result = await real(event, context);
    if (crashed) return result;
    crashed = true;
    throw Object.assign(new Error('the function exited before returning'), { name: 'Lambda.Unknown' });
  };
  return () => {
    handlers[name] = real;
  };
}

describe('faults', () => {
  let faults: FirstAttemptFaults | undefined;
  afterEach(() => faults?.restore());

  it('completes a deploy when the first attempt of every AWS call is throttled or fails with a 5xx', async () => {
    // the test's own upload (PutObject, HeadObject) and the simulated build's push are not handler calls
    faults = new FirstAttemptFaults(
      [S3Client, DynamoDBDocumentClient, DynamoDBClient, ECSClient, ElasticLoadBalancingV2Client, ECRClient, SNSClient, CloudWatchLogsClient, CloudWatchClient],
      /PutObjectCommand|HeadObjectCommand|PutImageCommand/,
    );
    const run = await rack.deploy('throttled', await twoServices('v1', 'throttled'));
    faults.restore();
    expect(run.cause ?? '', `${run.error} after ${run.statesEntered.join(' > ')}; injected ${faults.injected.join(', ')}`).toBe('');
    expect(run.status).toBe('SUCCEEDED');
    expect(faults.injected.length).toBeGreaterThan(20);
    expect(faults.injected).toEqual(
      expect.arrayContaining(['S3Client.GetObjectCommand', 'ECSClient.CreateServiceCommand', 'ElasticLoadBalancingV2Client.CreateRuleCommand', 'SNSClient.PublishCommand']),
    );
    // the SDK's own retries absorb first-attempt faults: no step had to be retried
    expect(run.transitions).toBe(run.statesEntered.length);
    expect((await store.listReleases('throttled')).map((r) => r.number)).toEqual([1]);
  });

  it.each(['release', 'promote'])('a %s step that crashes after its AWS calls is retried without duplicates', async (step) => {
    const app = `crash-${step}`;
    const restore = crashOnce(step);
    const calls = new CallLog([ECSClient, ElasticLoadBalancingV2Client]);
    try {
      const run = await rack.deploy(app, await twoServices('v1', app));
      expect(run.status).toBe('SUCCEEDED');
      expect(run.transitions).toBe(run.statesEntered.length + 1);
    } finally {
      restore();
      calls.restore();
    }
    const releases = await store.listReleases(app);
    expect(releases.map((r) => r.number)).toEqual([1]);
    expect(calls.named('CreateService')).toHaveLength(2);
    const services = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.env.CLUSTER, services: [`rackless-faults-${app}-web`, `rackless-faults-${app}-worker`] }));
    expect(services.services).toHaveLength(2);
    const groups = await rack.aws.elb.send(new DescribeTargetGroupsCommand({}));
    expect(groups.TargetGroups?.filter((g) => g.TargetGroupName?.startsWith(`${app}-web`))).toHaveLength(1);
    const rules = await rack.aws.elb.send(new DescribeRulesCommand({ ListenerArn: rack.env.LISTENER_ARN }));
    expect(rules.Rules?.filter((r) => JSON.stringify(r.Conditions).includes(`${app}.faults.example.com`))).toHaveLength(1);
  });

  it('an ECS event whose processing keeps failing ends up in the failed-invocations queue with its original body', async () => {
    const event = loadEvent('ecs-deployment-completed');
    const send = DynamoDBDocumentClient.prototype.send;
    // the table is unreachable for as long as Lambda keeps retrying
    DynamoDBDocumentClient.prototype.send = function send() {
      return Promise.reject(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }));
    } as typeof send;
    try {
      await expect(rack.deliverEcsEvent(event)).rejects.toThrow(/task-events failed 3 times/);
    } finally {
      DynamoDBDocumentClient.prototype.send = send;
    }
    const [record, ...more] = await rack.failedInvocations();
    expect(more).toEqual([]);
    expect(record).toMatchObject({ requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 }, responsePayload: { errorType: 'TransientError' } });
    expect(record!.requestPayload).toEqual(event);
    // replaying the kept body once the table is back processes it
    await expect(rack.deliverEcsEvent(record!.requestPayload as Record<string, unknown>)).resolves.toMatchObject({ type: 'deployment' });
  });

  it('a build that times out ends the deploy with TIMED_OUT and nothing promoted', async () => {
    rack.buildScenario('slowbuild', { status: 'TIMED_OUT' });
    const run = await rack.deploy('slowbuild', await buildTarball([{ name: 'Dockerfile', body: 'FROM x\n' }]));
    expect(run.error).toBe('BUILD_FAILED');
    const [note] = await rack.notifications();
    expect(note!.message).toContain('TIMED_OUT');
  });

  it('rolls back every touched service when one service of a multi-service release fails its rollout', async () => {
    await rack.deploy('multi', await twoServices('v1', 'multi'));
    expect(await revisions('multi')).toEqual({ web: '1', worker: '1' });
    rack.simulator.next('multi', { outcome: 'complete', services: { worker: 'fail' } });
    const run = await rack.deploy('multi', await twoServices('v2', 'multi'));
    expect(run.error).toBe('ROLLOUT_FAILED');
    expect(await revisions('multi')).toEqual({ web: '1', worker: '1' });
    const [latest, previous] = await store.listReleases('multi');
    expect(latest!.status).toBe('failed');
    expect((await store.getApp('multi'))!.currentRelease).toBe(previous!.id);
  });

  it('rolls back the services already promoted when Promote fails part-way', async () => {
    await rack.deploy(
      'partial',
      await buildTarball([
        { name: 'Dockerfile', body: 'FROM httpd:2.4\n' },
        { name: 'rackless.yml', body: 'services:\n  api:\n    build: .\n  jobs:\n    build: .\n' },
      ]),
    );
    const calls = new CallLog([ECSClient]);
    // ECS refuses the second service's update: the first is already rolling
    const original = ECSClient.prototype.send;
    ECSClient.prototype.send = function send(this: ECSClient, command: any, ...rest: any[]) {
      if (
        command?.constructor?.name === 'UpdateServiceCommand' &&
        command.input.service.endsWith('-jobs') &&
        command.input.forceNewDeployment &&
        !command.input.taskDefinition.endsWith(':1')
      ) {
        return Promise.reject(
          Object.assign(new Error('Task definition does not support launch_type EC2.'), { name: 'InvalidParameterException', $metadata: { httpStatusCode: 400 } }),
        );
      }
      return (original as any).call(this, command, ...rest);
    } as typeof original;
    try {
      const run = await rack.deploy(
        'partial',
        await buildTarball([
          { name: 'Dockerfile', body: 'FROM httpd:2.4\n# v2\n' },
          { name: 'rackless.yml', body: 'services:\n  api:\n    build: .\n  jobs:\n    build: .\n' },
        ]),
      );
      expect(run.error).toBe('PROMOTE_FAILED');
      expect(run.statesEntered).toEqual(expect.arrayContaining(['Promote failed', 'Rollback']));
    } finally {
      ECSClient.prototype.send = original;
      calls.restore();
    }
    const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.env.CLUSTER, services: ['api', 'jobs'].map((s) => `rackless-faults-partial-${s}`) }));
    expect(res.services!.map((s) => s.taskDefinition!.split('/').pop())).toEqual(['rackless-faults-partial-api:1', 'rackless-faults-partial-jobs:1']);
    const note = (await rack.notifications()).at(-1);
    expect(note!.attributes).toMatchObject({ status: 'rolled-back', step: 'Promote' });
    expect(note!.message).toContain('jobs');
  });
});
