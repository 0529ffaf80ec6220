import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { documentClient } from '../../shared/aws/dynamo-store.js';
import { dynamoIdempotency, IDEMPOTENCY_PK, type IdempotencyStore, MemoryIdempotency, once } from '../../shared/aws/idempotency.js';
import { localRack } from '../support/local-rack.js';

/**
 * One contract, two persistence layers: Powertools' DynamoDB layer on a rack's table in moto, and
 * the in-memory twin (shared/aws/idempotency.ts). Every answer must be the same.
 */
let dynamo: { client: DynamoDBClient; table: string };

beforeAll(async () => {
  const rack = await localRack();
  dynamo = { client: rack.aws.dynamodb, table: rack.resources.table };
});
afterEach(() => {
  vi.useRealTimers();
});

const subjects: Record<string, () => IdempotencyStore> = {
  memory: () => new MemoryIdempotency(),
  dynamodb: () => dynamoIdempotency(dynamo.client, dynamo.table),
};

let sequence = 0;
/** Keys no other test in the run uses: the DynamoDB subject shares one table. */
const unique = () => ({ app: `app${++sequence}x${Math.random().toString(36).slice(2, 8)}`, execution: 'exec-1', status: 'succeeded' });

/** An action that counts its runs and returns what it is given. */
function action<R>(result: R) {
  const calls = { count: 0 };
  return Object.assign(
    async () => {
      calls.count++;
      return result;
    },
    { calls },
  );
}

describe.each(Object.keys(subjects))('idempotency contract: %s', (kind) => {
  const make = (ttlSeconds = 3600) => once<ReturnType<typeof unique>, { subject: string; nested: { lines: string[] } }>(subjects[kind]!(), { name: 'test-action', ttlSeconds });

  it('runs an action once per key and replays its result, to the field, after that', async () => {
    const run = make();
    const key = unique();
    const publish = action({ subject: 'deployed', nested: { lines: ['a', 'b'] } });
    expect(await run(key, publish)).toEqual({ status: 'ran', result: { subject: 'deployed', nested: { lines: ['a', 'b'] } } });
    expect(await run(key, publish)).toEqual({ status: 'replayed', result: { subject: 'deployed', nested: { lines: ['a', 'b'] } } });
    // the key, not the payload: an equal key with its fields in another order is the same key
    expect(await run({ status: key.status, execution: key.execution, app: key.app }, publish)).toMatchObject({ status: 'replayed' });
    expect(publish.calls.count).toBe(1);
  });

  it('runs again for a key that differs in any field', async () => {
    const run = make();
    const key = unique();
    const publish = action({ subject: 's', nested: { lines: [] } });
    await run(key, publish);
    await run({ ...key, status: 'failed' }, publish);
    await run({ ...key, execution: 'exec-2' }, publish);
    expect(publish.calls.count).toBe(3);
  });

  it('deletes the claim of an action that threw, so a retry runs it again', async () => {
    const run = make();
    const key = unique();
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    await expect(
      run(key, async () => {
        throw throttled;
      }),
    ).rejects.toBe(throttled);
    const publish = action({ subject: 'second', nested: { lines: [] } });
    expect(await run(key, publish)).toMatchObject({ status: 'ran', result: { subject: 'second' } });
    expect(publish.calls.count).toBe(1);
  });

  it('answers claimed, without running, while another run holds the key; the holder completes it', async () => {
    const run = make();
    const key = unique();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const holding = new Promise<void>((resolve) => {
      started = resolve;
    });
    const first = run(key, async () => {
      started();
      await held;
      return { subject: 'first', nested: { lines: [] } };
    });
    await holding;
    const second = action({ subject: 'second', nested: { lines: [] } });
    expect(await run(key, second)).toEqual({ status: 'claimed' });
    release();
    expect(await first).toMatchObject({ status: 'ran', result: { subject: 'first' } });
    expect(await run(key, second)).toMatchObject({ status: 'replayed', result: { subject: 'first' } });
    expect(second.calls.count).toBe(0);
  });

  it('runs again once the record expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2026-03-02T14:00:00Z'));
    const run = make(60);
    const key = unique();
    const publish = action({ subject: 's', nested: { lines: [] } });
    await run(key, publish);
    vi.setSystemTime(Date.parse('2026-03-02T14:00:30Z'));
    expect(await run(key, publish)).toMatchObject({ status: 'replayed' });
    vi.setSystemTime(Date.parse('2026-03-02T14:01:01Z'));
    expect(await run(key, publish)).toMatchObject({ status: 'ran' });
    expect(publish.calls.count).toBe(2);
  });
});

describe('the DynamoDB layer on the rack table', () => {
  it('keeps its records under the table keys, with the table TTL attribute in epoch seconds', async () => {
    const store = dynamoIdempotency(dynamo.client, dynamo.table);
    const key = unique();
    await once(store, { name: 'test-action', ttlSeconds: 3600 })(key, async () => ({ subject: 's' }));
    // the sort key is the name and the hash of the key, as Powertools derives it
    const hashed = (store as unknown as { getHashedIdempotencyKey(data: unknown): string }).getHashedIdempotencyKey(key);
    expect(hashed).toMatch(/^test-action#/);
    const { Item } = await documentClient(dynamo.client).send(new GetCommand({ TableName: dynamo.table, Key: { pk: IDEMPOTENCY_PK, sk: hashed } }));
    expect(Item).toMatchObject({ pk: IDEMPOTENCY_PK, sk: hashed, status: 'COMPLETED', data: { subject: 's' } });
    expect(Item!.expiresAt).toBeGreaterThan(Date.now() / 1000 + 3500);
    expect(Item!.expiresAt).toBeLessThan(Date.now() / 1000 + 3700);
  });
});
