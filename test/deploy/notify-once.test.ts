import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultPlan } from '../../local/plugins.js';
import type { LocalRack, Notification } from '../../local/rack.js';
import { documentClient } from '../../shared/aws/dynamo-store.js';
import { IDEMPOTENCY_PK } from '../../shared/aws/idempotency.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { localRack } from '../support/local-rack.js';
import { buildTarball } from '../support/tarballs.js';

/**
 * Notify publishes exactly one message per deploy outcome, however often it is retried: the
 * outcome is claimed in the table before the Publish (Powertools idempotency), so a retry after a
 * throttled write replays what was sent instead of sending it again.
 */
let rack: LocalRack;

beforeAll(async () => {
  rack = await localRack();
});
beforeEach(async () => {
  await rack.notifications();
  rack.calls.clear();
});
afterEach(() => rack.faults.disarm());

const throttling = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });

/**
 * The first `times` matching calls are throttled: 4 exhaust the SDK's own attempts (maxAttempts 4),
 * so the step fails with TransientError and the state machine (or the test) retries it.
 */
function throttleFirst(times: number, match: (name: string, input: any) => boolean): FaultPlan {
  let left = times;
  return { times: 'always', error: throttling, match: (name, input) => match(name, input) && left-- > 0 };
}

const mentions = (input: unknown, ...parts: string[]) => parts.every((part) => JSON.stringify(input).includes(part));
const FAULTS: Record<string, (name: string, input: any) => boolean> = {
  // the Publish itself: nothing was sent, its claim is deleted, the retry sends
  'the Publish': (name) => name === 'SNSClient.PublishCommand',
  // the claim written before the Publish: nothing was sent
  'the claim before the Publish': (name, input) => name === 'DynamoDBClient.PutItemCommand' && mentions(input, IDEMPOTENCY_PK),
  // the deploy event written after the Publish (the write of the issue: sent, then retried)
  'the event write after the Publish': (name, input) => name === 'DynamoDBClient.PutItemCommand' && mentions(input, 'EVENT#', '"deploy"'),
};

const ofApp = (notes: Notification[], app: string) => notes.filter((n) => n.attributes.app === app);

/** A finished execution whose Prepare failed: Notify has only the outcome to record and publish. */
const failedAtPrepare = (app: string): DeployState => ({
  app,
  trigger: 'upload',
  order: { time: '2026-03-02T14:00:00Z' },
  execution: `${app}-0123456789abcdef`,
  startedAt: '2026-03-02T14:00:00Z',
  timings: [{ step: 'Prepare', startedAt: '2026-03-02T14:00:01.000Z', durationMs: 120 }],
  failedStep: 'Prepare',
  failure: { Error: 'TarballRejected', Cause: JSON.stringify({ errorType: 'TarballRejected', errorMessage: 'TARBALL_NOT_GZIP: the object is not a gzip stream' }) },
});

const deployEvents = async (app: string) => (await rack.store.listEvents(app)).filter((e) => e.type === 'deploy');

