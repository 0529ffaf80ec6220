import type { ServiceAlarmState } from '../alarms/decision.js';
import type { SourceObject } from '../deploy/state.js';
import type { UndoRecord } from '../deploy/undo.js';
import type { DomainClaim, DomainRegistry } from '../domains.js';
import { NotFound } from '../errors.js';
import type { Observation, StopSummary, Verdict, WatchedDeployment } from '../rollout/verdict.js';
import {
  type AlarmCount,
  type AlarmRaise,
  type AlarmRecover,
  type AppItemScope,
  type AppRecord,
  type BuildRecord,
  type DeploymentFacts,
  epochSeconds,
  type LockItem,
  mergeOutcome,
  type NewWatch,
  type QueueItem,
  type RecordedFacts,
  type ReleaseRecord,
  type ReleaseStatus,
  type Store,
  type WatchHeader,
  type WatchLink,
  type WatchRecord,
} from './store.js';

/**
 * The Store in memory, with the DynamoDB table's semantics: every read returns a copy, every
 * conditional write holds or fails as its DynamoDB twin's condition would. It passes the same
 * contract tests; tests use it to force interleavings of the queue and the watch one step at a time.
 */
const copy = <T>(value: T): T => (value === undefined ? value : structuredClone(value));

interface AlarmItem {
  revision: number;
  crashStart?: number;
  crashCount?: number;
  warningStart?: number;
  warningCount?: number;
  alarmed?: boolean;
  alarmedAt?: number;
  episodeStops?: number;
  app?: string;
  service?: string;
  recoveredAt?: number;
}

/** The table's watch items, one map each (shared/aws/dynamo-store.ts): header, deployments, per deployment, per task definition. */
interface DeploymentItem {
  link?: WatchLink;
  observation?: Observation;
}

interface TaskDefinitionItem {
  link?: WatchLink;
  tasks: Set<string>;
  last?: StopSummary;
}

export class MemoryStore implements Store {
  private readonly apps = new Map<string, AppRecord>();
  private readonly releases = new Map<string, Map<string, ReleaseRecord>>();
  private readonly executions = new Map<string, { releaseId: string; number: number }>();
  private readonly builds = new Map<string, BuildRecord>();
  private readonly events = new Map<string, Array<{ sk: string; item: Record<string, unknown> }>>();
  private readonly seen = new Set<string>();
  private readonly undo = new Map<string, UndoRecord>();
  private readonly queues = new Map<string, Map<string, QueueItem>>();
  private readonly locks = new Map<string, LockItem>();
  private readonly watches = new Map<string, WatchHeader>();
  private readonly watchLists = new Map<string, WatchedDeployment[]>();
  private readonly deploymentItems = new Map<string, DeploymentItem>();
  private readonly taskDefinitionItems = new Map<string, TaskDefinitionItem>();
  private readonly alarms = new Map<string, AlarmItem>();
  private domains: DomainRegistry = { version: 0, claims: [] };

  constructor(private readonly now: () => number = Date.now) {}

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  // ---- apps ----
  async getApp(app: string): Promise<AppRecord | undefined> {
    return copy(this.apps.get(app));
  }

  async listApps(): Promise<AppRecord[]> {
    return copy([...this.apps.values()].sort((a, b) => a.app.localeCompare(b.app)));
  }

  private upsertApp(app: string, fields: Partial<AppRecord>): AppRecord {
    const record = { ...(this.apps.get(app) ?? {}), ...copy(fields), app };
    this.apps.set(app, record);
    return record;
  }

  async setAppConfig(app: string, config: Record<string, string>): Promise<void> {
    this.upsertApp(app, { config, updatedAt: this.iso() });
  }

  async rememberSource(app: string, source: SourceObject, stripComponents: 0 | 1, baseImages: string[]): Promise<void> {
    const now = this.iso();
    this.upsertApp(app, { lastSource: source, lastStripComponents: stripComponents, baseImages, updatedAt: now, createdAt: this.apps.get(app)?.createdAt ?? now });
  }

