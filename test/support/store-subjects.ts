import { beforeAll } from 'vitest';
import { DynamoStore, documentClient } from '../../shared/aws/dynamo-store.js';
import { MemoryStore } from '../../shared/aws/memory-store.js';
import type { Store } from '../../shared/aws/store.js';
import { localRack } from './local-rack.js';

/** A clock a test moves by hand. */
export class TestClock {
  ms = Date.parse('2026-03-02T14:00:00Z');
  now = () => this.ms;
}

export type StoreSubject = { store: Store; clock: TestClock };

/**
 * The two stores a contract runs against: the DynamoDB table of a rack on moto (started in the
 * file's beforeAll) and the in-memory twin. Every answer must be the same, to the field.
 */
export function storeSubjects(): Record<string, () => StoreSubject> {
  let dynamo: { doc: ReturnType<typeof documentClient>; table: string };
  beforeAll(async () => {
    const rack = await localRack();
    dynamo = { doc: documentClient(rack.aws.dynamodb), table: rack.resources.table };
  });
  return {
    memory: () => {
      const clock = new TestClock();
      return { store: new MemoryStore(clock.now), clock };
    },
    dynamodb: () => {
      const clock = new TestClock();
      return { store: new DynamoStore(dynamo.doc, dynamo.table, clock.now), clock };
    },
  };
}

let sequence = 0;
/** Names no other test in the run uses: the DynamoDB subject shares one table. */
export const unique = (prefix: string) => `${prefix}${++sequence}x${Math.random().toString(36).slice(2, 8)}`;
