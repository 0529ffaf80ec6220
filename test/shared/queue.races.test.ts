import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../shared/aws/memory-store.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { enqueue, handover, LOCK_LEASE_SECONDS, SWEEP_INTERVAL_SECONDS } from '../../shared/queue/queue.js';
import { sweep } from '../../shared/queue/sweep.js';
import { arnOf, FakeStepFunctions } from '../support/fake-sfn.js';
import { GatedStore } from '../support/gated-store.js';

/**
 * The per-app queue under every interleaving that matters, forced one store call at a time with the
 * in-memory store and an in-memory Step Functions (test/support/fake-sfn.ts, which refuses a token
 * as AWS does once its execution ended or it was answered). No test waits for time: the clock is the
 * test's. Each ends with the app deployable again — its lock free or held by a deploy that runs, and
 * a newer upload then runs — and every execution told once what to do (one notification each).
 */
const NOW = Date.parse('2026-03-02T14:00:00Z');

function setup() {
  const clock = { ms: NOW };
  const now = () => clock.ms;
  const gated = new GatedStore(new MemoryStore(now));
  const sfn = new FakeStepFunctions();
  const deps = { store: gated.store, sender: sfn, executions: sfn, now };
  return { clock, gated, sfn, deps, store: gated.store };
}
type Setup = ReturnType<typeof setup>;

const deploy = (execution: string, second: number, key = `apps/shop/${execution}.tar.gz`): DeployState =>
  ({
    app: 'shop',
    execution,
    trigger: 'upload',
    order: { time: new Date(NOW + second * 1000).toISOString(), sequencer: String(second).padStart(8, '0') },
    source: { bucket: 'b', key },
    startedAt: new Date(NOW).toISOString(),
    timings: [],
  }) as DeployState;

/** The Queue step of an execution (a new attempt: a new token), as the state machine invokes it. */
const queueUp = (s: Setup, execution: string, second: number, key?: string) => enqueue(deploy(execution, second, key), s.sfn.token(execution), s.deps, arnOf(execution));

const holder = async (s: Setup) => (await s.store.getLock('shop'))?.holder;

/** A running, then B arrives: B waits. */
async function aRunningBWaiting() {
  const s = setup();
  expect(await queueUp(s, 'a', 1)).toBe('running');
  expect(await queueUp(s, 'b', 2)).toBe('waiting');
  return s;
}

/**
 * The app is deployable again: every deploy that holds the lock finishes in turn, then a newer
 * upload runs at once; and no execution was told twice.
 */
async function expectDeployable(s: Setup) {
  for (let finished = 0; finished < 10; finished++) {
    const lock = await s.store.getLock('shop');
    if (!lock) break;
    s.sfn.end(lock.holder, 'SUCCEEDED');
    await handover('shop', lock.holder, s.deps);
  }
  expect(await holder(s)).toBeUndefined();
  expect(await queueUp(s, 'z', 10_000_000)).toBe('running');
  for (const { execution } of s.sfn.accepted) expect(s.sfn.of(execution), execution).toHaveLength(1);
}

