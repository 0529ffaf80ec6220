/**
 * A service's alarm state in the rack table, `ALARM#<ecs service name>` / `STATE`, and the writes that
 * apply the pure decisions. Every alarm and recovery is a conditional write on `revision`, so of two
 * Lambdas that decided from the same state only one raises the alarm; counts are atomic ADDs that hold
 * only while the window (and revision) they were decided for is still the stored one.
 */
import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DAY_SECONDS, epochSeconds, isConditionFailure, type Store } from '../aws/store.js';
import type { AlarmChannel, AlarmDecision, RecoveryDecision, ServiceAlarmState } from './decision.js';

type Alarm = Extract<AlarmDecision, { action: 'alarm' }>;
type Count = Extract<AlarmDecision, { action: 'count' }>;
type Recover = Extract<RecoveryDecision, { action: 'recover' }>;

const stateKey = (serviceName: string) => ({ pk: `ALARM#${serviceName}`, sk: 'STATE' });
// an episode nobody recovered is forgotten two days after its last signal
const ttl = () => epochSeconds() + 2 * DAY_SECONDS;
const CHANNELS: AlarmChannel[] = ['crash', 'warning'];

function fromItem(item: Record<string, unknown> | undefined): ServiceAlarmState | undefined {
  if (!item) return undefined;
  const state: ServiceAlarmState = { revision: Number(item.revision ?? 0), windows: {}, alarmed: item.alarmed === true, episodeStops: Number(item.episodeStops ?? 0) };
  for (const channel of CHANNELS) {
    const start = item[`${channel}Start`];
    if (typeof start === 'number') state.windows[channel] = { start, count: Number(item[`${channel}Count`] ?? 0) };
  }
  if (typeof item.alarmedAt === 'number') state.alarmedAt = item.alarmedAt;
  return state;
}

export async function readAlarmState(store: Store, serviceName: string): Promise<ServiceAlarmState | undefined> {
  const res = await store.doc.send(new GetCommand({ TableName: store.table, Key: stateKey(serviceName), ConsistentRead: true }));
  return fromItem(res.Item);
}

/** Adds one to the open window; false when the window or revision moved since the decision (decide again). */
export async function applyCount(store: Store, serviceName: string, revision: number, decision: Count): Promise<boolean> {
  return store.conditional(
    new UpdateCommand({
      TableName: store.table,
      Key: stateKey(serviceName),
      UpdateExpression: decision.episodeStops ? 'ADD #count :one, episodeStops :one SET expiresAt = :ttl' : 'ADD #count :one SET expiresAt = :ttl',
      ConditionExpression: '#revision = :revision AND #start = :start',
      ExpressionAttributeNames: { '#count': `${decision.channel}Count`, '#start': `${decision.channel}Start`, '#revision': 'revision' },
      ExpressionAttributeValues: { ':one': 1, ':ttl': ttl(), ':revision': revision, ':start': decision.windowStart },
    }),
  );
}

/** Claims the new window (and so the right to send its alarm); false when another Lambda changed the state first. */
export async function applyAlarm(store: Store, serviceName: string, previous: ServiceAlarmState, decision: Alarm, owner: { app: string; service: string }): Promise<boolean> {
  const window = decision.next.windows[decision.channel]!;
  // stops counted into a continuing episode between our read and this write are kept by ADD
  const episode = decision.continues ? ' ADD episodeStops :stops' : ', episodeStops = :stops';
  const stopsAdded = decision.continues ? decision.next.episodeStops - previous.episodeStops : decision.next.episodeStops;
  return store.conditional(
    new UpdateCommand({
      TableName: store.table,
      Key: stateKey(serviceName),
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
        ':ttl': ttl(),
        ':stops': stopsAdded,
        ...(previous.revision === 0 ? {} : { ':revision': previous.revision }),
      },
    }),
  );
}

/**
 * Undoes a claimed window whose alarm could not be sent, so the retried event claims it again;
 * a no-op when the state moved on meanwhile.
 */
export async function reopenWindow(store: Store, serviceName: string, previous: ServiceAlarmState, decision: Alarm): Promise<void> {
  const stopsAdded = decision.next.episodeStops - previous.episodeStops;
  await store.conditional(
    new UpdateCommand({
      TableName: store.table,
      Key: stateKey(serviceName),
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

/** Ends the episode once; returns the stored state it ended (exact stop count), or undefined when another Lambda did. */
export async function applyRecovery(store: Store, serviceName: string, previous: ServiceAlarmState, decision: Recover, now: number): Promise<ServiceAlarmState | undefined> {
  try {
    const res = await store.doc.send(
      new UpdateCommand({
        TableName: store.table,
        Key: stateKey(serviceName),
        UpdateExpression: 'SET #revision = :next, alarmed = :false, recoveredAt = :now, expiresAt = :ttl',
        ConditionExpression: '#revision = :revision AND alarmed = :true',
        ExpressionAttributeNames: { '#revision': 'revision' },
        ExpressionAttributeValues: { ':next': decision.next.revision, ':false': false, ':true': true, ':now': now, ':ttl': ttl(), ':revision': previous.revision },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return fromItem(res.Attributes) ?? previous;
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/**
 * Lets a redelivery of an event count again after its processing failed. Store.firstSighting writes
 * `SEEN#<key>` / `SEEN`; Store has no way to take a sighting back.
 */
export async function forgetSighting(store: Store, key: string): Promise<void> {
  await store.doc.send(new DeleteCommand({ TableName: store.table, Key: { pk: `SEEN#${key}`, sk: 'SEEN' } }));
}
