import type { AlarmDecision, RecoveryDecision, ServiceAlarmState } from '../alarms/decision.js';
import type { DeployOrder, ReleaseRef, SourceObject, Trigger } from '../deploy/state.js';
import type { UndoRecord } from '../deploy/undo.js';
import type { DomainClaim, DomainRegistry } from '../domains.js';
import type { Manifest } from '../manifest/types.js';
import type { Observation, StopSummary, Verdict, WatchedDeployment } from '../rollout/verdict.js';

/**
 * The rack's state behind one port. Every item kind has its methods here; the DynamoDB table
 * (shared/aws/dynamo-store.ts) and an in-memory twin (shared/aws/memory-store.ts) implement it and
 * pass the same contract tests (test/shared/store.contract.test.ts). Conditional writes return
 * false (or undefined) when their condition did not hold: another writer got there first.
 */
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

/**
 * One deploy in its app's queue. waiting: parked in its Queue step; running: it took the app's lock
 * (it started); done: it held the lock and ended; superseded: a newer deploy replaced it before it
 * ran; abandoned: its execution ended while it waited (aborted, timed out) and it never ran.
 */
export interface QueueItem {
  execution: string;
  /** the execution's ARN, so the queue can ask Step Functions whether it still runs */
  executionArn?: string;
  token: string;
  order: DeployOrder;
  status: 'waiting' | 'running' | 'superseded' | 'done' | 'abandoned';
  /** what started the deploy: the ordering rule tells uploads from redeploys */
  trigger?: Trigger;
  key?: string;
  /** epoch ms, for the time a deploy waited in the queue */
  enqueuedAt?: number;
}

export interface LockItem {
  holder: string;
  /** the holder's execution ARN: a lock whose holder ended is handed on (shared/queue/queue.ts) */
  executionArn?: string;
  order: DeployOrder;
  /** epoch seconds: the lease. A lapsed lease is a prompt to ask Step Functions, not a free lock */
  expiresAt: number;
  key?: string;
  /** the holder's Queue task token while it has not been confirmed sent: the holder has the lock and may not know yet */
  wakeToken?: string;
}

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

/** What a watch has seen of one of its deployments: its outcome and the unexpected stops of its tasks. */
export interface DeploymentFacts {
  outcome?: Observation;
  /** task ARNs that stopped unexpectedly, each once (a set: a redelivered stop counts once) */
  stoppedTasks: string[];
  lastStop?: StopSummary;
}

/**
 * A rollout being watched, as a whole: what Verify, Notify and the CLI read (once per deploy). In
 * the table it is spread over small items so that an ECS event writes a bounded number of bytes
 * however many services the deploy has (an UpdateItem is billed on the whole item it changes):
 * a header (token, status, the deployments not yet completed), the list of deployments, and one
 * item per deployment and per task definition holding that one's facts (shared/aws/dynamo-store.ts).
 */
export interface WatchRecord {
  execution: string;
  app: string;
  releaseId: string;
  token: string;
  deployments: WatchedDeployment[];
  failFastStops: number;
  status: 'waiting' | 'done';
  verdict?: Verdict;
  /** by deployment index */
  facts: DeploymentFacts[];
}

export type NewWatch = Omit<WatchRecord, 'status' | 'verdict' | 'facts'>;

/** What an ECS event reads of the watch it resumes: a few hundred bytes whatever the deploy's size. */
export interface WatchHeader {
  execution: string;
  app: string;
  releaseId: string;
  token: string;
  failFastStops: number;
  status: 'waiting' | 'done';
  verdict?: Verdict;
  /** indices of the deployments not yet completed */
  pending: number[];
}

/** The link from a deployment (by id) and its task definition (by ARN) to the watch that follows it. */
export interface WatchLink {
  execution: string;
  index: number;
  deployment: WatchedDeployment;
  failFastStops: number;
}

/** What an event recorded for one deployment or task definition, and the watch following it once one links. */
export interface RecordedFacts {
  link?: WatchLink;
  facts: DeploymentFacts;
}

export type AlarmCount = Extract<AlarmDecision, { action: 'count' }>;
export type AlarmRaise = Extract<AlarmDecision, { action: 'alarm' }>;
export type AlarmRecover = Extract<RecoveryDecision, { action: 'recover' }>;

