import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DAY_SECONDS, epochSeconds, type Store } from '../aws/store.js';
import { rolloutVerdict, type Observation, type StopSummary, type StopTally, type Verdict, type WatchedDeployment } from '../rollout/verdict.js';

/**
 * The one mechanism that resumes a waiting deploy. The Watch step registers its task token here;
 * ECS events (task-events) record outcomes here. Either side may come first, twice, or not at all:
 * both record, then evaluate, and a conditional write lets exactly one of them send the token.
 */
export interface TaskTokenSender {
  succeed(token: string, output: unknown): Promise<void>;
  fail(token: string, error: string, cause: string): Promise<void>;
}

export interface WatchRecord {
  execution: string;
  app: string;
  releaseId: string;
  token: string;
  deployments: WatchedDeployment[];
  failFastStops: number;
  status: 'waiting' | 'done';
  verdict?: Verdict;
}

const watchKey = (execution: string) => ({ pk: `WATCH#${execution}`, sk: 'WATCH' });
const outcomeKey = (deploymentId: string) => ({ pk: `DEPLOYMENT#${deploymentId}`, sk: 'OUTCOME' });
const deploymentPointer = (deploymentId: string) => ({ pk: `DEPLOYMENT#${deploymentId}`, sk: 'WATCH' });
const stopsKey = (taskDefinitionArn: string) => ({ pk: `TASKDEF#${taskDefinitionArn}`, sk: 'STOPS' });
const taskDefinitionPointer = (taskDefinitionArn: string) => ({ pk: `TASKDEF#${taskDefinitionArn}`, sk: 'WATCH' });
const ttl = () => epochSeconds() + 14 * DAY_SECONDS;

export async function registerWatch(
  store: Store,
  sender: TaskTokenSender,
  watch: Omit<WatchRecord, 'status' | 'verdict'>,
  described: Record<string, Observation | undefined>,
): Promise<Verdict> {
  await store.doc.send(new PutCommand({ TableName: store.table, Item: { ...watchKey(watch.execution), ...watch, status: 'waiting', expiresAt: ttl() } }));
  for (const d of watch.deployments) {
    const pointer = { execution: watch.execution, expiresAt: ttl() };
    await store.doc.send(new PutCommand({ TableName: store.table, Item: { ...deploymentPointer(d.deploymentId), ...pointer } }));
    await store.doc.send(new PutCommand({ TableName: store.table, Item: { ...taskDefinitionPointer(d.taskDefinitionArn), ...pointer } }));
    // what DescribeServices already knows counts as an outcome that arrived before the watch
    const seen = described[d.deploymentId];
    if (seen && seen.outcome !== 'in-progress') await recordOutcome(store, d.deploymentId, seen);
  }
  return evaluateWatch(store, sender, watch.execution);
}

async function recordOutcome(store: Store, deploymentId: string, observation: Observation): Promise<void> {
  await store.conditional(
    new PutCommand({
      TableName: store.table,
      Item: { ...outcomeKey(deploymentId), ...observation, expiresAt: ttl() },
      // a final outcome is never overwritten by a late or duplicated in-progress event
      ConditionExpression: 'attribute_not_exists(pk) OR outcome = :progress',
      ExpressionAttributeValues: { ':progress': 'in-progress' },
    }),
  );
}

/** An ECS Deployment State Change: record it, and resume the watch that follows it, if any. */
export async function recordDeploymentEvent(store: Store, sender: TaskTokenSender, deploymentId: string, observation: Observation): Promise<Verdict | undefined> {
  await recordOutcome(store, deploymentId, observation);
  const pointer = await store.doc.send(new GetCommand({ TableName: store.table, Key: deploymentPointer(deploymentId), ConsistentRead: true }));
  return pointer.Item ? evaluateWatch(store, sender, pointer.Item.execution as string) : undefined;
}

/** An unexpected task stop of a task definition: count it once per task, resume its watch. */
export async function recordTaskStop(store: Store, sender: TaskTokenSender, taskDefinitionArn: string, stop: StopSummary): Promise<Verdict | undefined> {
  if (!(await store.firstSighting(`taskstop#${stop.taskArn}`))) return undefined;
  await store.doc.send(
    new UpdateCommand({
      TableName: store.table,
      Key: stopsKey(taskDefinitionArn),
      UpdateExpression: 'ADD #count :one SET #last = :last, expiresAt = :ttl',
      ExpressionAttributeNames: { '#count': 'count', '#last': 'last' },
      ExpressionAttributeValues: { ':one': 1, ':last': stop, ':ttl': ttl() },
    }),
  );
  const pointer = await store.doc.send(new GetCommand({ TableName: store.table, Key: taskDefinitionPointer(taskDefinitionArn), ConsistentRead: true }));
  return pointer.Item ? evaluateWatch(store, sender, pointer.Item.execution as string) : undefined;
}

export async function loadWatch(store: Store, execution: string): Promise<WatchRecord | undefined> {
  const res = await store.doc.send(new GetCommand({ TableName: store.table, Key: watchKey(execution), ConsistentRead: true }));
  return res.Item as WatchRecord | undefined;
}

export async function observations(store: Store, deployments: WatchedDeployment[]) {
  const seen: Record<string, Observation | undefined> = {};
  const stops: Record<string, StopTally | undefined> = {};
  for (const d of deployments) {
    const outcome = await store.doc.send(new GetCommand({ TableName: store.table, Key: outcomeKey(d.deploymentId), ConsistentRead: true }));
    seen[d.deploymentId] = outcome.Item as Observation | undefined;
    const tally = await store.doc.send(new GetCommand({ TableName: store.table, Key: stopsKey(d.taskDefinitionArn), ConsistentRead: true }));
    stops[d.taskDefinitionArn] = tally.Item as StopTally | undefined;
  }
  return { seen, stops };
}

/** Decides a watch from what is recorded; the first caller to reach a final verdict sends the token. */
export async function evaluateWatch(store: Store, sender: TaskTokenSender, execution: string): Promise<Verdict> {
  const watch = await loadWatch(store, execution);
  if (!watch) throw new Error(`no watch registered for execution ${execution}`);
  if (watch.status === 'done' && watch.verdict) return watch.verdict;
  const { seen, stops } = await observations(store, watch.deployments);
  const verdict = rolloutVerdict(watch.deployments, seen, stops, watch.failFastStops);
  if (verdict.status === 'waiting') return verdict;
  if (!(await closeWatch(store, execution, verdict))) return verdict;
  if (verdict.status === 'completed') {
    await sender.succeed(watch.token, { outcome: 'completed', detail: verdict.detail });
  } else {
    await sender.fail(watch.token, 'RolloutFailed', JSON.stringify({ errorMessage: `${verdict.code}: ${verdict.reason}`, service: verdict.service, stop: verdict.stop }));
  }
  return verdict;
}

/** waiting → done, once. False when another caller already closed it. */
export async function closeWatch(store: Store, execution: string, verdict: Verdict): Promise<boolean> {
  return store.conditional(
    new UpdateCommand({
      TableName: store.table,
      Key: watchKey(execution),
      UpdateExpression: 'SET #status = :done, verdict = :verdict',
      ConditionExpression: '#status = :waiting',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':done': 'done', ':waiting': 'waiting', ':verdict': verdict },
    }),
  );
}