  // ---- releases ----
  async allocateRelease(app: string, execution: string, newId: () => string): Promise<{ id: string; number: number }> {
    const key = `${app}|${execution}`;
    const existing = this.executions.get(key);
    if (existing) return { id: existing.releaseId, number: existing.number };
    const record = this.apps.get(app);
    const number = (record?.releaseCounter ?? 0) + 1;
    this.upsertApp(app, { releaseCounter: number, createdAt: record?.createdAt ?? this.iso() });
    const allocated = { id: newId(), number };
    this.executions.set(key, { releaseId: allocated.id, number });
    return allocated;
  }

  private releasesOf(app: string): Map<string, ReleaseRecord> {
    const releases = this.releases.get(app) ?? new Map<string, ReleaseRecord>();
    this.releases.set(app, releases);
    return releases;
  }

  async putRelease(release: ReleaseRecord): Promise<void> {
    this.releasesOf(release.app).set(release.id, copy(release));
  }

  async getRelease(app: string, id: string): Promise<ReleaseRecord | undefined> {
    return copy(this.releases.get(app)?.get(id));
  }

  async listReleases(app: string, limit = 50): Promise<ReleaseRecord[]> {
    const releases = [...(this.releases.get(app)?.values() ?? [])].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return copy(releases.slice(0, limit));
  }

  async setReleaseStatus(app: string, id: string, status: ReleaseStatus, failure?: string): Promise<void> {
    const release = this.releases.get(app)?.get(id);
    if (!release) throw new NotFound('RELEASE_NOT_FOUND', `release ${id} of app ${app} does not exist`, { app, release: id });
    release.status = status;
    if (failure) release.failure = failure;
  }

  async activateRelease(app: string, id: string): Promise<void> {
    await this.setReleaseStatus(app, id, 'active');
    this.upsertApp(app, { currentRelease: id, updatedAt: this.iso() });
  }

  async currentRelease(app: string): Promise<ReleaseRecord | undefined> {
    const current = this.apps.get(app)?.currentRelease;
    return current ? this.getRelease(app, current) : undefined;
  }

  // ---- builds ----
  async putBuild(build: BuildRecord): Promise<void> {
    this.builds.set(`${build.app}|${build.id}`, copy(build));
  }

  async updateBuild(app: string, id: string, fields: Partial<BuildRecord>): Promise<void> {
    if (Object.keys(fields).length === 0) return;
    const build = this.builds.get(`${app}|${id}`);
    if (!build) throw new NotFound('BUILD_NOT_FOUND', `build ${id} of app ${app} does not exist`, { app, build: id });
    Object.assign(build, copy(fields));
  }

  // ---- events ----
  async recordUndo(record: UndoRecord): Promise<UndoRecord> {
    const key = `${record.app} ${record.release} ${record.service}`;
    if (!this.undo.has(key)) this.undo.set(key, copy(record));
    return copy(this.undo.get(key)!);
  }

  async listUndo(app: string, release: string): Promise<UndoRecord[]> {
    return [...this.undo.values()]
      .filter((r) => r.app === app && r.release === release)
      .sort((a, b) => (a.service < b.service ? -1 : 1))
      .map(copy);
  }

  async recordEvent(app: string, id: string, event: Record<string, unknown>): Promise<void> {
    const time = this.iso();
    const list = this.events.get(app) ?? [];
    const sk = `EVENT#${time}#${id}`;
    const item = { time, ...copy(event) };
    const at = list.findIndex((e) => e.sk === sk);
    if (at >= 0) list[at] = { sk, item };
    else list.push({ sk, item });
    this.events.set(app, list);
  }

  async listEvents(app: string, limit = 50): Promise<Array<Record<string, unknown>>> {
    const list = [...(this.events.get(app) ?? [])].sort((a, b) => (a.sk < b.sk ? 1 : a.sk > b.sk ? -1 : 0));
    return copy(list.slice(0, limit).map((e) => e.item));
  }

