import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  paginateScan,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ServiceAlarmState } from '../alarms/decision.js';
import type { SourceObject } from '../deploy/state.js';
import type { UndoRecord } from '../deploy/undo.js';
import type { DomainClaim, DomainRegistry } from '../domains.js';
import { NotFound } from '../errors.js';
import type { Observation, StopSummary, Verdict, WatchedDeployment } from '../rollout/verdict.js';
import {
  ALARM_TTL_SECONDS,
  type AlarmCount,
  type AppItemScope,
  type AlarmRaise,
  type AlarmRecover,
  type AppRecord,
  type BuildRecord,
  DAY_SECONDS,
  type DeploymentFacts,
  epochSeconds,
  type LockItem,
  type NewWatch,
  type QueueItem,
  type RecordedFacts,
  type ReleaseRecord,
  type ReleaseStatus,
  type Store,
  WATCH_TTL_SECONDS,
  type WatchHeader,
  type WatchLink,
  type WatchRecord,
} from './store.js';

/**
 * The rack's single DynamoDB table (pk, sk; TTL on `expiresAt`). Item kinds, by key:
 *   APP#<app> / APP                  app: current release, release counter, config, last source
 *   APP#<app> / RELEASE#<id>         one release (id sorts by time)
 *   APP#<app> / BUILD#<id>           one image build
 *   APP#<app> / EXEC#<execution>     the release an execution allocated (idempotent retries)
 *   APP#<app> / LOCK                 the execution deploying the app now (its lease in leaseUntil)
 *   APP#<app> / QUEUE#<execution>    a deploy in the app's queue (TTL 7 days: the ordering rule's memory)
 *   index `sweep` (sparse, keys only) LOCK items and waiting QUEUE items: what the queue sweep visits
 *   APP#<app> / EVENT#<time>#<id>    per-app event history (TTL)
 *   WATCH#<execution> / WATCH        a rollout being watched: token, status, verdict, `pending` (a number set:
 *                                    the indices of the deployments not yet completed)
 *   WATCH#<execution> / DEPLOYMENTS  the deployments it watches (read when it closes, never written again)
 *   DEPLOYMENT#<id> / WATCH          one deployment: its outcome, and the watch it is linked to (execution, index)
 *   TASKDEF#<arn> / WATCH            one task definition: its unexpectedly stopped tasks (a string set), the
 *                                    last one, and the watch it is linked to
 *                                    An event and the watch's registration each update the item and read
 *                                    it back in one call, so whichever comes second sees the other.
 *   ALARM#<service> / STATE          a service's alarm windows and episode (storm suppression)
 *   SEEN#<key> / SEEN                dedupe of at-least-once events (TTL)
 *   RACK / DOMAINS                   every app's claimed hosts, versioned (one item: a claim is one conditional write)
 */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
}

type Item = Record<string, unknown>;

const appKey = (app: string) => `APP#${app}`;
const watchKey = (execution: string) => ({ pk: `WATCH#${execution}`, sk: 'WATCH' });
const watchDeploymentsKey = (execution: string) => ({ pk: `WATCH#${execution}`, sk: 'DEPLOYMENTS' });
const deploymentKey = (deploymentId: string) => ({ pk: `DEPLOYMENT#${deploymentId}`, sk: 'WATCH' });
const taskDefinitionKey = (arn: string) => ({ pk: `TASKDEF#${arn}`, sk: 'WATCH' });
const alarmKey = (serviceName: string) => ({ pk: `ALARM#${serviceName}`, sk: 'STATE' });
const DOMAINS_KEY = { pk: 'RACK', sk: 'DOMAINS' };
/** The sparse index of held locks and waiting deploys (serverless.yml: Table, GlobalSecondaryIndexes). */
export const SWEEP_INDEX = 'sweep';
const SWEEP_KEY = 'QUEUE';
const CHANNELS = ['crash', 'warning'] as const;

/**
 * Pure: whether an item is one of the app's, by the key layout above. `scope.watches` are the
 * `WATCH#<execution>` keys of the app's watches (their headers name the app); deployment and task
 * definition items are the app's when they link to one of those, or name its deployments or families.
 */
