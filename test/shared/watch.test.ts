import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../shared/aws/memory-store.js';
import type { DeploymentFacts, WatchHeader, WatchLink } from '../../shared/aws/store.js';
import type { Observation, StopSummary, WatchedDeployment } from '../../shared/rollout/verdict.js';
import { completionVerdict, deploymentVerdict, recordDeploymentEvent, recordTaskStop, registerWatch, watchVerdict } from '../../shared/watch/watch.js';
import { RecordingSender } from '../support/gated-store.js';

/**
 * The watch decides event by event from one deployment's facts and the pending set; the verdict
 * table (shared/rollout/verdict.ts) decides from the whole record. Both must say the same.
 */
const web: WatchedDeployment = { service: 'web', serviceName: 'r--shop--web', deploymentId: 'ecs-svc/1', taskDefinitionArn: 'arn:td/r--shop--web:2', desiredCount: 2 };
const link: WatchLink = { execution: 'e', index: 0, deployment: web, failFastStops: 3 };
const stop = (n: number): StopSummary => ({ taskArn: `arn:task/${n}`, cause: 'exit', summary: `exited (${n})`, exitCode: 1 });
const facts = (outcome: Observation | undefined, stops: number): DeploymentFacts => ({
  ...(outcome ? { outcome } : {}),
  stoppedTasks: Array.from({ length: stops }, (_, i) => `arn:task/${i + 1}`),
  ...(stops ? { lastStop: stop(stops) } : {}),
});

describe('deploymentVerdict: one deployment, as the verdict table reads it', () => {
  it.each([
    ['nothing yet', undefined, 0, 'waiting', undefined],
    ['in progress, two stops', { outcome: 'in-progress' as const }, 2, 'waiting', undefined],
    ['completed', { outcome: 'completed' as const }, 0, 'completed', undefined],
    ['completed, but the third stop came', { outcome: 'completed' as const }, 3, 'failed', 'TOO_MANY_FAILED_TASKS'],
    ['three unexpected stops', undefined, 3, 'failed', 'TOO_MANY_FAILED_TASKS'],
    ['failed, with a stop to say why', { outcome: 'failed' as const, reason: 'circuit breaker' }, 1, 'failed', 'ROLLOUT_FAILED'],
  ])('%s', (_name, outcome, stops, status, code) => {
    const verdict = deploymentVerdict(link, facts(outcome, stops));
    expect(verdict.status).toBe(status);
    if (code) expect(verdict).toMatchObject({ code, service: 'web', ...(stops ? { stop: stop(stops) } : {}) });
  });
});

describe('completionVerdict: nothing pending is every deployment completed', () => {
  const header: WatchHeader = { execution: 'e', app: 'shop', releaseId: 'R1', token: 't', failFastStops: 3, status: 'waiting', pending: [] };
  const jobs = { ...web, service: 'jobs', deploymentId: 'ecs-svc/2', taskDefinitionArn: 'arn:td/r--shop--jobs:2' };
  it.each([
    [[1], undefined],
    [[], { status: 'completed', detail: 'web: ecs-svc/1 completed; jobs: ecs-svc/2 completed' }],
  ])('pending %j', (pending, expected) => {
    expect(completionVerdict({ ...header, pending }, [web, jobs])).toEqual(expected);
  });
});

describe('the watch, event by event, agrees with the verdict table on the whole record', () => {
  const deployments: WatchedDeployment[] = [0, 1, 2].map((i) => ({
    service: `s${i}`,
    serviceName: `r--shop--s${i}`,
    deploymentId: `ecs-svc/${i}`,
    taskDefinitionArn: `arn:td/r--shop--s${i}:2`,
    desiredCount: 1,
  }));
  type Event = { kind: 'outcome'; d: number; outcome: 'completed' | 'failed' | 'in-progress' } | { kind: 'stop'; d: number; task: number };
  const event: fc.Arbitrary<Event> = fc.oneof(
    fc.record({
      kind: fc.constant('outcome' as const),
      d: fc.integer({ min: 0, max: 2 }),
      outcome: fc.constantFrom('completed' as const, 'completed' as const, 'failed' as const, 'in-progress' as const),
    }),
    fc.record({ kind: fc.constant('stop' as const), d: fc.integer({ min: 0, max: 2 }), task: fc.integer({ min: 1, max: 4 }) }),
  );

  it('sends one token, at the first moment the whole record has a verdict, of the same kind', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 12 }), fc.nat(), async (events, at) => {
        const store = new MemoryStore(() => 0);
        const sender = new RecordingSender();
        const watch = { execution: 'e', app: 'shop', releaseId: 'R1', token: 'tok', deployments, failFastStops: 3 };
        const registerAt = at % (events.length + 1);
        const steps: Array<() => Promise<unknown>> = events.map((e) => () => {
          const d = deployments[e.d]!;
          return e.kind === 'outcome'
            ? recordDeploymentEvent(store, sender, d.deploymentId, { outcome: e.outcome })
            : recordTaskStop(store, sender, d.taskDefinitionArn, stop(e.task));
        });
        steps.splice(registerAt, 0, () => registerWatch(store, sender, watch, {}));
        let registered = false;
        for (const [i, step] of steps.entries()) {
          const sentBefore = sender.of('tok').length;
          await step();
          registered ||= i === registerAt;
          const sent = sender.of('tok');
          expect(sent.length).toBeLessThanOrEqual(1);
          if (!registered || sentBefore === 1) continue;
          const record = (await store.getWatch('e'))!;
          const whole = watchVerdict({ ...record, status: 'waiting' });
          if (sent.length === 0) expect(whole.status, `after step ${i}`).toBe('waiting');
          else expect(sent[0]!.kind, `after step ${i}`).toBe(whole.status === 'completed' ? 'succeed' : 'fail');
        }
      }),
      { seed: 11, numRuns: 300 },
    );
  });
});
