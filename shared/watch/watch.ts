import type { NewWatch, Store, WatchPointer, WatchRecord } from '../aws/store.js';
import { type Observation, rolloutVerdict, type StopSummary, type StopTally, type Verdict } from '../rollout/verdict.js';

/**
 * The one mechanism that resumes a waiting deploy. The Watch step registers its task token here;
 * ECS events (task-events) record outcomes here. Either side may come first, twice, or not at all:
 * both record, then evaluate, and a conditional write lets exactly one of them send the token.
 *
 * The watch keeps every verdict input in its own record, so an event costs a bounded number of
 * store calls (a pointer read, one conditional update, at most one close) however many services
 * the deploy has. An event that comes before its watch is kept on its own and folded in when the
 * watch registers: the event writes its fact, then looks for the pointer; the watch writes its
 * pointers, then reads the facts — whichever order they run in, the watch ends up with the fact.
 */
export interface TaskTokenSender {
  succeed(token: string, output: unknown): Promise<void>;
  fail(token: string, error: string, cause: string): Promise<void>;
}

/** Pure: the verdict inputs of a watch, as the verdict table reads them. */
export function verdictInputs(watch: WatchRecord): { seen: Record<string, Observation | undefined>; stops: Record<string, StopTally | undefined> } {
  const seen: Record<string, Observation | undefined> = {};
  const stops: Record<string, StopTally | undefined> = {};
  watch.deployments.forEach((d, i) => {
    const facts = watch.facts[i];
    seen[d.deploymentId] = facts?.outcome;
    if (facts?.stoppedTasks.length) stops[d.taskDefinitionArn] = { count: facts.stoppedTasks.length, ...(facts.lastStop ? { last: facts.lastStop } : {}) };
  });
  return { seen, stops };
}

/** Pure: the verdict of a watch from what it has recorded. */
export function watchVerdict(watch: WatchRecord): Verdict {
  const { seen, stops } = verdictInputs(watch);
  return rolloutVerdict(watch.deployments, seen, stops, watch.failFastStops);
}

/**
 * Registers a watch and folds in what arrived before it — events recorded with no watch yet and what
 * DescribeServices already says (`described`, by deployment id) — then decides once.
 */
export async function registerWatch(store: Store, sender: TaskTokenSender, watch: NewWatch, described: Record<string, Observation | undefined>): Promise<Verdict> {
  await store.putWatch(watch);
  const before = await store.factsBeforeWatch(watch.deployments);
  let latest: WatchRecord | undefined;
  for (const [index, d] of watch.deployments.entries()) {
    const pointer = { execution: watch.execution, index };
    const facts = before[index]!;
    const seen = described[d.deploymentId];
    for (const observation of [facts.outcome, seen]) {
      if (observation && observation.outcome !== 'in-progress') latest = (await store.applyOutcome(pointer, observation)) ?? latest;
    }
    if (facts.stoppedTasks.length) latest = (await store.applyStops(pointer, facts.stoppedTasks, facts.lastStop)) ?? latest;
  }
  return decide(store, sender, latest ?? (await store.getWatch(watch.execution))!);
}

/** An ECS Deployment State Change: record it, and resume the watch that follows it, if any. */
export async function recordDeploymentEvent(store: Store, sender: TaskTokenSender, deploymentId: string, observation: Observation): Promise<Verdict | undefined> {
  await store.recordOutcome(deploymentId, observation);
  const pointer = await store.watchOfDeployment(deploymentId);
  if (!pointer) return undefined;
  return decideAfter(store, sender, pointer, await store.applyOutcome(pointer, observation));
}

/** An unexpected task stop of a task definition: count it once per task, resume its watch. */
export async function recordTaskStop(store: Store, sender: TaskTokenSender, taskDefinitionArn: string, stop: StopSummary): Promise<Verdict | undefined> {
  await store.recordStop(taskDefinitionArn, stop);
  const pointer = await store.watchOfTaskDefinition(taskDefinitionArn);
  if (!pointer) return undefined;
  return decideAfter(store, sender, pointer, await store.applyStops(pointer, [stop.taskArn], stop));
}

async function decideAfter(store: Store, sender: TaskTokenSender, pointer: WatchPointer, watch: WatchRecord | undefined): Promise<Verdict | undefined> {
  if (watch) return decide(store, sender, watch);
  // closed already: the verdict it reached
  return (await store.getWatch(pointer.execution))?.verdict;
}

/** Decides a watch; the first caller to reach a final verdict closes it and sends the token. */
async function decide(store: Store, sender: TaskTokenSender, watch: WatchRecord): Promise<Verdict> {
  if (watch.status === 'done' && watch.verdict) return watch.verdict;
  const verdict = watchVerdict(watch);
  if (verdict.status === 'waiting') return verdict;
  if (!(await store.closeWatch(watch.execution, verdict))) return (await store.getWatch(watch.execution))?.verdict ?? verdict;
  if (verdict.status === 'completed') {
    await sender.succeed(watch.token, { outcome: 'completed', detail: verdict.detail });
  } else {
    await sender.fail(watch.token, 'RolloutFailed', JSON.stringify({ errorMessage: `${verdict.code}: ${verdict.reason}`, service: verdict.service, stop: verdict.stop }));
  }
  return verdict;
}