describe('queue races', () => {
  it('B arrives while A holds the lock: B waits, A’s handover runs it', async () => {
    const s = await aRunningBWaiting();
    expect(s.sfn.of('b')).toEqual([]);
    expect(await handover('shop', 'a', s.deps)).toBe('b');
    expect(s.sfn.of('b')).toEqual(['succeed']);
    expect(await holder(s)).toBe('b');
    await expectDeployable(s);
  });

  it('A hands over while B, which found the lock free, has not yet taken it: both start B, B runs once', async () => {
    const s = setup();
    expect(await queueUp(s, 'a', 1)).toBe('running');
    // A's handover has released its lock and stops before it looks at the lock again
    let aLooks = 0;
    const aGate = s.gated.pause('getLock', () => ++aLooks === 2);
    const handing = handover('shop', 'a', s.deps);
    await aGate.reached;
    expect(await holder(s)).toBeUndefined();
    // B arrives, finds the lock free, and stops just before it takes it
    const bGate = s.gated.pause('takeLock', (_app, lock) => lock.holder === 'b');
    const b = queueUp(s, 'b', 2);
    await bGate.reached;
    // A goes on: B waits, so A takes the lock for B and sends B's token
    aGate.open();
    expect(await handing).toBe('b');
    // B goes on: the lock is already its own; its token was answered (refused the second time)
    bGate.open();
    expect(await b).toBe('running');
    expect(s.sfn.of('b')).toEqual(['succeed']);
    expect(await holder(s)).toBe('b');
    await expectDeployable(s);
  });

  it('A hands over while B is looking at A’s lock once more: B is woken once and says so', async () => {
    const s = setup();
    expect(await queueUp(s, 'a', 1)).toBe('running');
    // B's second look at the lock (after it found it held) is held back
    let looks = 0;
    const gate = s.gated.pause('getLock', () => ++looks === 2);
    const b = queueUp(s, 'b', 2);
    await gate.reached;
    expect(await handover('shop', 'a', s.deps)).toBe('b');
    gate.open();
    expect(await b).toBe('running');
    expect(s.sfn.of('b')).toEqual(['succeed']);
    await expectDeployable(s);
  });

  it('A’s handover and B’s retried Queue step both start B: B runs once, on its live token', async () => {
    const s = await aRunningBWaiting();
    const gate = s.gated.pause('takeLock', (_app, lock) => lock.holder === 'b');
    const handing = handover('shop', 'a', s.deps);
    await gate.reached;
    // B's Queue step is retried (its Lambda timed out): a new token, the old one closed
    const retried = queueUp(s, 'b', 2);
    expect(await retried).toBe('running');
    gate.open();
    expect(await handing).toBe('b');
    expect(s.sfn.of('b')).toEqual(['succeed']);
    expect(await holder(s)).toBe('b');
    expect((await s.store.listQueue('shop')).filter((q) => q.status === 'running').map((q) => q.execution)).toEqual(['b']);
    await expectDeployable(s);
  });

  it('a newer tarball supersedes an older one that is still waiting, in either arrival order', async () => {
    for (const order of [
      ['b', 'c'],
      ['c', 'b'],
    ]) {
      const s = setup();
      expect(await queueUp(s, 'a', 1)).toBe('running');
      const seconds: Record<string, number> = { b: 2, c: 3 };
      const results: Record<string, string> = {};
      for (const name of order) results[name] = await queueUp(s, name, seconds[name]!);
      expect(results).toEqual({ b: order[0] === 'b' ? 'waiting' : 'superseded', c: 'waiting' });
      expect(s.sfn.of('b')).toEqual(['fail:Superseded']);
      expect(await handover('shop', 'a', s.deps)).toBe('c');
      await expectDeployable(s);
    }
  });
});

