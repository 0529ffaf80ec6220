import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../shared/aws/memory-store.js';
import type { Store, WatchLink } from '../../shared/aws/store.js';
import type { WatchedDeployment } from '../../shared/rollout/verdict.js';
import { recordDeploymentEvent, recordTaskStop, registerWatch } from '../../shared/watch/watch.js';
import { GatedStore, RecordingSender } from '../support/gated-store.js';

/**
 * The watch under every order its two sides can take, forced one store call at a time: the Watch
 * step registering (put the watch, link each deployment's item and read what it held, take the
 * completed ones off the pending set, decide) and task-events recording an ECS event (update its
 * deployment's item and read the link back, take it off the pending set, read the deployments, decide).
 * Whatever the order, the token is sent exactly once, with the right verdict.
 */
const deployments: WatchedDeployment[] = [
  { service: 'web', serviceName: 'r-shop-web', deploymentId: 'ecs-svc/1', taskDefinitionArn: 'arn:td/r-shop-web:2', desiredCount: 2 },
  { service: 'jobs', serviceName: 'r-shop-jobs', deploymentId: 'ecs-svc/2', taskDefinitionArn: 'arn:td/r-shop-jobs:2', desiredCount: 1 },
];
const watch = { execution: 'shop-1', app: 'shop', releaseId: 'R1', token: 'tok', deployments, failFastStops: 3 };
const completed = { outcome: 'completed' as const };
const stop = (n: number) => ({ taskArn: `arn:task/${n}`, cause: 'exit', summary: `container jobs exited with code 1 (${n})`, exitCode: 1 });

function setup() {
  const gated = new GatedStore(new MemoryStore(() => Date.parse('2026-03-02T14:00:00Z')));
  return { gated, store: gated.store as Store, sender: new RecordingSender() };
}

/**
 * Runs `first` until it reaches the store call `step` (or ends), runs `second` whole, then lets
 * `first` go on. Returns whether `first` was stopped there.
 */
async function interleave<M extends Parameters<GatedStore['pause']>[0]>(
  gated: GatedStore,
  step: M,
  first: () => Promise<unknown>,
  second: () => Promise<unknown>,
  when?: (arg: never) => boolean,
): Promise<boolean> {
  const gate = gated.pause(step, when as never);
  const running = first();
  const stopped = await Promise.race([gate.reached.then(() => true), running.then(() => false)]);
  // `first` never made that call: the gate must not stop `second` instead
  if (!stopped) gate.open();
  await second();
  gate.open();
  await running;
  return stopped;
}

const REGISTRATION_STEPS = ['putWatch', 'linkWatch', 'completeDeployments', 'closeWatch'] as const;
const EVENT_STEPS = ['recordOutcome', 'completeDeployments', 'watchDeployments', 'closeWatch'] as const;

describe('watch races', () => {
  it.each(REGISTRATION_STEPS)('the last completion arrives while the watch registers, before its %s: the token is sent once', async (step) => {
    const { gated, store, sender } = setup();
    // web completed before anything; jobs completes in the race
    await recordDeploymentEvent(store, sender, 'ecs-svc/1', completed);
    await interleave(
      gated,
      step,
      () => registerWatch(store, sender, watch, {}),
      () => recordDeploymentEvent(store, sender, 'ecs-svc/2', completed),
    );
    expect(sender.of('tok')).toMatchObject([{ kind: 'succeed', output: { outcome: 'completed' } }]);
    expect(await store.getWatch('shop-1')).toMatchObject({ status: 'done', verdict: { status: 'completed' } });
  });

  it.each([0, 1])('the last completion arrives while the watch links deployment %i: the token is sent once', async (index) => {
    const { gated, store, sender } = setup();
    await recordDeploymentEvent(store, sender, 'ecs-svc/1', completed);
    const stopped = await interleave(
      gated,
      'linkWatch',
      () => registerWatch(store, sender, watch, {}),
      () => recordDeploymentEvent(store, sender, 'ecs-svc/2', completed),
      (link: WatchLink) => link.index === index,
    );
    expect(stopped).toBe(true);
    expect(sender.of('tok')).toMatchObject([{ kind: 'succeed', output: { outcome: 'completed' } }]);
    expect(await store.getWatch('shop-1')).toMatchObject({ status: 'done', verdict: { status: 'completed' } });
  });

  it.each(EVENT_STEPS)('the watch registers while the last completion is recorded, before its %s: the token is sent once', async (step) => {
    const { gated, store, sender } = setup();
    await recordDeploymentEvent(store, sender, 'ecs-svc/1', completed);
    await interleave(
      gated,
      step,
      () => recordDeploymentEvent(store, sender, 'ecs-svc/2', completed),
      () => registerWatch(store, sender, watch, {}),
    );
    expect(sender.of('tok')).toMatchObject([{ kind: 'succeed' }]);
    expect(await store.getWatch('shop-1')).toMatchObject({ status: 'done', verdict: { status: 'completed' } });
  });

  it('stops split across registration count once per task: the third unexpected stop fails the rollout once', async () => {
    for (const registerAfter of [0, 1, 2, 3]) {
      const { store, sender } = setup();
      const record = (n: number) => recordTaskStop(store, sender, 'arn:td/r-shop-jobs:2', stop(n));
      for (let n = 1; n <= 3; n++) {
        if (n === registerAfter + 1) await registerWatch(store, sender, watch, {});
        await record(n);
        // EventBridge delivers at least once
        await record(n);
      }
      if (registerAfter === 3) await registerWatch(store, sender, watch, {});
      expect(sender.of('tok'), `registered after ${registerAfter} stops`).toMatchObject([{ kind: 'fail', error: 'RolloutFailed' }]);
      expect(JSON.parse(sender.of('tok')[0]!.cause!).errorMessage).toMatch(/^TOO_MANY_FAILED_TASKS: 3 tasks of r-shop-jobs:2/);
    }
  });

  it('a failure and a late completion of the same deployment racing: the failure stands, sent once', async () => {
    const { gated, store, sender } = setup();
    await registerWatch(store, sender, watch, {});
    await recordDeploymentEvent(store, sender, 'ecs-svc/1', completed);
    const stopped = await interleave(
      gated,
      'closeWatch',
      () => recordDeploymentEvent(store, sender, 'ecs-svc/2', { outcome: 'failed', reason: 'circuit breaker' }),
      () => recordDeploymentEvent(store, sender, 'ecs-svc/2', completed),
    );
    expect(stopped).toBe(true);
    expect(sender.of('tok')).toMatchObject([{ kind: 'fail', error: 'RolloutFailed' }]);
    expect(await store.getWatch('shop-1')).toMatchObject({ status: 'done', verdict: { status: 'failed', code: 'ROLLOUT_FAILED' } });
  });
});
