import pLimit from 'p-limit';
import type { DeploymentFacts, NewWatch, Store, WatchHeader, WatchLink, WatchRecord } from '../aws/store.js';
import { type Observation, rolloutVerdict, type StopSummary, type StopTally, type Verdict, type WatchedDeployment } from '../rollout/verdict.js';

/**
 * The one mechanism that resumes a waiting deploy. The Watch step registers its task token here;
 * ECS events (task-events) record outcomes here. Either side may come first, twice, or not at all:
 * both record, then decide, and a conditional write lets exactly one of them send the token.
 *
 * An event costs a bounded number of store calls, each on an item of bounded size, however many
 * services the deploy has: it updates its deployment's (or task definition's) own item and reads it
 * back in the same call — which says whether a watch is linked to it yet — then at most takes the
 * deployment off the watch's pending set, and the event that empties it (or fails the rollout) closes
 * the watch. Registration links every deployment's item the same way, so an event and the watch see
 * each other whichever comes first: each item is updated atomically.
 */
export interface TaskTokenSender {
  succeed(token: string, output: unknown): Promise<void>;
  fail(token: string, error: string, cause: string): Promise<void>;
}

/** Registration links this many deployments at once (two small UpdateItems each). */
const LINK_CONCURRENCY = 10;

/** Pure: the verdict inputs of a watch, as the verdict table reads them. */
export function verdictInputs(watch: WatchRecord): { seen: Record<string, Observation | undefined>; stops: Record<string, StopTally | undefined> } {
  const seen: Record<string, Observation | undefined> = {};
  const stops: Record<string, StopTally | undefined> = {};
  watch.deployments.forEach((d, i) => {
    const facts = watch.facts[i];
    seen[d.deploymentId] = facts?.outcome;
    if (facts?.stoppedTasks.length) stops[d.taskDefinitionArn] = tally(facts)!;
  });
  return { seen, stops };
}

function tally(facts: DeploymentFacts): StopTally | undefined {
  return facts.stoppedTasks.length ? { count: facts.stoppedTasks.length, ...(facts.lastStop ? { last: facts.lastStop } : {}) } : undefined;
}

/** Pure: the verdict of a watch from what it has recorded. */
export function watchVerdict(watch: WatchRecord): Verdict {
  const { seen, stops } = verdictInputs(watch);
  return rolloutVerdict(watch.deployments, seen, stops, watch.failFastStops);
}

/**
 * Pure: the verdict table applied to one deployment's facts: `completed` (take it off the pending
 * set), `failed` (the rollout has failed, whatever the others do) or `waiting`.
 */
export function deploymentVerdict(link: WatchLink, facts: DeploymentFacts): Verdict {
  const d = link.deployment;
  const stops = tally(facts);
  return rolloutVerdict([d], { [d.deploymentId]: facts.outcome }, stops ? { [d.taskDefinitionArn]: stops } : {}, link.failFastStops);
}

/** Pure: once no deployment is pending, every one completed: the verdict; undefined while some are pending. */
export function completionVerdict(header: WatchHeader, deployments: WatchedDeployment[]): Verdict | undefined {
  if (header.pending.length > 0) return undefined;
  const completed: Observation = { outcome: 'completed' };
  return rolloutVerdict(deployments, Object.fromEntries(deployments.map((d) => [d.deploymentId, completed])), {}, header.failFastStops);
}

/**
 * Registers a watch and folds in what arrived before it — events recorded with no watch yet and what
 * DescribeServices already says (`described`, by deployment id) — then decides once.
 */
