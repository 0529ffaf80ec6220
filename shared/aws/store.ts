import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DeployOrder, ReleaseRef, SourceObject } from '../deploy/state.js';
import type { Manifest } from '../manifest/types.js';

/**
 * The rack's single DynamoDB table (pk, sk; TTL on `expiresAt`). Item kinds, by key:
 *   APP#<app> / APP                  app: current release, release counter, config, last source
 *   APP#<app> / RELEASE#<id>         one release (id sorts by time)
 *   APP#<app> / EXEC#<execution>     the release an execution allocated (idempotent retries)
 *   APP#<app> / LOCK                 the execution deploying the app now
 *   APP#<app> / QUEUE#<execution>    a deploy waiting for the lock
 *   APP#<app> / EVENT#<time>#<id>    per-app event history (TTL)
 *   WATCH#<execution> / WATCH        a rollout being watched: task token, deployments
 *   DEPLOYMENT#<id> / OUTCOME|WATCH  ECS deployment outcome as it arrived; which watch follows it
 *   TASKDEF#<arn> / STOPS|WATCH      unexpected task stops of a task definition; which watch follows it
 *   SEEN#<key> / SEEN                dedupe of at-least-once events (TTL)
 */
export type Doc = DynamoDBDocumentClient;

export function documentClient(client: DynamoDBClient): Doc {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
}

export type ReleaseStatus = 'pending' | 'promoting' | 'active' | 'failed' | 'superseded';

export interface ReleaseRecord extends ReleaseRef {
  app: string;
  status: ReleaseStatus;
  createdAt: string;
  execution: string;
  trigger: string;
  manifest: Manifest;
  source?: SourceObject;
  previousReleaseId?: string;
  /** redeploys point at the release whose build and task definitions they reuse */
  basedOn?: string;
  failure?: string;
  stripComponents?: 0 | 1;
}

export interface AppRecord {
  app: string;
  currentRelease?: string;
  releaseCounter?: number;
  config?: Record<string, string>;
  lastSource?: SourceObject;
  lastStripComponents?: 0 | 1;
  baseImages?: string[];
  createdAt?: string;
  updatedAt?: string;
}

export interface QueueItem {
  execution: string;
  token: string;
  order: DeployOrder;
  status: 'waiting' | 'running' | 'superseded' | 'done';
  key?: string;
  /** epoch ms, for the time a deploy waited in the queue */
  enqueuedAt?: number;
}

export interface LockItem {
  holder: string;
  order: DeployOrder;
  expiresAt: number;
  key?: string;
}

const appKey = (app: string) => `APP#${app}`;
export const DAY_SECONDS = 86_400;
export const epochSeconds = (ms = Date.now()) => Math.floor(ms / 1000);

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException';
}

export class Store {
  constructor(
    readonly doc: Doc,
    readonly table: string,
  ) {}

