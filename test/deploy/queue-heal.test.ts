import { performance } from 'node:perf_hooks';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { epochSeconds } from '../../shared/aws/store.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { WHEN_LOCK_LOST } from '../../shared/queue/lease.js';
import { LOCK_LEASE_SECONDS, SWEEP_INTERVAL_SECONDS } from '../../shared/queue/queue.js';
import type { SweepReport } from '../../shared/queue/sweep.js';
import type { TaskTokenSender } from '../../shared/watch/watch.js';
import { localRack } from '../support/local-rack.js';
import { buildTarball } from '../support/tarballs.js';

/**
 * The queue heals itself, end to end: the packaged state machine on the local Step Functions, the
 * real functions, the template's rules, on the rack's virtual clock (nothing waits for real time).
 * Each case ends with the app deployable again and one notification per deploy that ran.
 */
let rack: LocalRack;
/** the queue function's token sender dies once before sending a token that matches */
const crash: { before?: (token: string) => boolean } = {};

function crashingSender(inner: TaskTokenSender): TaskTokenSender {
  return {
    async succeed(token, output) {
      if (crash.before?.(token)) {
        crash.before = undefined;
        throw Object.assign(new Error('the queue Lambda died before the token went out'), { name: 'Sandbox.Timedout' });
      }
      return inner.succeed(token, output);
    },
    fail: (token, error, cause) => inner.fail(token, error, cause),
  };
}

beforeAll(async () => {
  rack = await localRack({
    overrides: (name, deps) => (name.endsWith('-queue') && deps.sender ? { sender: crashingSender(deps.sender as TaskTokenSender) } : {}),
  });
});
beforeEach(async () => {
  await rack.notifications();
  crash.before = undefined;
});

const web = (text: string) =>
  buildTarball([
    { name: 'Dockerfile', body: 'FROM httpd:2.4\nCOPY index.html /usr/local/apache2/htdocs/\nEXPOSE 80\n' },
    { name: 'index.html', body: `<h1>${text}</h1>\n` },
  ]);

/** Uploads without waiting; the deploy execution it started. */
async function upload(key: string, tarball: Buffer) {
  const [execution] = await rack.started(() => rack.upload(key, tarball));
  if (!execution) throw new Error(`the upload of ${key} started no deploy`);
  return execution.name;
}

/** A deploy that holds its app's lock, parked in Watch (its tasks start on the virtual clock), and one waiting behind it. */
async function holderAndWaiter(app: string) {
  const holder = await upload(`apps/${app}/a.tar.gz`, await web('a'));
  await rack.reached(holder, 'Watch');
  const waiter = await upload(`apps/${app}/b.tar.gz`, await web('b'));
  await rack.reached(waiter, 'Queue');
  await rack.settled();
  expect((await rack.store.getLock(app))?.holder).toBe(holder);
  expect((await rack.store.listQueue(app)).find((q) => q.execution === waiter)?.status).toBe('waiting');
  return { holder, waiter };
}

const arnOf = (execution: string) => rack.stepFunctions.execution(execution)!.executionArn;
/** One tick of the template's queue-sweep schedule rule. */
const sweep = async () => {
  const { result, failed } = await rack.events.fire('queue-sweep');
  expect(failed).toBeUndefined();
  return result as SweepReport;
};
/** Status-change events of this execution never reach the queue function (delivery is best-effort). */
const loseEventsOf = (execution: string) =>
  rack.functions.intercept('queue', async (run, event) => {
    if ((event as { detail?: { name?: string } }).detail?.name === execution) throw new Error('this event is lost');
    return run();
  });

async function expectDeployable(app: string) {
  const run = await rack.deploy(app, await web('later'), 'later.tar.gz');
  expect(run.status).toBe('SUCCEEDED');
  expect(await rack.store.getLock(app)).toBeUndefined();
}