export function isAppItem(item: Item, app: string, scope: { servicePrefix: string; deploymentIds: Set<string>; taskDefinitionArns: Set<string>; watches: Set<string> }): boolean {
  const pk = String(item.pk ?? '');
  const linked = typeof item.execution === 'string' && scope.watches.has(`WATCH#${item.execution}`);
  if (pk === appKey(app)) return true;
  if (pk.startsWith('WATCH#')) return scope.watches.has(pk);
  if (pk.startsWith('ALARM#')) return pk.startsWith(`ALARM#${scope.servicePrefix}`);
  // TASKDEF#arn:…:task-definition/<family>:<revision>
  if (pk.startsWith('TASKDEF#')) return linked || pk.includes(`:task-definition/${scope.servicePrefix}`) || scope.taskDefinitionArns.has(pk.slice('TASKDEF#'.length));
  if (pk.startsWith('DEPLOYMENT#')) return linked || scope.deploymentIds.has(pk.slice('DEPLOYMENT#'.length));
  return false;
}

export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException';
}

/** An item as the Store hands it out: without the table's keys and its TTL (a lock's expiresAt is its lease: kept). */
function stripKeys<T extends object>(item: T, keep: { expiresAt?: boolean } = {}): T {
  const { pk: _pk, sk: _sk, expiresAt, ...rest } = item as T & { pk?: string; sk?: string; expiresAt?: number };
  return (keep.expiresAt && expiresAt !== undefined ? { ...rest, expiresAt } : rest) as T;
}

/** A string set as DynamoDB stores it: never empty (DynamoDB refuses an empty set). */
const stringSet = (values: string[]) => new Set(values);

function setValues(value: unknown): string[] {
  if (value instanceof Set) return [...value].map(String).sort();
  return Array.isArray(value) ? value.map(String).sort() : [];
}

function headerOf(item: Item | undefined): WatchHeader | undefined {
  if (!item) return undefined;
  const { execution, app, releaseId, token, failFastStops, status, verdict } = item as unknown as WatchHeader;
  const pending = item.pending instanceof Set ? [...item.pending].map(Number).sort((a, b) => a - b) : [];
  return { execution, app, releaseId, token, failFastStops, status, ...(verdict ? { verdict } : {}), pending };
}

function linkOf(item: Item | undefined): WatchLink | undefined {
  if (!item?.execution) return undefined;
  return { execution: item.execution as string, index: Number(item.index), deployment: item.deployment as WatchedDeployment, failFastStops: Number(item.failFastStops) };
}

function outcomeFacts(item: Item | undefined): DeploymentFacts {
  return { ...(item?.observation ? { outcome: item.observation as Observation } : {}), stoppedTasks: [] };
}

function stopFacts(item: Item | undefined): DeploymentFacts {
  return { stoppedTasks: setValues(item?.tasks), ...(item?.last ? { lastStop: item.last as StopSummary } : {}) };
}

function recorded(item: Item | undefined, facts: (item: Item | undefined) => DeploymentFacts): RecordedFacts {
  const link = linkOf(item);
  return { ...(link ? { link } : {}), facts: facts(item) };
}

function alarmStateOf(item: Item | undefined): ServiceAlarmState | undefined {
  if (!item) return undefined;
  const state: ServiceAlarmState = { revision: Number(item.revision ?? 0), windows: {}, alarmed: item.alarmed === true, episodeStops: Number(item.episodeStops ?? 0) };
  for (const channel of CHANNELS) {
    const start = item[`${channel}Start`];
    if (typeof start === 'number') state.windows[channel] = { start, count: Number(item[`${channel}Count`] ?? 0) };
  }
  if (typeof item.alarmedAt === 'number') state.alarmedAt = item.alarmedAt;
  return state;
}