describe('a waiter whose execution ended', () => {
  it('is passed over when it was aborted while it waited: the lock is freed, the finishing deploy’s handover succeeds', async () => {
    const s = await aRunningBWaiting();
    // B's execution is aborted; its ABORTED event is lost (best-effort delivery)
    s.sfn.end('b', 'ABORTED');
    await expect(handover('shop', 'a', s.deps)).resolves.toBeUndefined();
    expect(s.sfn.refused).toEqual([]);
    expect((await s.store.listQueue('shop')).find((q) => q.execution === 'b')?.status).toBe('abandoned');
    await expectDeployable(s);
  });

  it('is passed over for the next one down that still runs, which is not superseded by the dead one', async () => {
    const s = await aRunningBWaiting();
    // two live waiters at once (the moment two enqueues cross, forced here: C does not see B waiting)
    await s.store.transitionQueueItem('shop', 'b', 'waiting', 'running');
    expect(await queueUp(s, 'c', 3)).toBe('waiting');
    await s.store.transitionQueueItem('shop', 'b', 'running', 'waiting');
    s.sfn.end('c', 'ABORTED');
    expect(await handover('shop', 'a', s.deps)).toBe('b');
    expect(s.sfn.of('b')).toEqual(['succeed']);
    expect(s.sfn.of('c')).toEqual([]);
    await expectDeployable(s);
  });

  it('dies between the check and its token: its token bounces, the lock comes back', async () => {
    const s = await aRunningBWaiting();
    const gate = s.gated.pause('takeLock', (_app, lock) => lock.holder === 'b');
    const handing = handover('shop', 'a', s.deps);
    await gate.reached;
    s.sfn.end('b', 'ABORTED');
    gate.open();
    await expect(handing).resolves.toBeUndefined();
    expect(s.sfn.refused).toEqual([expect.stringMatching(/^b#/)]);
    expect(await holder(s)).toBeUndefined();
    expect((await s.store.listQueue('shop')).find((q) => q.execution === 'b')?.status).toBe('abandoned');
    await expectDeployable(s);
  });

  it('is being retried when its token bounces: it keeps the lock and its retry goes on', async () => {
    const s = await aRunningBWaiting();
    const gate = s.gated.pause('takeLock', (_app, lock) => lock.holder === 'b');
    const handing = handover('shop', 'a', s.deps);
    await gate.reached;
    const retryToken = s.sfn.token('b'); // a new attempt of B's Queue step: the old token is closed
    gate.open();
    expect(await handing).toBe('b');
    expect(await holder(s)).toBe('b');
    // the retried attempt finds its item running: it goes on
    expect(await enqueue(deploy('b', 2), retryToken, s.deps, arnOf('b'))).toBe('running');
    expect(s.sfn.of('b')).toEqual(['succeed']);
    await expectDeployable(s);
  });
});

describe('a handover that dies half-way', () => {
  it('after taking the lock for B, before B’s token: the retried Hand over sends it', async () => {
    const s = await aRunningBWaiting();
    const tokenB = (await s.store.listQueue('shop')).find((q) => q.execution === 'b')!.token;
    s.sfn.crashOn(tokenB);
    await expect(handover('shop', 'a', s.deps)).rejects.toThrow('the Lambda died');
    expect(await s.store.getLock('shop')).toMatchObject({ holder: 'b', wakeToken: tokenB });
    expect(s.sfn.of('b')).toEqual([]);
    // the Hand over step's Retry runs it again: A's lock is gone, B's token goes out
    await handover('shop', 'a', s.deps);
    expect(s.sfn.of('b')).toEqual(['succeed']);
    expect((await s.store.getLock('shop'))?.wakeToken).toBeUndefined();
    await expectDeployable(s);
  });

  it('after taking the lock for B, before B’s token, and nothing retries: the sweep sends it', async () => {
    const s = await aRunningBWaiting();
    const tokenB = (await s.store.listQueue('shop')).find((q) => q.execution === 'b')!.token;
    s.sfn.crashOn(tokenB);
    await expect(handover('shop', 'a', s.deps)).rejects.toThrow();
    const report = await sweep(s.deps);
    expect(report.healed).toEqual([expect.objectContaining({ app: 'shop', rewoken: 'b' })]);
    expect(s.sfn.of('b')).toEqual(['succeed']);
    // a second sweep changes nothing: the token was confirmed sent
    expect((await sweep(s.deps)).healed).toEqual([]);
    await expectDeployable(s);
  });

  it('after releasing A’s lock, before waking B (the Lambda died there): the sweep wakes B', async () => {
    const s = await aRunningBWaiting();
    // the handover stops for good just before it takes the lock for B
    const gate = s.gated.pause('takeLock', (_app, lock) => lock.holder === 'b');
    void handover('shop', 'a', s.deps);
    await gate.reached;
    expect(await holder(s)).toBeUndefined();
    const report = await sweep(s.deps);
    expect(report.healed).toEqual([expect.objectContaining({ app: 'shop', woken: 'b' })]);
    expect(s.sfn.of('b')).toEqual(['succeed']);
    await expectDeployable(s);
  });
});

describe('leases', () => {
  it('a holder that dies and sends no event is handed on by the sweep within one lease, whatever the sweep’s phase', async () => {
    for (const phase of [0, 1, 60, 150, 299]) {
      const s = await aRunningBWaiting();
      // the sweep has been running every 5 minutes, last renewing A's lease; A dies just after
      const firstSweep = NOW + phase * 1000;
      s.clock.ms = firstSweep;
      await sweep(s.deps);
      const died = s.clock.ms;
      s.sfn.end('a', 'FAILED');
      let woken: number | undefined;
      for (let tick = 1; tick <= 10 && woken === undefined; tick++) {
        s.clock.ms = firstSweep + tick * SWEEP_INTERVAL_SECONDS * 1000;
        await sweep(s.deps);
        if (s.sfn.of('b').length) woken = s.clock.ms;
      }
      expect(woken, `phase ${phase}`).toBeDefined();
      expect(woken! - died, `phase ${phase}`).toBeLessThanOrEqual(LOCK_LEASE_SECONDS * 1000);
      expect(s.sfn.of('b')).toEqual(['succeed']);
      await expectDeployable(s);
    }
  });

  it('a holder that runs for hours (three builds, a long watch) keeps the lock: the sweep renews it, an upload waits', async () => {
    const s = setup();
    expect(await queueUp(s, 'a', 1)).toBe('running');
    const described = () => s.sfn.described.length;
    for (let minute = 5; minute <= 4 * 60; minute += 5) {
      s.clock.ms = NOW + minute * 60_000;
      await sweep(s.deps);
      expect(await holder(s)).toBe('a');
      if (minute === 120) expect(await queueUp(s, 'b', 7200)).toBe('waiting');
    }
    // asked about once per lease, not once per sweep
    expect(described()).toBeLessThanOrEqual((4 * 60) / 5 + 1);
    expect((await s.store.getLock('shop'))!.expiresAt * 1000).toBeGreaterThan(s.clock.ms);
    expect(s.sfn.of('b')).toEqual([]);
    expect(await handover('shop', 'a', s.deps)).toBe('b');
    await expectDeployable(s);
  });

  it('with no sweep at all, an upload that finds a lapsed lease asks Step Functions, renews a live holder’s, and waits', async () => {
    const s = setup();
    expect(await queueUp(s, 'a', 1)).toBe('running');
    s.clock.ms = NOW + 3 * 3600_000;
    expect(await queueUp(s, 'b', 3 * 3600)).toBe('waiting');
    expect(await s.store.getLock('shop')).toMatchObject({ holder: 'a', expiresAt: Math.floor(s.clock.ms / 1000) + LOCK_LEASE_SECONDS });
    expect(await handover('shop', 'a', s.deps)).toBe('b');
    await expectDeployable(s);
  });

  it('an upload that finds the holder dead (its event lost, its lease still fresh) takes over at once', async () => {
    const s = setup();
    expect(await queueUp(s, 'a', 1)).toBe('running');
    s.sfn.end('a', 'ABORTED');
    expect(await queueUp(s, 'b', 2)).toBe('running');
    expect((await s.store.listQueue('shop')).find((q) => q.execution === 'a')?.status).toBe('done');
    await expectDeployable(s);
  });

  it('an idle rack: the sweep reads the index, asks Step Functions nothing, writes nothing', async () => {
    const s = setup();
    expect(await sweep(s.deps)).toEqual({ apps: 0, healed: [], failed: [] });
    expect(s.gated.calls()).toEqual(['appsToSweep']);
    // a deploy in progress, lease not due: one read of its lock, no question to Step Functions
    expect(await queueUp(s, 'a', 1)).toBe('running');
    const before = s.sfn.described.length;
    s.gated.log.length = 0;
    expect((await sweep(s.deps)).healed).toEqual([]);
    expect(s.gated.calls()).toEqual(['appsToSweep', 'getLock']);
    expect(s.sfn.described.length).toBe(before);
  });
});

describe('the ordering rule', () => {
  it('an older tarball that arrives after a newer one finished is superseded, never deployed', async () => {
    const s = setup();
    const key = 'apps/shop/app.tar.gz';
    expect(await queueUp(s, 'new', 5, key)).toBe('running');
    s.sfn.end('new', 'SUCCEEDED');
    await handover('shop', 'new', s.deps);
    // the older upload's event was delayed: it arrives now, with the smaller sequencer of the same key
    expect(await queueUp(s, 'old', 3, key)).toBe('superseded');
    expect(s.sfn.of('old')).toEqual(['fail:Superseded']);
    expect(await holder(s)).toBeUndefined();
    await expectDeployable(s);
  });

  it('an older tarball that arrives while a newer one runs is superseded; one that arrives while a newer one waits too', async () => {
    const s = await aRunningBWaiting();
    expect(await queueUp(s, 'older-than-a', 0)).toBe('superseded');
    expect(await queueUp(s, 'older-than-b', 1)).toBe('superseded');
    expect(s.sfn.of('older-than-a')).toEqual(['fail:Superseded']);
    expect(s.sfn.of('older-than-b')).toEqual(['fail:Superseded']);
    expect(await handover('shop', 'a', s.deps)).toBe('b');
    await expectDeployable(s);
  });
});