describe('the queue heals itself', () => {
  it('an execution that dies holding the lock: the waiter runs at once (measured: dead → deployable)', async () => {
    const { holder, waiter } = await holderAndWaiter('heal-dies');
    const [jumps, realStart] = [rack.scheduler.jumps.length, performance.now()];
    rack.stepFunctions.stop(arnOf(holder));
    await rack.reached(waiter, 'Prepare');
    const realMs = performance.now() - realStart;
    // no timer was waited for (the clock never jumped): the time is the work's, the ABORTED event's
    // delivery through the deploy-ended rule, the handover, the waiter's wake-up
    const waited = rack.scheduler.jumps.slice(jumps).reduce((a, b) => a + b, 0);
    console.info(`local mode: dead execution → waiter running in ${realMs.toFixed(0)} ms (timers waited for: ${waited} ms)`);
    expect(waited).toBe(0);
    expect((await rack.finish(waiter)).status).toBe('SUCCEEDED');
    const notes = await rack.notifications();
    expect(notes.map((n) => n.attributes.status)).toEqual(['succeeded']);
    await expectDeployable('heal-dies');
  });

  it('a waiter aborted while it waited, its event lost: the finishing deploy passes it over and still succeeds', async () => {
    const { holder, waiter } = await holderAndWaiter('heal-aborted');
    const restore = loseEventsOf(waiter);
    rack.stepFunctions.stop(arnOf(waiter));
    await rack.settled();
    restore();
    expect(rack.stepFunctions.execution(waiter)!.status).toBe('ABORTED');
    expect((await rack.store.listQueue('heal-aborted')).find((q) => q.execution === waiter)?.status).toBe('waiting');
    const run = await rack.finish(holder);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered.slice(-4)).toEqual(['Notify', 'Hand over', 'Outcome', 'Deployed']);
    expect((await rack.store.listQueue('heal-aborted')).find((q) => q.execution === waiter)?.status).toBe('abandoned');
    expect(await rack.store.getLock('heal-aborted')).toBeUndefined();
    expect((await rack.notifications()).map((n) => n.attributes.status)).toEqual(['succeeded']);
    await expectDeployable('heal-aborted');
  });

  it('a handover that dies after taking the lock for the waiter, before its token: the Hand over retry sends it', async () => {
    const { holder, waiter } = await holderAndWaiter('heal-crash');
    crash.before = (token) => token.startsWith(`${waiter}.Queue.`);
    const first = await rack.finish(holder);
    expect(first.status).toBe('SUCCEEDED');
    expect(crash.before).toBeUndefined();
    const handovers = rack.functions.invocationsOf('queue').filter((i) => (i.event as { action?: string; execution?: string }).execution === holder);
    expect(handovers.map((i) => i.error?.name ?? 'ok')).toEqual(['Sandbox.Timedout', 'ok']);
    expect((await rack.finish(waiter)).status).toBe('SUCCEEDED');
    expect((await rack.notifications()).map((n) => n.attributes.status)).toEqual(['succeeded', 'succeeded']);
    await expectDeployable('heal-crash');
  });

  it('a holder that dies unseen (its event lost): the sweep hands the lock on within one lease', async () => {
    const { holder, waiter } = await holderAndWaiter('heal-sweep');
    const restore = loseEventsOf(holder);
    rack.stepFunctions.stop(arnOf(holder));
    await rack.settled();
    restore();
    const died = rack.scheduler.now();
    // a sweep right away: the lease is not due, so it asks Step Functions nothing
    const described = () => rack.calls.named('DescribeExecution').length;
    const before = described();
    expect((await sweep()).healed).toEqual([]);
    expect(described()).toBe(before);
    let healed: number | undefined;
    for (let tick = 1; tick <= 3 && healed === undefined; tick++) {
      await rack.scheduler.until(rack.scheduler.sleep(SWEEP_INTERVAL_SECONDS * 1000));
      const report = await sweep();
      if (report.healed.some((h) => h.woken === waiter)) healed = rack.scheduler.now();
    }
    expect(healed).toBeDefined();
    console.info(`local mode, status-change event lost: dead execution → waiter woken by the sweep after ${(healed! - died) / 1000} s of the rack's clock`);
    expect(healed! - died).toBeLessThanOrEqual(LOCK_LEASE_SECONDS * 1000);
    expect((await rack.finish(waiter)).status).toBe('SUCCEEDED');
    expect((await rack.notifications()).map((n) => n.attributes.status)).toEqual(['succeeded']);
    await expectDeployable('heal-sweep');
  });

  it('a Hand over that fails for good after a successful rollout: the deploy still SUCCEEDED, its ended event hands over', async () => {
    const { holder, waiter } = await holderAndWaiter('heal-handover');
    const restore = rack.functions.intercept('queue', async (run, event) => {
      if ((event as { action?: string }).action === 'handover') throw Object.assign(new Error('the handover keeps failing'), { name: 'Error' });
      return run();
    });
    const run = await rack.finish(holder);
    restore();
    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered.slice(-4)).toEqual(['Notify', 'Hand over', 'Outcome', 'Deployed']);
    expect((await rack.finish(waiter)).status).toBe('SUCCEEDED');
    // the SUCCEEDED status change, through the deploy-ended rule, handed the lock on
    const ended = rack.functions.invocationsOf('queue').filter((i) => (i.event as { detail?: { name?: string; status?: string } }).detail?.name === holder);
    expect(ended.map((i) => [(i.event as { detail: { status: string } }).detail.status, i.result])).toEqual([['SUCCEEDED', { status: 'handed-over', next: waiter }]]);
    expect((await rack.notifications()).map((n) => n.attributes.status)).toEqual(['succeeded', 'succeeded']);
    await expectDeployable('heal-handover');
  });

  it('a Notify that fails for good: the rollout still reports SUCCEEDED and the lock is handed over', async () => {
    const restore = rack.functions.intercept('notify', async () => {
      throw Object.assign(new Error('Notify keeps failing'), { name: 'Error' });
    });
    const run = await rack.deploy('heal-notify', await web('n'));
    restore();
    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered.slice(-5)).toEqual(['Notify', 'Hand over', 'Outcome', 'Unreported outcome', 'Deployed']);
    expect(await rack.store.getLock('heal-notify')).toBeUndefined();
    await expectDeployable('heal-notify');
  });
});