export class DynamoStore implements Store {
  constructor(
    readonly doc: DynamoDBDocumentClient,
    readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  private epoch(): number {
    return epochSeconds(this.now());
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  /** Sends a conditional write; false when its condition did not hold. */
  private async conditional(command: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.doc.send(command as PutCommand);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async get(key: { pk: string; sk: string }): Promise<Item | undefined> {
    const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
    return res.Item;
  }

  /** The items of one app whose sort key starts with a prefix: every page, or the first `limit`. */
  private async appItems(app: string, prefix: string, options: { newestFirst?: boolean; limit?: number; consistent?: boolean }): Promise<Item[]> {
    const input = {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': appKey(app), ':prefix': prefix },
      ...(options.newestFirst ? { ScanIndexForward: false } : {}),
      ...(options.consistent ? { ConsistentRead: true } : {}),
    };
    if (options.limit) {
      const res = await this.doc.send(new QueryCommand({ ...input, Limit: options.limit }));
      return res.Items ?? [];
    }
    const items: Item[] = [];
    for await (const page of paginateQuery({ client: this.doc }, input)) items.push(...(page.Items ?? []));
    return items;
  }

  // ---- apps ----
  async getApp(app: string): Promise<AppRecord | undefined> {
    const item = await this.get({ pk: appKey(app), sk: 'APP' });
    return item ? (stripKeys(item) as unknown as AppRecord) : undefined;
  }

  async listApps(): Promise<AppRecord[]> {
    const apps: AppRecord[] = [];
    const input = { TableName: this.table, FilterExpression: 'sk = :app', ExpressionAttributeValues: { ':app': 'APP' } };
    for await (const page of paginateScan({ client: this.doc }, input)) apps.push(...(page.Items ?? []).map((item) => stripKeys(item) as unknown as AppRecord));
    return apps.sort((a, b) => a.app.localeCompare(b.app));
  }

  async setAppConfig(app: string, config: Record<string, string>): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: 'APP' },
        UpdateExpression: 'SET #config = :config, app = :app, updatedAt = :now',
        ExpressionAttributeNames: { '#config': 'config' },
        ExpressionAttributeValues: { ':config': config, ':app': app, ':now': this.iso() },
      }),
    );
  }

  async rememberSource(app: string, source: SourceObject, stripComponents: 0 | 1, baseImages: string[]): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: 'APP' },
        UpdateExpression: 'SET lastSource = :source, lastStripComponents = :strip, baseImages = :base, app = :app, updatedAt = :now, createdAt = if_not_exists(createdAt, :now)',
        ExpressionAttributeValues: { ':source': source, ':strip': stripComponents, ':base': baseImages, ':app': app, ':now': this.iso() },
      }),
    );
  }

  // ---- releases ----
  async allocateRelease(app: string, execution: string, newId: () => string): Promise<{ id: string; number: number }> {
    const pointerKey = { pk: appKey(app), sk: `EXEC#${execution}` };
    const existing = await this.get(pointerKey);
    if (existing) return { id: existing.releaseId as string, number: existing.number as number };
    const counter = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: 'APP' },
        UpdateExpression: 'ADD releaseCounter :one SET app = :app, createdAt = if_not_exists(createdAt, :now)',
        ExpressionAttributeValues: { ':one': 1, ':app': app, ':now': this.iso() },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const allocated = { id: newId(), number: Number(counter.Attributes?.releaseCounter) };
    const put = new PutCommand({
      TableName: this.table,
      Item: { ...pointerKey, releaseId: allocated.id, number: allocated.number, expiresAt: this.epoch() + 30 * DAY_SECONDS },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    if (await this.conditional(put)) return allocated;
    // a concurrent retry won: its number stands, ours is skipped (never reused)
    const winner = (await this.get(pointerKey))!;
    return { id: winner.releaseId as string, number: winner.number as number };
  }

  async putRelease(release: ReleaseRecord): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: appKey(release.app), sk: `RELEASE#${release.id}`, ...release } }));
  }

  async getRelease(app: string, id: string): Promise<ReleaseRecord | undefined> {
    const item = await this.get({ pk: appKey(app), sk: `RELEASE#${id}` });
    return item ? stripKeys(item as unknown as ReleaseRecord) : undefined;
  }

  async listReleases(app: string, limit = 50): Promise<ReleaseRecord[]> {
    const items = await this.appItems(app, 'RELEASE#', { newestFirst: true, limit });
    return items.map((item) => stripKeys(item as unknown as ReleaseRecord));
  }

  async setReleaseStatus(app: string, id: string, status: ReleaseStatus, failure?: string): Promise<void> {
    const updated = await this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: `RELEASE#${id}` },
        UpdateExpression: failure ? 'SET #status = :status, failure = :failure' : 'SET #status = :status',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: failure ? { ':status': status, ':failure': failure } : { ':status': status },
      }),
    );
    if (!updated) throw new NotFound('RELEASE_NOT_FOUND', `release ${id} of app ${app} does not exist`, { app, release: id });
  }

  async activateRelease(app: string, id: string): Promise<void> {
    await this.setReleaseStatus(app, id, 'active');
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: 'APP' },
        UpdateExpression: 'SET currentRelease = :id, updatedAt = :now',
        ExpressionAttributeValues: { ':id': id, ':now': this.iso() },
      }),
    );
  }

  async currentRelease(app: string): Promise<ReleaseRecord | undefined> {
    const record = await this.getApp(app);
    return record?.currentRelease ? this.getRelease(app, record.currentRelease) : undefined;
  }

  // ---- builds ----
  // ---- undo records: kept for 30 days, far past any deploy's end ----
  async recordUndo(record: UndoRecord): Promise<UndoRecord> {
    const key = { pk: appKey(record.app), sk: `UNDO#${record.release}#${record.service}` };
    const written = await this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: { ...key, ...record, expiresAt: this.epoch() + 30 * DAY_SECONDS },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    if (written) return record;
    const stored = await this.get(key);
    return stripKeys(stored as unknown as UndoRecord);
  }

  async listUndo(app: string, release: string): Promise<UndoRecord[]> {
    return (await this.appItems(app, `UNDO#${release}#`, { consistent: true })).map((item) => stripKeys(item as unknown as UndoRecord));
  }

  async putBuild(build: BuildRecord): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: appKey(build.app), sk: `BUILD#${build.id}`, ...build } }));
  }

  async updateBuild(app: string, id: string, fields: Partial<BuildRecord>): Promise<void> {
    const names = Object.keys(fields);
    if (names.length === 0) return;
    const updated = await this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: `BUILD#${id}` },
        UpdateExpression: `SET ${names.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#f${i}`, n])),
        ExpressionAttributeValues: Object.fromEntries(names.map((n, i) => [`:v${i}`, fields[n as keyof BuildRecord]])),
      }),
    );
    if (!updated) throw new NotFound('BUILD_NOT_FOUND', `build ${id} of app ${app} does not exist`, { app, build: id });
  }

  // ---- events ----
  async recordEvent(app: string, id: string, event: Record<string, unknown>, ttlDays = 30): Promise<void> {
    const time = this.iso();
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: appKey(app), sk: `EVENT#${time}#${id}`, time, ...event, expiresAt: this.epoch() + ttlDays * DAY_SECONDS },
      }),
    );
  }

  async listEvents(app: string, limit = 50): Promise<Array<Record<string, unknown>>> {
    return (await this.appItems(app, 'EVENT#', { newestFirst: true, limit })).map((item) => stripKeys(item));
  }

  async firstSighting(key: string, ttlSeconds = 2 * DAY_SECONDS): Promise<boolean> {
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `SEEN#${key}`, sk: 'SEEN', expiresAt: this.epoch() + ttlSeconds },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async forgetSighting(key: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk: `SEEN#${key}`, sk: 'SEEN' } }));
  }

  // ---- an app's removal ----
  async deleteAppItems(app: string, scope: AppItemScope): Promise<number> {
    // an operator's command, not a deploy step: one Scan of the table (its only full read besides listApps)
    const items: Item[] = [];
    const input = {
      TableName: this.table,
      ProjectionExpression: '#pk, #sk, #app, #execution, #deployments',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#app': 'app', '#execution': 'execution', '#deployments': 'deployments' },
      ConsistentRead: true,
    };
    for await (const page of paginateScan({ client: this.doc }, input)) items.push(...(page.Items ?? []));
    const watches = new Set(items.filter((item) => String(item.pk).startsWith('WATCH#') && item.sk === 'WATCH' && item.app === app).map((item) => String(item.pk)));
    const deploymentIds = new Set(scope.deploymentIds);
    const taskDefinitionArns = new Set<string>();
    for (const item of items) {
      if (!watches.has(String(item.pk)) || item.sk !== 'DEPLOYMENTS') continue;
      for (const d of (item.deployments ?? []) as WatchedDeployment[]) {
        deploymentIds.add(d.deploymentId);
        taskDefinitionArns.add(d.taskDefinitionArn);
      }
    }
    const keys = items.filter((item) => isAppItem(item, app, { servicePrefix: scope.servicePrefix, deploymentIds, taskDefinitionArns, watches })).map(({ pk, sk }) => ({ pk, sk }));
    // BatchWriteItem takes 25 requests a call; unprocessed ones are sent again
    for (let i = 0; i < keys.length; i += 25) {
      let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      while (requests.length) {
        const res = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (res.UnprocessedItems?.[this.table] ?? []) as typeof requests;
      }
    }
    return keys.length;
  }

  // ---- domain claims ----
  async getDomains(): Promise<DomainRegistry> {
    const item = await this.get(DOMAINS_KEY);
    return { version: Number(item?.version ?? 0), claims: ((item?.claims ?? []) as DomainClaim[]).map(({ host, app, service }) => ({ host, app, service })) };
  }

  async putDomains(expectedVersion: number, claims: DomainClaim[]): Promise<boolean> {
    // one item of at most 400 KB: about 3,000 claims of 100-character hosts, thirty times what
    // the load balancer's 100 rules can route
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: { ...DOMAINS_KEY, version: expectedVersion + 1, claims, updatedAt: this.iso() },
        ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :version',
        ...(expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':version': expectedVersion } }),
      }),
    );
  }

  // ---- queue and lock ----
  // A lock's lease is stored as `leaseUntil`, not in `expiresAt` (the table's TTL attribute): TTL
  // would delete a lock whose lease lapsed while its holder still runs, and a lapsed lease is only a
  // prompt to ask Step Functions (shared/queue/queue.ts). Locks written before kept it in expiresAt.
  // LOCK items and waiting QUEUE items carry `sweep`, the key of the sparse `sweep` index the queue
  // sweep reads (appsToSweep): an idle rack's index is empty.
  private lockItem(app: string, lock: LockItem): Item {
    const { expiresAt, ...rest } = lock;
    return { pk: appKey(app), sk: 'LOCK', ...rest, leaseUntil: expiresAt, sweep: SWEEP_KEY };
  }

  async putQueueItem(app: string, item: QueueItem): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: appKey(app), sk: `QUEUE#${item.execution}`, ...item, expiresAt: this.epoch() + 7 * DAY_SECONDS, ...(item.status === 'waiting' ? { sweep: SWEEP_KEY } : {}) },
      }),
    );
  }

  async listQueue(app: string): Promise<QueueItem[]> {
    const items = await this.appItems(app, 'QUEUE#', { consistent: true });
    return items.map((item) => {
      const { sweep: _sweep, ...rest } = stripKeys(item);
      return rest as unknown as QueueItem;
    });
  }

  async transitionQueueItem(app: string, execution: string, from: QueueItem['status'], to: QueueItem['status']): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: `QUEUE#${execution}` },
        UpdateExpression: to === 'waiting' ? 'SET #status = :to, #sweep = :sweep' : 'SET #status = :to REMOVE #sweep',
        ConditionExpression: '#status = :from',
        ExpressionAttributeNames: { '#status': 'status', '#sweep': 'sweep' },
        ExpressionAttributeValues: { ':to': to, ':from': from, ...(to === 'waiting' ? { ':sweep': SWEEP_KEY } : {}) },
      }),
    );
  }

  async getLock(app: string): Promise<LockItem | undefined> {
    const item = await this.get({ pk: appKey(app), sk: 'LOCK' });
    if (!item) return undefined;
    const { sweep: _sweep, leaseUntil, ...rest } = stripKeys(item);
    return { ...rest, expiresAt: Number(leaseUntil ?? item.expiresAt) } as unknown as LockItem;
  }

  async acquireLock(app: string, lock: LockItem): Promise<boolean> {
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: this.lockItem(app, lock),
        ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now OR (attribute_not_exists(leaseUntil) AND expiresAt < :now) OR holder = :holder',
        ExpressionAttributeValues: { ':now': this.epoch(), ':holder': lock.holder },
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

  // -- the self-healing queue --
  async takeLock(app: string, lock: LockItem): Promise<boolean> {
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: this.lockItem(app, lock),
        ConditionExpression: 'attribute_not_exists(pk) OR holder = :holder',
        ExpressionAttributeValues: { ':holder': lock.holder },
      }),
    );
  }

  async renewLock(app: string, holder: string, expiresAt: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: 'LOCK' },
        UpdateExpression: 'SET leaseUntil = :lease REMOVE expiresAt',
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: { ':lease': expiresAt, ':holder': holder },
      }),
    );
  }

  async lockWoken(app: string, holder: string, wakeToken: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: appKey(app), sk: 'LOCK' },
        UpdateExpression: 'REMOVE wakeToken',
        ConditionExpression: 'holder = :holder AND wakeToken = :token',
        ExpressionAttributeValues: { ':holder': holder, ':token': wakeToken },
      }),
    );
  }

  async appsToSweep(): Promise<string[]> {
    const apps = new Set<string>();
    const input = {
      TableName: this.table,
      IndexName: SWEEP_INDEX,
      KeyConditionExpression: '#sweep = :sweep',
      ExpressionAttributeNames: { '#sweep': 'sweep' },
      ExpressionAttributeValues: { ':sweep': SWEEP_KEY },
    };
    for await (const page of paginateQuery({ client: this.doc }, input)) {
      for (const item of page.Items ?? []) apps.add(String(item.pk).slice('APP#'.length));
    }
    return [...apps].sort();
  }

  // ---- rollout watches ----
  private ttl(): number {
    return this.epoch() + WATCH_TTL_SECONDS;
  }

  /** Puts items in BatchWriteItem's calls of 25, sending unprocessed ones again. */
  private async putAll(items: Item[]): Promise<void> {
    for (let i = 0; i < items.length; i += 25) {
      let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      while (requests.length) {
        const res = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (res.UnprocessedItems?.[this.table] ?? []) as typeof requests;
      }
    }
  }

  /** Reads items in BatchGetItem's calls of 100 (consistent), asking again for unprocessed keys; by `pk|sk`. */
  private async getAll(keys: Array<{ pk: string; sk: string }>): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    for (let i = 0; i < keys.length; i += 100) {
      let pending = keys.slice(i, i + 100);
      while (pending.length) {
        const res = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
        for (const item of res.Responses?.[this.table] ?? []) found.set(`${item.pk}|${item.sk}`, item);
        pending = (res.UnprocessedKeys?.[this.table]?.Keys ?? []) as typeof pending;
      }
    }
    return found;
  }

  async putWatch(watch: NewWatch): Promise<void> {
    const { deployments, ...header } = watch;
    const expiresAt = this.ttl();
    await this.putAll([
      // DynamoDB refuses an empty set: a watch of nothing has nothing pending
      { ...watchKey(watch.execution), ...header, status: 'waiting', ...(deployments.length ? { pending: new Set(deployments.map((_, i) => i)) } : {}), expiresAt },
      { ...watchDeploymentsKey(watch.execution), deployments, expiresAt },
    ]);
  }

  async linkWatch(link: WatchLink): Promise<DeploymentFacts> {
    const set = 'SET #execution = :execution, #index = :index, #deployment = :deployment, #failFast = :failFast, expiresAt = :ttl';
    const names = { '#execution': 'execution', '#index': 'index', '#deployment': 'deployment', '#failFast': 'failFastStops' };
    const values = { ':execution': link.execution, ':index': link.index, ':deployment': link.deployment, ':failFast': link.failFastStops, ':ttl': this.ttl() };
    const outcome = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: deploymentKey(link.deployment.deploymentId),
        UpdateExpression: set,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    const key = taskDefinitionKey(link.deployment.taskDefinitionArn);
    let stops: Item | undefined;
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: set,
          // stops recorded while no watch or this one followed the task definition are this deploy's
          ConditionExpression: 'attribute_not_exists(#execution) OR #execution = :execution',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      stops = res.Attributes;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // a redeploy of the same task definition: the stops are the earlier deploy's
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: `${set} REMOVE tasks, #last`,
          ExpressionAttributeNames: { ...names, '#last': 'last' },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      stops = res.Attributes;
    }
    return { ...outcomeFacts(outcome.Attributes), ...stopFacts(stops) };
  }

  async getWatch(execution: string): Promise<WatchRecord | undefined> {
    const [head, list] = await Promise.all([this.get(watchKey(execution)), this.get(watchDeploymentsKey(execution))]);
    const header = headerOf(head);
    if (!header) return undefined;
    const deployments = (list?.deployments ?? []) as WatchedDeployment[];
    const items = await this.getAll(deployments.flatMap((d) => [deploymentKey(d.deploymentId), taskDefinitionKey(d.taskDefinitionArn)]));
    // an item linked to another watch (a later deploy of the same task definition) says nothing of this one
    const linked = (key: { pk: string; sk: string }) => {
      const item = items.get(`${key.pk}|${key.sk}`);
      return item?.execution === execution ? item : undefined;
    };
    const facts = deployments.map((d) => ({ ...outcomeFacts(linked(deploymentKey(d.deploymentId))), ...stopFacts(linked(taskDefinitionKey(d.taskDefinitionArn))) }));
    const { pending: _pending, ...rest } = header;
    return { ...rest, deployments, facts };
  }

  async watchDeployments(execution: string): Promise<WatchedDeployment[] | undefined> {
    return (await this.get(watchDeploymentsKey(execution)))?.deployments as WatchedDeployment[] | undefined;
  }

  async stopsOf(link: WatchLink): Promise<DeploymentFacts> {
    const item = await this.get(taskDefinitionKey(link.deployment.taskDefinitionArn));
    return stopFacts(!item?.execution || item.execution === link.execution ? item : undefined);
  }

  async recordOutcome(deploymentId: string, observation: Observation): Promise<RecordedFacts> {
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: deploymentKey(deploymentId),
          UpdateExpression: 'SET observation = :o, expiresAt = :ttl',
          // a final outcome is never overwritten by a late or duplicated in-progress event
          ConditionExpression: 'attribute_not_exists(observation) OR observation.outcome = :progress',
          ExpressionAttributeValues: { ':o': observation, ':progress': 'in-progress', ':ttl': this.ttl() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return recorded(res.Attributes, outcomeFacts);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // a final outcome was there: a redelivery still resumes the watch with it
      return recorded(await this.get(deploymentKey(deploymentId)), outcomeFacts);
    }
  }

  async recordStop(taskDefinitionArn: string, stop: StopSummary): Promise<RecordedFacts> {
    const res = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: taskDefinitionKey(taskDefinitionArn),
        UpdateExpression: 'ADD tasks :task SET #last = :last, expiresAt = :ttl',
        ExpressionAttributeNames: { '#last': 'last' },
        ExpressionAttributeValues: { ':task': stringSet([stop.taskArn]), ':last': stop, ':ttl': this.ttl() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return recorded(res.Attributes, stopFacts);
  }

  async completeDeployments(execution: string, indices: number[]): Promise<WatchHeader | undefined> {
    if (indices.length === 0) {
      const header = headerOf(await this.get(watchKey(execution)));
      return header?.status === 'waiting' ? header : undefined;
    }
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: watchKey(execution),
          UpdateExpression: 'DELETE pending :done',
          ConditionExpression: '#status = :waiting',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':waiting': 'waiting', ':done': new Set(indices) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return headerOf(res.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async closeWatch(execution: string, verdict: Verdict): Promise<WatchHeader | undefined> {
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: watchKey(execution),
          UpdateExpression: 'SET #status = :done, verdict = :verdict',
          ConditionExpression: '#status = :waiting',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':done': 'done', ':waiting': 'waiting', ':verdict': verdict },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return headerOf(res.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  // ---- service alarm state ----
  private alarmTtl(): number {
    return this.epoch() + ALARM_TTL_SECONDS;
  }

  async readAlarmState(serviceName: string): Promise<ServiceAlarmState | undefined> {
    return alarmStateOf(await this.get(alarmKey(serviceName)));
  }

  async applyAlarmCount(serviceName: string, revision: number, decision: AlarmCount): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: alarmKey(serviceName),
        UpdateExpression: decision.episodeStops ? 'ADD #count :one, episodeStops :one SET expiresAt = :ttl' : 'ADD #count :one SET expiresAt = :ttl',
        ConditionExpression: '#revision = :revision AND #start = :start',
        ExpressionAttributeNames: { '#count': `${decision.channel}Count`, '#start': `${decision.channel}Start`, '#revision': 'revision' },
        ExpressionAttributeValues: { ':one': 1, ':ttl': this.alarmTtl(), ':revision': revision, ':start': decision.windowStart },
      }),
    );
  }

  async applyAlarm(serviceName: string, previous: ServiceAlarmState, decision: AlarmRaise, owner: { app: string; service: string }): Promise<boolean> {
    const window = decision.next.windows[decision.channel]!;
    // stops counted into a continuing episode between our read and this write are kept by ADD
    const episode = decision.continues ? ' ADD episodeStops :stops' : ', episodeStops = :stops';
    const stopsAdded = decision.continues ? decision.next.episodeStops - previous.episodeStops : decision.next.episodeStops;
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: alarmKey(serviceName),
        UpdateExpression: `SET #revision = :next, #start = :start, #count = :one, alarmed = :true, alarmedAt = :alarmedAt, #app = :app, #service = :service, expiresAt = :ttl${episode}`,
        ConditionExpression: previous.revision === 0 ? 'attribute_not_exists(pk)' : '#revision = :revision',
        ExpressionAttributeNames: { '#start': `${decision.channel}Start`, '#count': `${decision.channel}Count`, '#revision': 'revision', '#app': 'app', '#service': 'service' },
        ExpressionAttributeValues: {
          ':next': decision.next.revision,
          ':start': window.start,
          ':one': 1,
          ':true': true,
          ':alarmedAt': decision.next.alarmedAt,
          ':app': owner.app,
          ':service': owner.service,
          ':ttl': this.alarmTtl(),
          ':stops': stopsAdded,
          ...(previous.revision === 0 ? {} : { ':revision': previous.revision }),
        },
      }),
    );
  }

  async reopenAlarmWindow(serviceName: string, previous: ServiceAlarmState, decision: AlarmRaise): Promise<void> {
    const stopsAdded = decision.next.episodeStops - previous.episodeStops;
    await this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: alarmKey(serviceName),
        UpdateExpression: 'SET #revision = :reopened, #start = :expired, alarmed = :alarmed ADD episodeStops :minus',
        ConditionExpression: '#revision = :claimed',
        ExpressionAttributeNames: { '#start': `${decision.channel}Start`, '#revision': 'revision' },
        ExpressionAttributeValues: {
          ':reopened': decision.next.revision + 1,
          ':expired': 0,
          ':alarmed': previous.alarmed,
          ':minus': -stopsAdded,
          ':claimed': decision.next.revision,
        },
      }),
    );
  }

  async applyRecovery(serviceName: string, previous: ServiceAlarmState, decision: AlarmRecover, now: number): Promise<ServiceAlarmState | undefined> {
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: alarmKey(serviceName),
          UpdateExpression: 'SET #revision = :next, alarmed = :false, recoveredAt = :now, expiresAt = :ttl',
          ConditionExpression: '#revision = :revision AND alarmed = :true',
          ExpressionAttributeNames: { '#revision': 'revision' },
          ExpressionAttributeValues: { ':next': decision.next.revision, ':false': false, ':true': true, ':now': now, ':ttl': this.alarmTtl(), ':revision': previous.revision },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return alarmStateOf(res.Attributes) ?? previous;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}
