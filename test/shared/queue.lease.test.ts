import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { epochSeconds } from '../../shared/aws/store.js';
import { MemoryStore } from '../../shared/aws/memory-store.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { deployStep, leaseVerdict, type Renewal, renewLease, WHEN_LOCK_LOST } from '../../shared/queue/lease.js';
import { enqueue, LOCK_LEASE_SECONDS, SWEEP_INTERVAL_SECONDS } from '../../shared/queue/queue.js';
import { sweep } from '../../shared/queue/sweep.js';
import { arnOf, FakeStepFunctions } from '../support/fake-sfn.js';
import { TestClock } from '../support/store-subjects.js';

/**
 * The lock lease a running deploy keeps fresh (shared/queue/lease.ts), on the in-memory store with
 * the test's clock and an in-memory Step Functions: every step renews it as it starts, the sweep
 * renews it while no step runs, and neither renewal ever keeps a dead execution's lock.
 */
const ROOT = new URL('../../', import.meta.url).pathname;

function setup() {
  const clock = new TestClock();
  const store = new MemoryStore(clock.now);
  const sfn = new FakeStepFunctions();
  return { clock, store, sfn, deps: { store, sender: sfn, executions: sfn, now: clock.now } };
}
type Setup = ReturnType<typeof setup>;

const deploy = (execution: string, second: number): DeployState =>
  ({
    app: 'shop',
    execution,
    trigger: 'upload',
    order: { time: new Date(Date.parse('2026-03-02T14:00:00Z') + second * 1000).toISOString(), sequencer: String(second).padStart(8, '0') },
    source: { bucket: 'b', key: `apps/shop/${execution}.tar.gz` },
    startedAt: '2026-03-02T14:00:00Z',
    timings: [],
  }) as DeployState;

/** The deploy after its Queue step: the state machine puts the step's result at $.queue. */
const queued = (execution: string, second: number): DeployState => ({ ...deploy(execution, second), queue: { waitedMs: 0 } });

/** A (holding the lock, past its Queue step) and B waiting behind it. */
async function aHoldsBWaits(s: Setup) {
  expect(await enqueue(deploy('a', 1), s.sfn.token('a'), s.deps, arnOf('a'))).toBe('running');
  expect(await enqueue(deploy('b', 2), s.sfn.token('b'), s.deps, arnOf('b'))).toBe('waiting');
  return queued('a', 1);
}

const lease = async (s: Setup) => (await s.store.getLock('shop'))?.expiresAt;
const nowSeconds = (s: Setup) => epochSeconds(s.clock.ms);
const described = (s: Setup, execution: string) => s.sfn.described.filter((arn) => arn === arnOf(execution)).length;

/** A step of the workflow, as its handler is made: the lease renewed first, then `body`. */
function step(s: Setup, name: keyof typeof WHEN_LOCK_LOST, body: (state: DeployState) => void = () => undefined) {
  const handler = deployStep(name, { store: s.store, now: s.clock.now }, async (state: DeployState) => {
    body(state);
    return state;
  });
  return (state: DeployState) => handler(state, {} as never);
}