async function claims(): Promise<Array<Record<string, unknown>>> {
  const res = await documentClient(rack.aws.dynamodb).send(
    new QueryCommand({ TableName: rack.resources.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': IDEMPOTENCY_PK } }),
  );
  return res.Items ?? [];
}

const tarball = (version: string) =>
  buildTarball([
    { name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' },
    { name: 'index.html', body: version },
    { name: 'rackless.yml', body: 'services:\n  web:\n    build: .\n    port: 80\n' },
  ]);

describe('Notify, run twice for one outcome', () => {
  it.each(Object.keys(FAULTS))('publishes one message when %s is throttled on the first attempt', async (fault) => {
    const app = `once-${Object.keys(FAULTS).indexOf(fault)}`;
    const state = failedAtPrepare(app);
    rack.faults.arm(throttleFirst(4, FAULTS[fault]!));
    await expect(rack.functions.invoke('notify', state)).rejects.toMatchObject({ name: 'TransientError' });
    rack.faults.disarm();
    expect(rack.faults.injected).toHaveLength(4);
    // the retry Step Functions would make
    await expect(rack.functions.invoke('notify', state)).resolves.toMatchObject({ outcome: { status: 'failed', code: 'TARBALL_NOT_GZIP' } });
    const notes = ofApp(await rack.notifications(), app);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.attributes).toMatchObject({ kind: 'deploy', status: 'failed', app });
    expect(notes[0]!.message).toContain('TARBALL_NOT_GZIP');
    // the CLI's copy of the outcome is written once, in the words that were sent
    const events = await deployEvents(app);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ status: 'failed', notification: { subject: notes[0]!.subject, message: notes[0]!.message } });
    expect(events[0]).not.toHaveProperty('delivery');
  });

  it('publishes one message when the claim could not be completed after the Publish, and does not fail the step', async () => {
    const app = 'once-unrecorded';
    const state = failedAtPrepare(app);
    rack.faults.arm(throttleFirst(4, (name, input) => name === 'DynamoDBClient.UpdateItemCommand' && mentions(input, IDEMPOTENCY_PK)));
    // sent; the claim stays in progress: the deploy's outcome stands
    await expect(rack.functions.invoke('notify', state)).resolves.toMatchObject({ outcome: { status: 'failed' } });
    rack.faults.disarm();
    expect(rack.faults.injected).toHaveLength(4);
    // a retry finds the claim of an attempt that ended after claiming: it may have sent, so it does not send again
    await expect(rack.functions.invoke('notify', state)).resolves.toMatchObject({ outcome: { status: 'failed' } });
    expect(ofApp(await rack.notifications(), app)).toHaveLength(1);
    expect((await deployEvents(app)).map((e) => e.delivery ?? 'published').sort()).toEqual(['published', 'unconfirmed']);
  });

  it('does not fail the step, nor change its outcome, when the topic refuses the message', async () => {
    const app = 'once-refused';
    rack.faults.arm({
      match: (name) => name === 'SNSClient.PublishCommand',
      times: 'always',
      error: () =>
        Object.assign(new Error('User is not authorized to perform: SNS:Publish'), { name: 'AuthorizationErrorException', $fault: 'client', $metadata: { httpStatusCode: 403 } }),
    });
    await expect(rack.functions.invoke('notify', failedAtPrepare(app))).resolves.toMatchObject({ outcome: { status: 'failed', code: 'TARBALL_NOT_GZIP' } });
    rack.faults.disarm();
    expect(ofApp(await rack.notifications(), app)).toEqual([]);
    const [event] = await deployEvents(app);
    expect(event).toMatchObject({ status: 'failed', delivery: 'failed', notification: { subject: expect.stringContaining(app) } });
    // nothing was sent, so nothing is claimed: a later run of the step may still send it
    await rack.functions.invoke('notify', failedAtPrepare(app));
    expect(ofApp(await rack.notifications(), app)).toHaveLength(1);
  });
});

describe('Notify in a deploy', () => {
  it('sends one message when its first attempt fails with a throttled write after publishing', async () => {
    const earlier = rack.functions.invocationsOf('notify').length;
    rack.faults.arm(throttleFirst(4, FAULTS['the event write after the Publish']!));
    const run = await rack.deploy('retried', await tarball('v1'));
    rack.faults.disarm();
    expect(run.status).toBe('SUCCEEDED');
    // the first attempt failed after its Publish and Step Functions retried it
    const attempts = rack.functions.invocationsOf('notify').slice(earlier);
    expect(attempts.map((i) => i.error?.name ?? 'ok')).toEqual(['TransientError', 'ok']);
    expect(rack.calls.named('Publish')).toHaveLength(1);
    const notes = ofApp(await rack.notifications(), 'retried');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.attributes).toMatchObject({ status: 'succeeded' });
    expect(await deployEvents('retried')).toHaveLength(1);
  });

  it('sends one message when its runtime dies after it returned everything (Lambda.Unknown) and it runs again', async () => {
    let crashed = false;
    const restore = rack.functions.intercept('notify', async (run) => {
      const result = await run();
      if (crashed) return result;
      crashed = true;
      throw Object.assign(new Error('the function exited before returning'), { name: 'Lambda.Unknown' });
    });
    try {
      const run = await rack.deploy('crashed', await tarball('v1'));
      expect(run.status).toBe('SUCCEEDED');
      expect(run.transitions).toBe(run.statesEntered.length + 1);
    } finally {
      restore();
    }
    expect(ofApp(await rack.notifications(), 'crashed')).toHaveLength(1);
  });

  it('sends one message per outcome: two deploys of one app are two messages', async () => {
    const before = new Set((await claims()).map((c) => c.sk));
    const first = await rack.deploy('twice', await tarball('v1'));
    const second = await rack.deploy('twice', await tarball('v2'), 'b.tar.gz');
    expect([first.status, second.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const notes = ofApp(await rack.notifications(), 'twice');
    expect(notes.map((n) => n.attributes.status)).toEqual(['succeeded', 'succeeded']);
    expect(new Set(notes.map((n) => n.attributes.release)).size).toBe(2);
    // one completed claim per outcome, holding what was sent
    const added = (await claims()).filter((c) => !before.has(c.sk));
    expect(added).toHaveLength(2);
    expect(added.map((c) => c.status)).toEqual(['COMPLETED', 'COMPLETED']);
    expect(added.map((c) => (c.data as { subject: string }).subject).sort()).toEqual(notes.map((n) => n.subject).sort());
  });
});