  /** Sends a conditional write; false when its condition did not hold (another writer got there first). */
  async conditional(command: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.doc.send(command as PutCommand);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  // ---- apps ----
  async getApp(app: string): Promise<AppRecord | undefined> {
    const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: appKey(app), sk: 'APP' }, ConsistentRead: true }));
    return res.Item as AppRecord | undefined;
  }

  async listApps(): Promise<AppRecord[]> {
    const apps: AppRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(
        new ScanCommand({ TableName: this.table, FilterExpression: 'sk = :app', ExpressionAttributeValues: { ':app': 'APP' }, ExclusiveStartKey: start }),
      );
      apps.push(...((res.Items ?? []) as AppRecord[]));
      start = res.LastEvaluatedKey;
    } while (start);
    return apps.sort((a, b) => a.app.localeCompare(b.app));
  }

  async setAppConfig(app: string, config: Record<string, string>): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: 'APP' },
        UpdateExpression: 'SET #config = :config, app = :app, updatedAt = :now',
        ExpressionAttributeNames: { '#config': 'config' },
        ExpressionAttributeValues: { ':config': config, ':app': app, ':now': new Date().toISOString() },
      }),
    );
  }

  async rememberSource(app: string, source: SourceObject, stripComponents: 0 | 1, baseImages: string[]): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: 'APP' },
        UpdateExpression: 'SET lastSource = :source, lastStripComponents = :strip, baseImages = :base, app = :app, updatedAt = :now, createdAt = if_not_exists(createdAt, :now)',
        ExpressionAttributeValues: { ':source': source, ':strip': stripComponents, ':base': baseImages, ':app': app, ':now': new Date().toISOString() },
      }),
    );
  }

  // ---- releases ----
  /**
   * Allocates the next release number for an execution. Idempotent per execution (a retried step
   * gets the same number); the counter is an atomic ADD, so concurrent writers never share a number.
   */
  async allocateRelease(app: string, execution: string, newId: () => string): Promise<{ id: string; number: number }> {
    const pointerKey = { pk: appKey(app), sk: `EXEC#${execution}` };
    const existing = await this.doc.send(new GetCommand({ TableName: this.table, Key: pointerKey, ConsistentRead: true }));
    if (existing.Item) return { id: existing.Item.releaseId as string, number: existing.Item.number as number };
    const counter = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: 'APP' },
        UpdateExpression: 'ADD releaseCounter :one SET app = :app, createdAt = if_not_exists(createdAt, :now)',
        ExpressionAttributeValues: { ':one': 1, ':app': app, ':now': new Date().toISOString() },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const allocated = { id: newId(), number: Number(counter.Attributes?.releaseCounter) };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...pointerKey, releaseId: allocated.id, number: allocated.number, expiresAt: epochSeconds() + 30 * DAY_SECONDS },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return allocated;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // a concurrent retry won: its number stands, ours is skipped (never reused)
      const winner = await this.doc.send(new GetCommand({ TableName: this.table, Key: pointerKey, ConsistentRead: true }));
      return { id: winner.Item!.releaseId as string, number: winner.Item!.number as number };
    }
  }

  async putRelease(release: ReleaseRecord): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: appKey(release.app), sk: `RELEASE#${release.id}`, ...release } }));
  }

  async getRelease(app: string, id: string): Promise<ReleaseRecord | undefined> {
    const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: appKey(app), sk: `RELEASE#${id}` }, ConsistentRead: true }));
    return res.Item ? stripKeys(res.Item as ReleaseRecord) : undefined;
  }

  /** The items of one app whose sort key starts with a prefix (one page). */
  private async appItems(app: string, prefix: string, options: { newestFirst?: boolean; limit?: number; consistent?: boolean }): Promise<Array<Record<string, unknown>>> {
    const res = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': appKey(app), ':prefix': prefix },
        ...(options.newestFirst ? { ScanIndexForward: false } : {}),
        ...(options.limit ? { Limit: options.limit } : {}),
        ...(options.consistent ? { ConsistentRead: true } : {}),
      }),
    );
    return res.Items ?? [];
  }

  async listReleases(app: string, limit = 50): Promise<ReleaseRecord[]> {
    const items = await this.appItems(app, 'RELEASE#', { newestFirst: true, limit });
    return items.map((item) => stripKeys(item as unknown as ReleaseRecord));
  }

  async setReleaseStatus(app: string, id: string, status: ReleaseStatus, failure?: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: `RELEASE#${id}` },
        UpdateExpression: failure ? 'SET #status = :status, failure = :failure' : 'SET #status = :status',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: failure ? { ':status': status, ':failure': failure } : { ':status': status },
      }),
    );
  }

  /** Makes a release current; the previous current one stays in history for rollback. */
  async activateRelease(app: string, id: string): Promise<void> {
    await this.setReleaseStatus(app, id, 'active');
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: 'APP' },
        UpdateExpression: 'SET currentRelease = :id, updatedAt = :now',
        ExpressionAttributeValues: { ':id': id, ':now': new Date().toISOString() },
      }),
    );
  }

  async currentRelease(app: string): Promise<ReleaseRecord | undefined> {
    const record = await this.getApp(app);
    return record?.currentRelease ? this.getRelease(app, record.currentRelease) : undefined;
  }

  // ---- events ----
  async recordEvent(app: string, id: string, event: Record<string, unknown>, ttlDays = 30): Promise<void> {
    const time = new Date().toISOString();
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: appKey(app), sk: `EVENT#${time}#${id}`, time, ...event, expiresAt: epochSeconds() + ttlDays * DAY_SECONDS },
      }),
    );
  }

  async listEvents(app: string, limit = 50): Promise<Array<Record<string, unknown>>> {
    return this.appItems(app, 'EVENT#', { newestFirst: true, limit });
  }

  /** True the first time a key is seen within its TTL: dedupe for at-least-once deliveries. */
  async firstSighting(key: string, ttlSeconds = 2 * DAY_SECONDS): Promise<boolean> {
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `SEEN#${key}`, sk: 'SEEN', expiresAt: epochSeconds() + ttlSeconds },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  // ---- queue and lock ----
  async putQueueItem(app: string, item: QueueItem): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: appKey(app), sk: `QUEUE#${item.execution}`, ...item, expiresAt: epochSeconds() + 7 * DAY_SECONDS } }));
  }

  async listQueue(app: string): Promise<QueueItem[]> {
    return (await this.appItems(app, 'QUEUE#', { consistent: true })) as unknown as QueueItem[];
  }

  /** Moves a queue item from one status to another; false when someone else moved it first. */
  async transitionQueueItem(app: string, execution: string, from: QueueItem['status'], to: QueueItem['status']): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: `QUEUE#${execution}` },
        UpdateExpression: 'SET #status = :to',
        ConditionExpression: '#status = :from',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':to': to, ':from': from },
      }),
    );
  }

  async getLock(app: string): Promise<LockItem | undefined> {
    const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: appKey(app), sk: 'LOCK' }, ConsistentRead: true }));
    return res.Item as LockItem | undefined;
  }

  /** Takes the app's deploy lock if it is free, expired, or already ours. */
  async acquireLock(app: string, lock: LockItem): Promise<boolean> {
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: { pk: appKey(app), sk: 'LOCK', ...lock },
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR holder = :holder',
        ExpressionAttributeValues: { ':now': epochSeconds(), ':holder': lock.holder },
      }),
    );
  }

  async releaseLock(app: string, holder: string): Promise<boolean> {
    return this.conditional(
      new DeleteCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: 'LOCK' },
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: { ':holder': holder },
      }),
    );
  }
}