export interface Store {
  // ---- apps ----
  getApp(app: string): Promise<AppRecord | undefined>;
  listApps(): Promise<AppRecord[]>;
  setAppConfig(app: string, config: Record<string, string>): Promise<void>;
  rememberSource(app: string, source: SourceObject, stripComponents: 0 | 1, baseImages: string[]): Promise<void>;

  // ---- releases ----
  /**
   * The next release number for an execution. Idempotent per execution (a retried step gets the
   * same number); concurrent writers never share a number, and a number is never reused.
   */
  allocateRelease(app: string, execution: string, newId: () => string): Promise<{ id: string; number: number }>;
  putRelease(release: ReleaseRecord): Promise<void>;
  getRelease(app: string, id: string): Promise<ReleaseRecord | undefined>;
  /** newest first */
  listReleases(app: string, limit?: number): Promise<ReleaseRecord[]>;
  /** fails (NotFound) when the release does not exist */
  setReleaseStatus(app: string, id: string, status: ReleaseStatus, failure?: string): Promise<void>;
  /** the release becomes current; the previous current one stays in history for rollback */
  activateRelease(app: string, id: string): Promise<void>;
  currentRelease(app: string): Promise<ReleaseRecord | undefined>;

  // ---- what Promote changed, for Rollback (shared/deploy/undo.ts) ----
  /** stores the record unless one exists for this release and service; the one stored either way */
  recordUndo(record: UndoRecord): Promise<UndoRecord>;
  /** every record of one release, by service name */
  listUndo(app: string, release: string): Promise<UndoRecord[]>;

  // ---- builds ----
  putBuild(build: BuildRecord): Promise<void>;
  updateBuild(app: string, id: string, fields: Partial<BuildRecord>): Promise<void>;

  // ---- per-app event history (TTL) ----
  recordEvent(app: string, id: string, event: Record<string, unknown>, ttlDays?: number): Promise<void>;
  /** newest first */
  listEvents(app: string, limit?: number): Promise<Array<Record<string, unknown>>>;

  // ---- dedupe of at-least-once deliveries ----
  /** true the first time a key is seen */
  firstSighting(key: string, ttlSeconds?: number): Promise<boolean>;
  /** lets a redelivery count again after its processing failed */
  forgetSighting(key: string): Promise<void>;

  // ---- queue and lock ----
  putQueueItem(app: string, item: QueueItem): Promise<void>;
  listQueue(app: string): Promise<QueueItem[]>;
  /** moves a queue item from one status to another; false when someone else moved it first */
  transitionQueueItem(app: string, execution: string, from: QueueItem['status'], to: QueueItem['status']): Promise<boolean>;
  getLock(app: string): Promise<LockItem | undefined>;
  /** takes the app's deploy lock if it is free, expired, or already this holder's */
  acquireLock(app: string, lock: LockItem): Promise<boolean>;
  /** false when the lock is not this holder's */
  releaseLock(app: string, holder: string): Promise<boolean>;
  // -- the self-healing queue (shared/queue/queue.ts, shared/queue/sweep.ts) --
  /**
   * takes the app's lock only if it is free or already this holder's: a lapsed lease is never taken
   * over here (its holder may still run); the queue releases a dead holder's lock first
   */
  takeLock(app: string, lock: LockItem): Promise<boolean>;
  /** moves the lease of the lock's holder to `expiresAt`; false when the lock is not this holder's */
  renewLock(app: string, holder: string, expiresAt: number): Promise<boolean>;
  /** the holder's wake token was delivered: forgets it; false when the lock or its token changed */
  lockWoken(app: string, holder: string, wakeToken: string): Promise<boolean>;
  /**
   * every app whose lock is held or that has a waiting deploy (from an index: may lag writes by
   * a moment); nothing else is read, so a sweep of an idle rack costs one small read
   */
  appsToSweep(): Promise<string[]>;

