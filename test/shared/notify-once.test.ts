import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { MemoryIdempotency } from '../../shared/aws/idempotency.js';
import { MemoryStore } from '../../shared/aws/memory-store.js';
import type { Store } from '../../shared/aws/store.js';
import { type NotifyDeps, notify, outcomeKey, outcomeOf } from '../../shared/deploy/notify.js';
import type { DeployState } from '../../shared/deploy/state.js';
import type { Rack } from '../../shared/rack.js';

/**
 * Notify on the in-memory twins (MemoryStore, MemoryIdempotency) and a mocked SNS client: the
 * same guarantees as test/deploy/notify-once.test.ts on the local rack, without moto.
 */
const NOW = Date.parse('2026-03-02T14:10:00Z');
const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });

const state = (app: string, overrides: Partial<DeployState> = {}): DeployState => ({
  app,
  trigger: 'upload',
  order: { time: '2026-03-02T14:00:00Z' },
  execution: `${app}-0123456789abcdef`,
  startedAt: '2026-03-02T14:00:00Z',
  timings: [{ step: 'Prepare', startedAt: '2026-03-02T14:00:01.000Z', durationMs: 120 }],
  failedStep: 'Prepare',
  failure: { Error: 'TarballRejected', Cause: JSON.stringify({ errorType: 'TarballRejected', errorMessage: 'TARBALL_NOT_GZIP: not a gzip stream' }) },
  ...overrides,
});

/** A store whose next `count` calls of `method` fail as a throttled write does once the SDK gave up. */
function failing(store: Store, method: keyof Store, count: number): Store {
  let left = count;
  return new Proxy(store, {
    get: (target, property, receiver) => {
      const value = Reflect.get(target, property, receiver);
      if (property !== method || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        if (left-- > 0) throw throttled();
        return value.apply(target, args);
      };
    },
  });
}

function setup(options: { store?: (store: Store) => Store } = {}) {
  const sns = new SNSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const snsMock = mockClient(sns);
  snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  const memory = new MemoryStore(() => NOW);
  const deps: NotifyDeps = {
    sns,
    logs: new CloudWatchLogsClient({ region: 'us-east-1' }),
    store: options.store ? options.store(memory) : memory,
    sender: { succeed: async () => {}, fail: async () => {} },
    rack: { name: 'rackless-test', region: 'us-east-1', logGroupPrefix: '/rackless/rackless-test' } as Rack,
    topicArn: 'arn:aws:sns:us-east-1:123456789012:rackless-test-notifications',
    idempotency: new MemoryIdempotency(),
    now: () => NOW,
  };
  return { deps, snsMock, memory };
}

describe('notify on the memory twins', () => {
  it('a retry after the event write failed replays the message: one Publish', async () => {
    const { deps, snsMock, memory } = setup({ store: (store) => failing(store, 'recordEvent', 1) });
    await expect(notify(state('shop'), deps)).rejects.toMatchObject({ name: 'ThrottlingException' });
    await notify(state('shop'), deps);
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(1);
    const events = await memory.listEvents('shop');
    expect(events).toHaveLength(1);
    // the event holds the words that were sent, though its attempt rendered none
    expect(events[0]).toMatchObject({ notification: { subject: expect.stringContaining('shop') } });
  });

  it('a retry after a throttled Publish sends it: one message out of two calls', async () => {
    const { deps, snsMock } = setup();
    snsMock.on(PublishCommand).rejectsOnce(throttled()).resolves({ MessageId: 'm-2' });
    await expect(notify(state('shop'), deps)).rejects.toMatchObject({ name: 'ThrottlingException' });
    await notify(state('shop'), deps);
    const calls = snsMock.commandCalls(PublishCommand);
    expect(calls).toHaveLength(2);
    expect(await calls[1]!.returnValue).toMatchObject({ MessageId: 'm-2' });
  });

  it('the timings differ on a retry (the Watch is measured to now): still the same outcome, one message', async () => {
    const { deps, snsMock } = setup({ store: (store) => failing(store, 'recordEvent', 1) });
    const first = state('shop', { timings: [{ step: 'Promote', startedAt: '2026-03-02T14:00:01.000Z', durationMs: 100 }] });
    await expect(notify(first, deps)).rejects.toThrow();
    await notify(first, { ...deps, now: () => NOW + 60_000 });
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('two outcomes are two messages: another execution, or another status', async () => {
    const { deps, snsMock } = setup();
    await notify(state('shop'), deps);
    await notify(state('shop', { execution: 'shop-fedcba9876543210' }), deps);
    await notify(state('shop', { failure: undefined, failedStep: undefined }), deps);
    await notify(state('shop'), deps);
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(3);
  });

  it('a message the topic refuses does not change the outcome, nor fail the step', async () => {
    const { deps, snsMock, memory } = setup();
    snsMock.on(PublishCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AuthorizationErrorException', $metadata: { httpStatusCode: 403 } }));
    const succeeded = state('shop', { failure: undefined, failedStep: undefined });
    expect((await notify(succeeded, deps)).outcome).toEqual(outcomeOf(succeeded));
    expect((await memory.listEvents('shop'))[0]).toMatchObject({ status: 'succeeded', delivery: 'failed' });
  });

  it('keys an outcome by app, execution and status only', () => {
    expect(outcomeKey(state('shop'), outcomeOf(state('shop')))).toEqual({ app: 'shop', execution: 'shop-0123456789abcdef', status: 'failed' });
  });
});
