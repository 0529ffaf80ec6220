import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../local/clock.js';

describe('Scheduler (virtual clock)', () => {
  it('fires a timer only when the rack is idle and an outcome is awaited, jumping the clock to it', async () => {
    const clock = new Scheduler('virtual');
    const start = clock.now();
    const slept = clock.sleep(30 * 60_000).then(() => clock.now());
    // idle, but nobody waits: time stands still
    await clock.idle();
    expect(clock.pendingTimers).toBe(1);
    const woke = await clock.until(slept);
    expect(woke - start).toBeGreaterThanOrEqual(30 * 60_000);
    expect(clock.jumps).toHaveLength(1);
  });

  it('does not jump while tracked work is in flight', async () => {
    const clock = new Scheduler('virtual');
    let release!: () => void;
    const work = clock.track(new Promise<void>((resolve) => (release = resolve)));
    let fired = false;
    void clock.sleep(1000).then(() => (fired = true));
    const outcome = clock.until(work.then(() => 'done'));
    await Promise.resolve();
    expect(fired).toBe(false);
    release();
    expect(await outcome).toBe('done');
    expect(fired).toBe(false);
    expect(clock.jumps).toEqual([]);
  });

  it('fires timers in order, one jump per idle moment, those due at the same instant together', async () => {
    const clock = new Scheduler('virtual');
    const order: string[] = [];
    const a = clock.sleep(2000).then(() => order.push('a'));
    const b = clock.sleep(1000).then(() => order.push('b'));
    const c = clock.sleep(1000).then(() => order.push('c'));
    await clock.until(Promise.all([a, b, c]));
    expect(order).toEqual(['b', 'c', 'a']);
    expect(clock.jumps).toHaveLength(2);
  });

  it('a cancelled timer never fires', async () => {
    const clock = new Scheduler('virtual');
    const abort = new AbortController();
    let fired = false;
    void clock.sleep(1000, abort.signal).then(() => (fired = true));
    abort.abort();
    await clock.until(clock.sleep(5000));
    expect(fired).toBe(false);
  });

  it('holds the clock while a hold is pending, though the rack is idle', async () => {
    const clock = new Scheduler('virtual');
    let release!: () => void;
    void clock.hold(new Promise<void>((resolve) => (release = resolve)));
    let fired = false;
    const timer = clock.sleep(1000).then(() => (fired = true));
    const waited = clock.until(timer);
    await clock.idle();
    expect(fired).toBe(false);
    expect(clock.jumps).toEqual([]);
    release();
    await waited;
    expect(fired).toBe(true);
  });

  it('says so when an awaited outcome can never come: idle, no timer', async () => {
    const clock = new Scheduler('virtual');
    await expect(clock.until(new Promise(() => undefined))).rejects.toThrow(/idle .* no timer to advance to/);
  });
});