function stripKeys<T extends object>(item: T): T {
  const { pk: _pk, sk: _sk, ...rest } = item as T & { pk?: string; sk?: string };
  return rest as T;
}

export { isConditionFailure };

export interface BuildRecord {
  id: string;
  app: string;
  status: 'planned' | 'succeeded' | 'failed' | 'skipped';
  execution: string;
  services: string[];
  images: Record<string, string>;
  source?: SourceObject;
  codebuildId?: string;
  logs?: string;
  createdAt: string;
}

export async function putBuild(store: Store, build: BuildRecord): Promise<void> {
  await store.doc.send(new PutCommand({ TableName: store.table, Item: { pk: appKey(build.app), sk: `BUILD#${build.id}`, ...build } }));
}

export async function updateBuild(store: Store, app: string, id: string, fields: Partial<BuildRecord>): Promise<void> {
  const names = Object.keys(fields);
  if (names.length === 0) return;
  await store.doc.send(
    new UpdateCommand({
      TableName: store.table,
      Key: { pk: appKey(app), sk: `BUILD#${id}` },
      UpdateExpression: `SET ${names.map((_n, i) => `#f${i} = :v${i}`).join(', ')}`,
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#f${i}`, n])),
      ExpressionAttributeValues: Object.fromEntries(names.map((n, i) => [`:v${i}`, fields[n as keyof BuildRecord]])),
    }),
  );
}