/** The queue-sweep schedule, ticking on the rack's clock until stopped; `onTick` sees each report. */
function sweepEvery(onTick: (report: SweepReport) => Promise<void>): () => void {
  const abort = new AbortController();
  void (async () => {
    for (;;) {
      await rack.scheduler.sleep(SWEEP_INTERVAL_SECONDS * 1000, abort.signal);
      await rack.scheduler.track((async () => onTick(await sweep()))());
    }
  })();
  return () => abort.abort();
}

describe('the running deploy keeps its lease', () => {
  const steps = Object.keys(WHEN_LOCK_LOST);

  it('every step renews it as it starts: on the way to success, to a rollback and to the deadline', async () => {
    const app = 'lease-steps';
    const seen: Array<{ step: string; lapsedBefore: boolean; leaseAfter: number; startedAt: number }> = [];
    const restores = steps.map((step) =>
      rack.functions.intercept(step, async (run, event) => {
        const state = ((event as { state?: DeployState }).state ?? event) as DeployState;
        if (state.app !== app) return run();
        // the lease has lapsed as the step starts (a long build, a slow step before it)
        const lapsedBefore = await rack.store.renewLock(app, state.execution, 0);
        const startedAt = epochSeconds(rack.scheduler.now());
        try {
          return await run();
        } finally {
          // (Verify ends by throwing its verdict)
          seen.push({ step, lapsedBefore, leaseAfter: (await rack.store.getLock(app))?.expiresAt ?? 0, startedAt });
        }
      }),
    );
    try {
      expect((await rack.deploy(app, await web('v1'))).status).toBe('SUCCEEDED');
      rack.simulator.next(app, { outcome: 'fail' });
      expect((await rack.deploy(app, await web('v2'), 'v2.tar.gz')).error).toBe('ROLLOUT_FAILED');
      rack.simulator.next(app, { outcome: 'silent' });
      expect((await rack.deploy(app, await web('v3'), 'v3.tar.gz')).error).toBe('ROLLOUT_DEADLINE');
    } finally {
      for (const restore of restores) restore();
    }
    expect([...new Set(seen.map((s) => s.step))].sort()).toEqual([...steps].sort());
    for (const s of seen) {
      expect(s.lapsedBefore, s.step).toBe(true);
      expect(s.leaseAfter, s.step).toBeGreaterThanOrEqual(s.startedAt + LOCK_LEASE_SECONDS);
    }
    expect((await rack.notifications()).map((n) => n.attributes.status)).toEqual(['succeeded', 'rolled-back', 'rolled-back']);
    await expectDeployable(app);
  });

  it('while it waits in Watch for 20 minutes the sweep renews it: the lock stays, the waiter waits, then runs', async () => {
    const app = 'lease-watch';
    // each task takes 10 minutes to start on the rack's clock: the Watch step waits two leases
    rack.simulator.next(app, { outcome: 'complete', taskStartSeconds: 600 });
    const { holder, waiter } = await holderAndWaiter(app);
    const ticks: Array<{ at: number; state?: string; holder?: string; expiresAt?: number; renewed?: string; waiter?: string }> = [];
    const stop = sweepEvery(async (report) => {
      const lock = await rack.store.getLock(app);
      const healed = report.healed.find((h) => h.app === app);
      ticks.push({
        at: epochSeconds(rack.scheduler.now()),
        state: rack.stepFunctions.execution(holder)!.statesEntered.at(-1),
        ...(lock ? { holder: lock.holder, expiresAt: lock.expiresAt } : {}),
        ...(healed?.renewed ? { renewed: healed.renewed } : {}),
        waiter: (await rack.store.listQueue(app)).find((q) => q.execution === waiter)?.status,
      });
    });
    let run: Awaited<ReturnType<LocalRack['finish']>>;
    try {
      run = await rack.finish(holder);
    } finally {
      stop();
    }
    expect(run.status).toBe('SUCCEEDED');
    const watching = ticks.filter((t) => t.state === 'Watch');
    expect(watching.length).toBeGreaterThanOrEqual(3);
    for (const tick of watching) {
      expect(tick).toMatchObject({ holder, waiter: 'waiting' });
      expect(tick.expiresAt!).toBeGreaterThan(tick.at);
    }
    expect(watching.filter((t) => t.renewed === holder).length).toBeGreaterThanOrEqual(2);
    expect((await rack.finish(waiter)).status).toBe('SUCCEEDED');
    expect((await rack.notifications()).map((n) => n.attributes.status)).toEqual(['succeeded', 'succeeded']);
    await expectDeployable(app);
  });

  it('a deploy whose lock was deleted by hand and taken by a newer upload stops at Promote (LOCK_LOST), changing nothing', async () => {
    const app = 'lease-lost';
    expect((await rack.deploy(app, await web('v1'))).status).toBe('SUCCEEDED');
    const before = (await rack.store.currentRelease(app))!;
    await rack.notifications();
    let newer: string | undefined;
    const restore = rack.functions.intercept('promote', async (run, event) => {
      const state = event as DeployState;
      if (state.app === app && !newer) {
        // an operator deletes the app's LOCK item to "unstick" it, and the next upload takes the lock
        expect(await rack.store.releaseLock(app, state.execution)).toBe(true);
        const [started] = await (async () => {
          const known = new Set(rack.stepFunctions.all.map((e) => e.name));
          await rack.upload(`apps/${app}/v3.tar.gz`, await web('v3'));
          return rack.stepFunctions.all.filter((e) => !known.has(e.name));
        })();
        newer = started!.name;
        await rack.stepFunctions.reached(newer, 'Prepare');
      }
      return run();
    });
    let run: Awaited<ReturnType<LocalRack['finish']>>;
    try {
      run = await rack.deploy(app, await web('v2'), 'v2.tar.gz');
    } finally {
      restore();
    }
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('LOCK_LOST');
    expect(run.statesEntered).toEqual(expect.arrayContaining(['Promote', 'Promote failed', 'Rollback', 'Notify', 'Hand over']));
    // its Promote changed nothing: no ECS deployment was started by it
    expect(rack.simulator.rollouts.filter((r) => r.startedBy?.execution === run.execution)).toEqual([]);
    expect((await rack.finish(newer!)).status).toBe('SUCCEEDED');
    const current = (await rack.store.currentRelease(app))!;
    expect(current.number).toBe(before.number + 2);
    const notes = await rack.notifications();
    // (reported rolled back: every service is on the release it ran before, as after any failed Promote)
    expect(notes.map((n) => n.attributes.status).sort()).toEqual(['rolled-back', 'succeeded']);
    expect(notes.find((n) => n.attributes.status === 'rolled-back')!.message).toContain('LOCK_LOST');
    await expectDeployable(app);
  });
});

describe('the ordering rule, through the upload path', () => {
  it('an older tarball whose event arrives after a newer one finished is superseded, never deployed', async () => {
    const key = 'apps/late/app.tar.gz';
    rack.events.paused = true;
    await rack.upload(key, await web('older'));
    const [late] = await rack.events.take(`${rack.name}-tarball-uploaded`);
    rack.events.paused = false;
    expect(late).toBeDefined();
    const newer = await rack.deploy('late', await web('newer'));
    expect(newer.status).toBe('SUCCEEDED');
    const current = (await rack.store.getApp('late'))?.currentRelease;
    // the older upload's event, delayed, arrives now
    const [older] = await rack.started(() => rack.sendEvent(late));
    const run = await rack.finish(older!.name);
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('SUPERSEDED');
    expect(run.statesEntered).not.toContain('Prepare');
    expect((await rack.store.getApp('late'))?.currentRelease).toBe(current);
    const notes = await rack.notifications();
    expect(notes.map((n) => n.attributes.status)).toEqual(['succeeded', 'superseded']);
    expect(notes[1]!.message).toContain('had already started');
    await expectDeployable('late');
  });
});