describe('which steps renew, and what each does when its lock is lost', () => {
  it('every Lambda step of the deploy workflow but the queue’s own is a deploy step, and each handler is made by deployStep', () => {
    const asl = parse(readFileSync(`${ROOT}state-machines/deploy.asl.yml`, 'utf8')) as { States: Record<string, { Resource?: unknown; Parameters?: { FunctionName?: unknown } }> };
    const functionOf = (state: { Resource?: unknown; Parameters?: { FunctionName?: unknown } }) =>
      ((state.Parameters?.FunctionName ?? state.Resource) as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
    const lambdas = new Set(
      Object.values(asl.States)
        .map(functionOf)
        .filter((fn): fn is string => !!fn),
    );
    lambdas.delete('queue');
    expect([...lambdas].sort()).toEqual(Object.keys(WHEN_LOCK_LOST).sort());
    for (const fn of lambdas) expect(readFileSync(`${ROOT}functions/${fn}/handler.ts`, 'utf8'), fn).toMatch(new RegExp(`deployStep\\(\\s*'${fn}'`));
  });

  it.each<[string, Renewal, 'stop' | 'go-on', string]>([
    ['renewed', { kind: 'renewed', until: 1 }, 'stop', 'run'],
    ['renewed', { kind: 'renewed', until: 1 }, 'go-on', 'run'],
    ['never queued (superseded)', { kind: 'not-queued' }, 'stop', 'run'],
    ['never queued (superseded)', { kind: 'not-queued' }, 'go-on', 'run'],
    ['held by another deploy', { kind: 'lost', holder: 'b' }, 'stop', 'stop'],
    ['held by another deploy', { kind: 'lost', holder: 'b' }, 'go-on', 'warn'],
    ['released', { kind: 'lost' }, 'stop', 'stop'],
    ['released', { kind: 'lost' }, 'go-on', 'warn'],
  ])('%s, a step that must %s → %s', (_, renewal, whenLost, verdict) => {
    expect(leaseVerdict(renewal, whenLost)).toBe(verdict);
  });

  it('forward steps stop, the ones that look, undo or report go on', () => {
    expect(WHEN_LOCK_LOST).toEqual({ prepare: 'stop', release: 'stop', promote: 'stop', retire: 'stop', watch: 'go-on', verify: 'go-on', rollback: 'go-on', notify: 'go-on' });
  });
});

describe('a step renews its deploy’s lease as it starts', () => {
  it('to now + one lease, only while the lock is its own', async () => {
    const s = setup();
    const a = await aHoldsBWaits(s);
    s.clock.ms += 540_000;
    expect(await renewLease(a, s.deps)).toEqual({ kind: 'renewed', until: nowSeconds(s) + LOCK_LEASE_SECONDS });
    expect(await lease(s)).toBe(nowSeconds(s) + LOCK_LEASE_SECONDS);
    // B is past nothing: it has no lock to renew, and A's is left alone
    expect(await renewLease(deploy('b', 2), s.deps)).toEqual({ kind: 'not-queued' });
    expect(await renewLease(queued('b', 2), s.deps)).toEqual({ kind: 'lost', holder: 'a' });
    expect(await lease(s)).toBe(nowSeconds(s) + LOCK_LEASE_SECONDS);
  });

  it('a deploy whose steps run for seven leases keeps its lock, and the sweep never needs to ask about it', async () => {
    const s = setup();
    const a = await aHoldsBWaits(s);
    // (B's Queue step asked once, as it found the lock held)
    const asked = described(s, 'a');
    const start = s.clock.ms;
    // a step starts every 4 minutes (a slow Prepare, a build's worth of Release…), a sweep runs every 5
    const steps = Object.keys(WHEN_LOCK_LOST) as Array<keyof typeof WHEN_LOCK_LOST>;
    let nextStep = 0;
    let nextSweep = SWEEP_INTERVAL_SECONDS * 1000;
    for (let ms = 0; ms <= 7 * LOCK_LEASE_SECONDS * 1000; ms += 60_000) {
      s.clock.ms = start + ms;
      if (ms >= nextSweep) {
        nextSweep += SWEEP_INTERVAL_SECONDS * 1000;
        expect((await sweep(s.deps)).healed).toEqual([]);
      }
      if (ms % 240_000 === 0) {
        await step(s, steps[nextStep++ % steps.length]!)(a);
        expect(await lease(s)).toBe(nowSeconds(s) + LOCK_LEASE_SECONDS);
      }
      expect((await s.store.getLock('shop'))?.holder, `at ${ms / 1000} s`).toBe('a');
      expect(await lease(s), `at ${ms / 1000} s`).toBeGreaterThan(nowSeconds(s));
    }
    expect(nextStep).toBeGreaterThan(steps.length);
    // every look at the lock found a fresh lease: Step Functions was never asked about A
    expect(described(s, 'a')).toBe(asked);
    // B is still waiting, and a newer upload that arrives now waits too (it asks: A runs)
    expect((await s.store.listQueue('shop')).find((q) => q.execution === 'b')?.status).toBe('waiting');
    expect(await enqueue(deploy('c', 3), s.sfn.token('c'), s.deps, arnOf('c'))).toBe('waiting');
    expect((await s.store.getLock('shop'))?.holder).toBe('a');
    expect(s.sfn.of('c')).toEqual([]);
  });

  it('while it waits in Watch (no step runs for half an hour) the sweep renews it: the lease never lapses', async () => {
    const s = setup();
    const a = await aHoldsBWaits(s);
    await step(s, 'watch')(a);
    const asked = described(s, 'a');
    const parked = s.clock.ms;
    let renewals = 0;
    for (let tick = 1; tick <= 6; tick++) {
      s.clock.ms = parked + tick * SWEEP_INTERVAL_SECONDS * 1000;
      // just before the sweep: the lease has not lapsed
      expect(await lease(s)).toBeGreaterThanOrEqual(nowSeconds(s));
      const report = await sweep(s.deps);
      if (report.healed.some((h) => h.renewed === 'a')) renewals += 1;
      expect(await lease(s)).toBeGreaterThan(nowSeconds(s) + SWEEP_INTERVAL_SECONDS);
      expect((await s.store.getLock('shop'))?.holder).toBe('a');
    }
    // each renewal asked Step Functions first (A runs), and only when its lease was due
    expect(renewals).toBeGreaterThanOrEqual(3);
    expect(described(s, 'a') - asked).toBe(renewals);
    // the rollout ends: Retire and Notify renew as they start
    await step(s, 'retire')(a);
    expect(await lease(s)).toBe(nowSeconds(s) + LOCK_LEASE_SECONDS);
  });

  it.each(Array.from({ length: 6 }, (_, i) => i * 60))(
    'an execution that dies just after a step renewed its lease is freed by the sweep within one lease (sweep %i s after the renewal)',
    async (phase) => {
      const s = setup();
      const a = await aHoldsBWaits(s);
      await step(s, 'promote')(a);
      // it dies now, and its status-change event never reaches the queue
      const died = s.clock.ms;
      s.sfn.end('a', 'ABORTED');
      let freed: number | undefined;
      for (let tick = 0; freed === undefined && tick < 10; tick++) {
        s.clock.ms = died + (phase + tick * SWEEP_INTERVAL_SECONDS) * 1000;
        const report = await sweep(s.deps);
        if (report.healed.some((h) => h.released.includes('a'))) {
          freed = s.clock.ms;
          expect(report.healed).toEqual([expect.objectContaining({ app: 'shop', released: ['a'], woken: 'b' })]);
        }
      }
      expect(freed).toBeDefined();
      expect(freed! - died).toBeLessThanOrEqual(LOCK_LEASE_SECONDS * 1000);
      expect((await s.store.getLock('shop'))?.holder).toBe('b');
      expect(s.sfn.of('b')).toEqual(['succeed']);
    },
  );
});

describe('a step that finds its lock lost', () => {
  const cases = [
    [
      'held by another deploy',
      async (s: Setup) => {
        await s.store.releaseLock('shop', 'a');
        await s.store.takeLock('shop', { holder: 'z', order: { time: '2026-03-02T15:00:00Z' }, expiresAt: nowSeconds(s) + 60 });
      },
    ],
    [
      'released (the LOCK item deleted by hand)',
      async (s: Setup) => {
        await s.store.releaseLock('shop', 'a');
      },
    ],
  ] as const;

  it.each(cases)('%s: a forward step fails with LOCK_LOST before doing anything, and the lock stays as it is', async (how, lose) => {
    const s = setup();
    const a = await aHoldsBWaits(s);
    await lose(s);
    const before = await s.store.getLock('shop');
    for (const name of ['prepare', 'release', 'promote', 'retire'] as const) {
      let ran = false;
      const error = await step(s, name, () => {
        ran = true;
      })(a).catch((e: Error) => e);
      expect(error).toMatchObject({ name: 'LockLost', code: 'LOCK_LOST' });
      expect((error as Error).message).toMatch(
        new RegExp(
          `^LOCK_LOST: the deploy lock of app shop ${how.startsWith('held') ? 'is held by another deploy \\(z\\)' : 'was released'} while this deploy \\(a\\) still ran; ${name} stopped before changing anything`,
        ),
      );
      expect(ran, name).toBe(false);
    }
    expect(await s.store.getLock('shop')).toEqual(before);
  });

  it.each(cases)('%s: a step that looks, undoes or reports goes on, and does not take the lock back', async (_, lose) => {
    const s = setup();
    const a = await aHoldsBWaits(s);
    await lose(s);
    const before = await s.store.getLock('shop');
    for (const name of ['watch', 'verify', 'rollback', 'notify'] as const) {
      let ran = false;
      await expect(
        step(s, name, () => {
          ran = true;
        })(a),
      ).resolves.toEqual(a);
      expect(ran, name).toBe(true);
    }
    expect(await s.store.getLock('shop')).toEqual(before);
  });

  it('a deploy superseded in its Queue step reaches Notify without a lock: it runs and leaves the holder’s lease alone', async () => {
    const s = setup();
    await aHoldsBWaits(s);
    const before = await s.store.getLock('shop');
    s.clock.ms += 60_000;
    const superseded: DeployState = { ...deploy('b', 2), failedStep: 'Queue', failure: { Error: 'Superseded', Cause: '{}' } };
    await expect(step(s, 'notify')(superseded)).resolves.toEqual(superseded);
    expect(await s.store.getLock('shop')).toEqual(before);
  });
});
