import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { BasePersistenceLayer, IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { isTransient, TransientError } from '../errors.js';

/**
 * At most one run of an action with an effect outside the table (an SNS message) per key, however
 * often the step that runs it is retried: Powertools' idempotency utility, which writes a record
 * before the action runs (INPROGRESS), completes it with the action's result after (COMPLETED) and
 * deletes it when the action failed, so a retry either replays the result or runs the action again.
 * https://docs.aws.amazon.com/powertools/typescript/latest/features/idempotency/ (the persistence
 * layer needs dynamodb:GetItem, PutItem, UpdateItem and DeleteItem on the table: #iam-permissions).
 *
 * The records live in the rack's table, one partition for all of them (a handful per deploy):
 *   IDEMPOTENCY / <name>#<hash of the key>   status, data (the action's result), expiresAt (TTL),
 *                                           in_progress_expiration
 */
export type IdempotencyStore = BasePersistenceLayer;

export const IDEMPOTENCY_PK = 'IDEMPOTENCY';

/** The rack's table as the idempotency utility's persistence layer, through the function's own client. */
export function dynamoIdempotency(client: DynamoDBClient, table: string): IdempotencyStore {
  return new DynamoDBPersistenceLayer({
    tableName: table,
    awsSdkV3Client: client,
    keyAttr: 'pk',
    sortKeyAttr: 'sk',
    staticPkValue: IDEMPOTENCY_PK,
    expiryAttr: 'expiresAt',
  });
}

interface StoredRecord {
  status: ReturnType<IdempotencyRecord['getStatus']>;
  expiryTimestamp?: number;
  inProgressExpiryTimestamp?: number;
  responseData?: IdempotencyRecord['responseData'];
  payloadHash?: string;
}

/**
 * The persistence layer in memory, with the DynamoDB layer's semantics: a record is claimed (put)
 * only when there is none, it expired, or it is an in-progress claim whose own expiry passed; the
 * completion is an unconditional update; reads return copies. Tests that run on the MemoryStore
 * use it; test/shared/idempotency.contract.test.ts holds it to the DynamoDB layer's answers.
 */
export class MemoryIdempotency extends BasePersistenceLayer {
  private readonly records = new Map<string, StoredRecord>();

  private recordOf(idempotencyKey: string, stored: StoredRecord): IdempotencyRecord {
    return new IdempotencyRecord({ idempotencyKey, ...structuredClone(stored) });
  }

  protected async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const stored = this.records.get(idempotencyKey);
    if (!stored) throw new IdempotencyItemNotFoundError();
    return this.recordOf(idempotencyKey, stored);
  }

  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    const now = Date.now();
    const existing = this.records.get(record.idempotencyKey);
    const free =
      !existing ||
      (existing.expiryTimestamp !== undefined && existing.expiryTimestamp < now / 1000) ||
      (existing.status === 'INPROGRESS' && existing.inProgressExpiryTimestamp !== undefined && existing.inProgressExpiryTimestamp < now);
    if (!free) {
      throw new IdempotencyItemAlreadyExistsError(
        `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
        this.recordOf(record.idempotencyKey, existing),
      );
    }
    this.records.set(record.idempotencyKey, {
      status: record.getStatus(),
      ...(record.expiryTimestamp !== undefined ? { expiryTimestamp: record.expiryTimestamp } : {}),
      ...(record.inProgressExpiryTimestamp !== undefined ? { inProgressExpiryTimestamp: record.inProgressExpiryTimestamp } : {}),
    });
  }

  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    const existing = this.records.get(record.idempotencyKey);
    this.records.set(record.idempotencyKey, {
      ...existing,
      status: record.getStatus(),
      ...(record.expiryTimestamp !== undefined ? { expiryTimestamp: record.expiryTimestamp } : {}),
      ...(record.responseData !== undefined ? { responseData: structuredClone(record.responseData) } : {}),
    });
  }

  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.records.delete(record.idempotencyKey);
  }
}

/** A JSON value a record can keep as the action's result. */
export type Recordable = { [key: string]: string | number | boolean | Recordable | Recordable[] | string[] };

export type OnceOutcome<R> =
  /** the action ran now; `unrecorded`: its completion could not be written (the record stays in progress) */
  | { status: 'ran'; result: R; unrecorded?: unknown }
  /** an earlier run completed: its result */
  | { status: 'replayed'; result: R }
  /**
   * an earlier run claimed the key and never completed it: it ended (crashed, timed out, or could
   * not write its completion) after claiming, so the action may or may not have happened
   */
  | { status: 'claimed' };

/**
 * `run` once per key. The key is all that identifies the action: pass the fields that make it this
 * action (a deploy's app, execution and outcome), not the payload it carries.
 *
 * An in-progress claim is never taken over before the record expires. Powertools times a claim
 * by the Lambda's remaining time, so that a run killed by its timeout frees the key; but a step's
 * attempts run one after another, so a claim found by an attempt is always one a finished attempt
 * left behind, possibly after the action happened. Taking it over could repeat the action: the
 * claim is given the record's lifetime instead, and the caller decides (status 'claimed').
 *
 * Errors: the action's own error, as it threw it (its claim deleted first); a failure of the
 * record's table as TransientError when a retry can cure it, else as the persistence layer raised it.
 */
export function once<K extends Recordable, R extends Recordable>(
  store: IdempotencyStore,
  options: { name: string; ttlSeconds: number },
): (key: K, run: () => Promise<R>) => Promise<OnceOutcome<R>> {
  const config = new IdempotencyConfig({ expiresAfterSeconds: options.ttlSeconds, throwOnNoIdempotencyKey: true });
  config.registerLambdaContext({ getRemainingTimeInMillis: () => options.ttlSeconds * 1000 } as Context);
  const idempotent = makeIdempotent(async (_key: K, run: () => Promise<R>) => run(), { persistenceStore: store, config, keyPrefix: options.name, dataIndexArgument: 0 });
  return async (key, run) => {
    let ran: { result: R } | undefined;
    try {
      const result = (await idempotent(key, async () => {
        const result = await run();
        ran = { result };
        return result;
      })) as R;
      return ran ? { status: 'ran', result } : { status: 'replayed', result };
    } catch (error) {
      if (ran) return { status: 'ran', result: ran.result, unrecorded: error };
      if (error instanceof IdempotencyAlreadyInProgressError) return { status: 'claimed' };
      throw tableError(error);
    }
  };
}

/** The persistence layer wraps the SDK's error in its own: a throttled claim is retried as any throttled call is. */
function tableError(error: unknown): unknown {
  const cause = (error as Error)?.name === 'IdempotencyPersistenceLayerError' ? (error as Error).cause : undefined;
  if (cause === undefined || !isTransient(cause)) return error;
  return new TransientError('AWS_TRANSIENT', `${(error as Error).message}: ${(cause as Error).name}: ${(cause as Error).message}`, {}, { cause: error });
}