  // ---- an app's removal (`rackless apps delete`) ----
  /**
   * Deletes every item of one app: its own (record, releases, builds, queue, lock, undo records,
   * events), its watches with their pointers and facts, and the alarm state of its services.
   * `scope.servicePrefix` is `<rack>--<app>--`, the prefix of its ECS services and task definition
   * families (shared/names.ts); `scope.deploymentIds` adds outcomes of deployments no watch names.
   * Idempotent; returns the number of items it deleted. Domain claims are settled separately.
   */
  deleteAppItems(app: string, scope: AppItemScope): Promise<number>;

  // ---- domain claims (one registry for the rack's load balancer) ----
  /** every claim and the registry's version (0 before the first claim) */
  getDomains(): Promise<DomainRegistry>;
  /**
   * Replaces every claim at once, only if the registry is still at `expectedVersion`; false when
   * another writer changed it since it was read (read again, decide again).
   */
  putDomains(expectedVersion: number, claims: DomainClaim[]): Promise<boolean>;

  // ---- rollout watches ----
  /** the watch's header (every deployment pending) and its list of deployments */
  putWatch(watch: NewWatch): Promise<void>;
  /**
   * Links the deployment's and its task definition's items to the watch; the facts they hold (what
   * arrived before the watch). Stops recorded for another watch of the same task definition are
   * dropped: they were that deploy's.
   */
  linkWatch(link: WatchLink): Promise<DeploymentFacts>;
  /** the whole watch: header, deployments and the facts linked to it (reads grow with the services: once per deploy) */
  getWatch(execution: string): Promise<WatchRecord | undefined>;
  /** the deployments of a watch, in order */
  watchDeployments(execution: string): Promise<WatchedDeployment[] | undefined>;
  /** the stops recorded for the link's task definition while it was linked to the link's watch (or to none) */
  stopsOf(link: WatchLink): Promise<DeploymentFacts>;
  /** a deployment's outcome, on its own item; a final outcome is never replaced. The outcome held, and the link */
  recordOutcome(deploymentId: string, observation: Observation): Promise<RecordedFacts>;
  /** an unexpected stop of a task definition's task, counted once per task ARN; its stops, and the link */
  recordStop(taskDefinitionArn: string, stop: StopSummary): Promise<RecordedFacts>;
  /** takes deployments off a waiting watch's pending set (idempotent); the header after, undefined once done */
  completeDeployments(execution: string, indices: number[]): Promise<WatchHeader | undefined>;
  /** waiting → done with the verdict, once: the header this call closed (its token), undefined when another caller closed it first */
  closeWatch(execution: string, verdict: Verdict): Promise<WatchHeader | undefined>;

  // ---- service alarm state (storm suppression) ----
  readAlarmState(serviceName: string): Promise<ServiceAlarmState | undefined>;
  /** adds one to the open window; false when the window or revision moved since the decision */
  applyAlarmCount(serviceName: string, revision: number, decision: AlarmCount): Promise<boolean>;
  /** claims the new window (and so the right to send its alarm); false when another writer changed the state */
  applyAlarm(serviceName: string, previous: ServiceAlarmState, decision: AlarmRaise, owner: { app: string; service: string }): Promise<boolean>;
  /** undoes a claimed window whose alarm could not be sent; a no-op when the state moved on */
  reopenAlarmWindow(serviceName: string, previous: ServiceAlarmState, decision: AlarmRaise): Promise<void>;
  /** ends the episode once: the stored state it ended, or undefined when another writer did */
  applyRecovery(serviceName: string, previous: ServiceAlarmState, decision: AlarmRecover, now: number): Promise<ServiceAlarmState | undefined>;
}

export interface AppItemScope {
  servicePrefix: string;
  deploymentIds: string[];
}

export const DAY_SECONDS = 86_400;
export const epochSeconds = (ms: number) => Math.floor(ms / 1000);
/** How long a watch and its facts are kept after they were last written. */
export const WATCH_TTL_SECONDS = 14 * DAY_SECONDS;
/** An alarm episode nobody recovered is forgotten two days after its last signal. */
export const ALARM_TTL_SECONDS = 2 * DAY_SECONDS;

/** Pure: a final outcome stays; in-progress may be replaced by anything. */
export function mergeOutcome(current: Observation | undefined, next: Observation): Observation {
  return current && current.outcome !== 'in-progress' ? current : next;
}