  async firstSighting(key: string): Promise<boolean> {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  async forgetSighting(key: string): Promise<void> {
    this.seen.delete(key);
  }

  // ---- an app's removal: what the DynamoDB table holds as one item each is counted as one ----
  async deleteAppItems(app: string, scope: AppItemScope): Promise<number> {
    let deleted = 0;
    const drop = <K, V>(map: Map<K, V>, keep: (key: K, value: V) => boolean) => {
      for (const [key, value] of [...map]) {
        if (keep(key, value)) continue;
        map.delete(key);
        deleted++;
      }
    };
    const executions = new Set([...this.watches.values()].filter((w) => w.app === app).map((w) => w.execution));
    const watched = [...executions].flatMap((e) => this.watchLists.get(e) ?? []);
    const deploymentIds = new Set([...scope.deploymentIds, ...watched.map((d) => d.deploymentId)]);
    const taskDefinitionArns = new Set(watched.map((d) => d.taskDefinitionArn));
    const linkedHere = (link: WatchLink | undefined) => link !== undefined && executions.has(link.execution);
    drop(this.apps, (key) => key !== app);
    deleted += this.releases.get(app)?.size ?? 0;
    this.releases.delete(app);
    drop(this.executions, (key) => !key.startsWith(`${app}|`));
    drop(this.builds, (key) => !key.startsWith(`${app}|`));
    deleted += this.events.get(app)?.length ?? 0;
    this.events.delete(app);
    drop(this.undo, (_key, record) => record.app !== app);
    deleted += this.queues.get(app)?.size ?? 0;
    this.queues.delete(app);
    drop(this.locks, (key) => key !== app);
    drop(this.watches, (key) => !executions.has(key));
    drop(this.watchLists, (key) => !executions.has(key));
    drop(this.deploymentItems, (key, item) => !deploymentIds.has(key) && !linkedHere(item.link));
    drop(this.taskDefinitionItems, (key, item) => !key.includes(`:task-definition/${scope.servicePrefix}`) && !taskDefinitionArns.has(key) && !linkedHere(item.link));
    drop(this.alarms, (key) => !key.startsWith(scope.servicePrefix));
    return deleted;
  }

  // ---- domain claims ----
  async getDomains(): Promise<DomainRegistry> {
    return copy(this.domains);
  }

  async putDomains(expectedVersion: number, claims: DomainClaim[]): Promise<boolean> {
    if (this.domains.version !== expectedVersion) return false;
    this.domains = { version: expectedVersion + 1, claims: copy(claims) };
    return true;
  }

  // ---- queue and lock ----
  private queueOf(app: string): Map<string, QueueItem> {
    const queue = this.queues.get(app) ?? new Map<string, QueueItem>();
    this.queues.set(app, queue);
    return queue;
  }

  async putQueueItem(app: string, item: QueueItem): Promise<void> {
    this.queueOf(app).set(item.execution, copy(item));
  }

  async listQueue(app: string): Promise<QueueItem[]> {
    return copy([...this.queueOf(app).values()].sort((a, b) => (a.execution < b.execution ? -1 : a.execution > b.execution ? 1 : 0)));
  }

  async transitionQueueItem(app: string, execution: string, from: QueueItem['status'], to: QueueItem['status']): Promise<boolean> {
    const item = this.queueOf(app).get(execution);
    if (item?.status !== from) return false;
    item.status = to;
    return true;
  }

  async getLock(app: string): Promise<LockItem | undefined> {
    return copy(this.locks.get(app));
  }

  async acquireLock(app: string, lock: LockItem): Promise<boolean> {
    const held = this.locks.get(app);
    if (held && !(held.expiresAt < epochSeconds(this.now())) && held.holder !== lock.holder) return false;
    this.locks.set(app, copy(lock));
    return true;
  }

  async releaseLock(app: string, holder: string): Promise<boolean> {
    if (this.locks.get(app)?.holder !== holder) return false;
    this.locks.delete(app);
    return true;
  }

  // -- the self-healing queue --
  async takeLock(app: string, lock: LockItem): Promise<boolean> {
    const held = this.locks.get(app);
    if (held && held.holder !== lock.holder) return false;
    this.locks.set(app, copy(lock));
    return true;
  }

  async renewLock(app: string, holder: string, expiresAt: number): Promise<boolean> {
    const held = this.locks.get(app);
    if (held?.holder !== holder) return false;
    held.expiresAt = expiresAt;
    return true;
  }

  async lockWoken(app: string, holder: string, wakeToken: string): Promise<boolean> {
    const held = this.locks.get(app);
    if (held?.holder !== holder || held.wakeToken !== wakeToken) return false;
    delete held.wakeToken;
    return true;
  }

  async appsToSweep(): Promise<string[]> {
    const apps = new Set(this.locks.keys());
    for (const [app, queue] of this.queues) if ([...queue.values()].some((item) => item.status === 'waiting')) apps.add(app);
    return [...apps].sort();
  }

  // ---- rollout watches ----
  private outcomeFacts(item: DeploymentItem | undefined): DeploymentFacts {
    return { ...(item?.observation ? { outcome: copy(item.observation) } : {}), stoppedTasks: [] };
  }

  private stopFacts(item: TaskDefinitionItem | undefined): DeploymentFacts {
    return { stoppedTasks: [...(item?.tasks ?? [])].sort(), ...(item?.last ? { lastStop: copy(item.last) } : {}) };
  }

  async putWatch(watch: NewWatch): Promise<void> {
    const { deployments, ...header } = copy(watch);
    this.watches.set(watch.execution, { ...header, status: 'waiting', pending: deployments.map((_, i) => i) });
    this.watchLists.set(watch.execution, deployments);
  }

  async linkWatch(link: WatchLink): Promise<DeploymentFacts> {
    const outcome = this.deploymentItems.get(link.deployment.deploymentId) ?? {};
    outcome.link = copy(link);
    this.deploymentItems.set(link.deployment.deploymentId, outcome);
    let stops = this.taskDefinitionItems.get(link.deployment.taskDefinitionArn) ?? { tasks: new Set<string>() };
    // a redeploy of the same task definition: the stops are the earlier deploy's
    if (stops.link && stops.link.execution !== link.execution) stops = { tasks: new Set<string>() };
    stops.link = copy(link);
    this.taskDefinitionItems.set(link.deployment.taskDefinitionArn, stops);
    return { ...this.outcomeFacts(outcome), ...this.stopFacts(stops) };
  }

  async getWatch(execution: string): Promise<WatchRecord | undefined> {
    const header = this.watches.get(execution);
    if (!header) return undefined;
    const deployments = copy(this.watchLists.get(execution) ?? []);
    const linked = <T extends { link?: WatchLink }>(item: T | undefined) => (item?.link?.execution === execution ? item : undefined);
    const facts = deployments.map((d) => ({
      ...this.outcomeFacts(linked(this.deploymentItems.get(d.deploymentId))),
      ...this.stopFacts(linked(this.taskDefinitionItems.get(d.taskDefinitionArn))),
    }));
    const { pending: _pending, ...rest } = copy(header);
    return { ...rest, deployments, facts };
  }

  async watchDeployments(execution: string): Promise<WatchedDeployment[] | undefined> {
    return copy(this.watchLists.get(execution));
  }

  async stopsOf(link: WatchLink): Promise<DeploymentFacts> {
    const item = this.taskDefinitionItems.get(link.deployment.taskDefinitionArn);
    return this.stopFacts(!item?.link || item.link.execution === link.execution ? item : undefined);
  }

  async recordOutcome(deploymentId: string, observation: Observation): Promise<RecordedFacts> {
    const item = this.deploymentItems.get(deploymentId) ?? {};
    item.observation = copy(mergeOutcome(item.observation, observation));
    this.deploymentItems.set(deploymentId, item);
    return { ...(item.link ? { link: copy(item.link) } : {}), facts: this.outcomeFacts(item) };
  }

  async recordStop(taskDefinitionArn: string, stop: StopSummary): Promise<RecordedFacts> {
    const item = this.taskDefinitionItems.get(taskDefinitionArn) ?? { tasks: new Set<string>() };
    item.tasks.add(stop.taskArn);
    item.last = copy(stop);
    this.taskDefinitionItems.set(taskDefinitionArn, item);
    return { ...(item.link ? { link: copy(item.link) } : {}), facts: this.stopFacts(item) };
  }

  async completeDeployments(execution: string, indices: number[]): Promise<WatchHeader | undefined> {
    const header = this.watches.get(execution);
    if (header?.status !== 'waiting') return undefined;
    header.pending = header.pending.filter((i) => !indices.includes(i));
    return copy(header);
  }

  async closeWatch(execution: string, verdict: Verdict): Promise<WatchHeader | undefined> {
    const header = this.watches.get(execution);
    if (header?.status !== 'waiting') return undefined;
    header.status = 'done';
    header.verdict = copy(verdict);
    return copy(header);
  }

  // ---- service alarm state ----
  async readAlarmState(serviceName: string): Promise<ServiceAlarmState | undefined> {
    const item = this.alarms.get(serviceName);
    if (!item) return undefined;
    const state: ServiceAlarmState = { revision: item.revision, windows: {}, alarmed: item.alarmed === true, episodeStops: item.episodeStops ?? 0 };
    if (item.crashStart !== undefined) state.windows.crash = { start: item.crashStart, count: item.crashCount ?? 0 };
    if (item.warningStart !== undefined) state.windows.warning = { start: item.warningStart, count: item.warningCount ?? 0 };
    if (item.alarmedAt !== undefined) state.alarmedAt = item.alarmedAt;
    return state;
  }

  async applyAlarmCount(serviceName: string, revision: number, decision: AlarmCount): Promise<boolean> {
    const item = this.alarms.get(serviceName);
    if (!item || item.revision !== revision || item[`${decision.channel}Start`] !== decision.windowStart) return false;
    item[`${decision.channel}Count`] = (item[`${decision.channel}Count`] ?? 0) + 1;
    if (decision.episodeStops) item.episodeStops = (item.episodeStops ?? 0) + 1;
    return true;
  }

  async applyAlarm(serviceName: string, previous: ServiceAlarmState, decision: AlarmRaise, owner: { app: string; service: string }): Promise<boolean> {
    const item = this.alarms.get(serviceName);
    if (previous.revision === 0 ? item !== undefined : item?.revision !== previous.revision) return false;
    const window = decision.next.windows[decision.channel]!;
    const stopsAdded = decision.continues ? decision.next.episodeStops - previous.episodeStops : decision.next.episodeStops;
    const next: AlarmItem = item ?? { revision: 0 };
    next.revision = decision.next.revision;
    next[`${decision.channel}Start`] = window.start;
    next[`${decision.channel}Count`] = 1;
    next.alarmed = true;
    if (decision.next.alarmedAt !== undefined) next.alarmedAt = decision.next.alarmedAt;
    next.app = owner.app;
    next.service = owner.service;
    next.episodeStops = decision.continues ? (next.episodeStops ?? 0) + stopsAdded : stopsAdded;
    this.alarms.set(serviceName, next);
    return true;
  }

  async reopenAlarmWindow(serviceName: string, previous: ServiceAlarmState, decision: AlarmRaise): Promise<void> {
    const item = this.alarms.get(serviceName);
    if (item?.revision !== decision.next.revision) return;
    item.revision = decision.next.revision + 1;
    item[`${decision.channel}Start`] = 0;
    item.alarmed = previous.alarmed;
    item.episodeStops = (item.episodeStops ?? 0) - (decision.next.episodeStops - previous.episodeStops);
  }

  async applyRecovery(serviceName: string, previous: ServiceAlarmState, decision: AlarmRecover, now: number): Promise<ServiceAlarmState | undefined> {
    const item = this.alarms.get(serviceName);
    if (item?.revision !== previous.revision || item.alarmed !== true) return undefined;
    const before = await this.readAlarmState(serviceName);
    item.revision = decision.next.revision;
    item.alarmed = false;
    item.recoveredAt = now;
    return before ?? previous;
  }
}