export async function registerWatch(store: Store, sender: TaskTokenSender, watch: NewWatch, described: Record<string, Observation | undefined>): Promise<Verdict> {
  await store.putWatch(watch);
  const limit = pLimit(LINK_CONCURRENCY);
  const facts = await Promise.all(
    watch.deployments.map((deployment, index) =>
      limit(async () => {
        const held = await store.linkWatch({ execution: watch.execution, index, deployment, failFastStops: watch.failFastStops });
        const seen = described[deployment.deploymentId];
        if (!seen || seen.outcome === 'in-progress' || (held.outcome && held.outcome.outcome !== 'in-progress')) return held;
        // kept as the event would have kept it, for Verify and the CLI
        const recorded = await store.recordOutcome(deployment.deploymentId, seen);
        return { ...held, ...(recorded.facts.outcome ? { outcome: recorded.facts.outcome } : {}) };
      }),
    ),
  );
  const verdict = watchVerdict({ ...watch, status: 'waiting', facts });
  if (verdict.status === 'failed') return close(store, sender, watch.execution, verdict);
  const completed = facts.flatMap((f, i) => (f.outcome?.outcome === 'completed' ? [i] : []));
  if (watch.deployments.length > 0 && completed.length === 0) return verdict;
  const header = await store.completeDeployments(watch.execution, completed);
  // an event closed it meanwhile
  if (!header) return (await store.getWatch(watch.execution))?.verdict ?? verdict;
  const done = completionVerdict(header, watch.deployments);
  if (done) return close(store, sender, watch.execution, done);
  return { status: 'waiting', pending: header.pending.map((i) => watch.deployments[i]!.service) };
}

/**
 * An ECS Deployment State Change: record it, and resume the watch that follows it, if any. An
 * in-progress event decides nothing (the verdict reads only final outcomes; Verify asks
 * DescribeServices itself) and costs nothing.
 */
export async function recordDeploymentEvent(store: Store, sender: TaskTokenSender, deploymentId: string, observation: Observation): Promise<Verdict | undefined> {
  if (observation.outcome === 'in-progress') return undefined;
  const { link, facts } = await store.recordOutcome(deploymentId, observation);
  if (!link) return undefined;
  const verdict = deploymentVerdict(link, facts);
  if (verdict.status === 'failed') {
    // the task definition's last unexpected stop says why
    const stops = await store.stopsOf(link);
    return close(store, sender, link.execution, deploymentVerdict(link, { ...stops, ...(facts.outcome ? { outcome: facts.outcome } : {}) }));
  }
  if (verdict.status === 'waiting') return verdict;
  const header = await store.completeDeployments(link.execution, [link.index]);
  if (!header) return undefined;
  // the event knows the pending deployments by index only (their names are read once, at the end)
  if (header.pending.length > 0) return { status: 'waiting', pending: header.pending.map((i) => `deployment ${i}`) };
  const deployments = await store.watchDeployments(link.execution);
  const done = deployments && completionVerdict(header, deployments);
  return done ? close(store, sender, link.execution, done) : undefined;
}

/** An unexpected task stop of a task definition: count it once per task, resume its watch. */
export async function recordTaskStop(store: Store, sender: TaskTokenSender, taskDefinitionArn: string, stop: StopSummary): Promise<Verdict | undefined> {
  const { link, facts } = await store.recordStop(taskDefinitionArn, stop);
  if (!link) return undefined;
  const verdict = deploymentVerdict(link, facts);
  return verdict.status === 'failed' ? close(store, sender, link.execution, verdict) : verdict;
}

/** The first caller to reach a final verdict closes the watch and sends its token; the others change nothing. The verdict this caller reached. */
async function close(store: Store, sender: TaskTokenSender, execution: string, verdict: Verdict): Promise<Verdict> {
  const closed = await store.closeWatch(execution, verdict);
  if (!closed) return verdict;
  if (verdict.status === 'completed') {
    await sender.succeed(closed.token, { outcome: 'completed', detail: verdict.detail });
  } else if (verdict.status === 'failed') {
    await sender.fail(closed.token, 'RolloutFailed', JSON.stringify({ errorMessage: `${verdict.code}: ${verdict.reason}`, service: verdict.service, stop: verdict.stop }));
  }
  return verdict;
}
