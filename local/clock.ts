/**
 * Time and work in a local rack. Every piece of work the rack does for AWS (a Lambda invocation, an
 * event delivery, a simulated rollout) is tracked, and every wait (a Wait state, a task's timeout, a
 * rollout that takes its time) is a timer on the rack's clock.
 *
 * With the real clock (`rackless local up`) timers fire in real time. With the virtual clock (tests,
 * the demo, the bench) a timer fires only when the rack is idle and someone waits for an outcome
 * (`until`): then the clock jumps to it. Work takes the real time it takes; waits take none. So a
 * 30-minute deadline costs nothing, can never fire while work that could beat it is in flight, and no
 * test depends on one thing taking longer than another.
 */
export interface Timer {
  at: number;
  fire: () => void;
  cancelled: boolean;
}

export class Scheduler {
  private readonly timers: Timer[] = [];
  private readonly work = new Set<Promise<unknown>>();
  private offset = 0;
  private advancing?: Promise<void>;
  private readonly waiters = new Set<{ done: boolean }>();
  /** every jump the virtual clock made, in ms */
  readonly jumps: number[] = [];

  constructor(readonly mode: 'real' | 'virtual' = 'virtual') {}

  /** Epoch ms on the rack's clock: real time, plus every jump the virtual clock made. */
  now = (): number => Date.now() + this.offset;

  /** Runs `fn` as tracked work: the rack is not idle until it settles. */
  track<T>(work: Promise<T>): Promise<T> {
    const tracked = work.finally(() => this.work.delete(tracked));
    this.work.add(tracked);
    // an unobserved failure is the caller's to report; tracking must not make it unhandled
    tracked.catch(() => undefined);
    return tracked;
  }

  /**
   * A wait the clock must not jump over (a rollout a test holds): the rack can be idle meanwhile,
   * but the virtual clock stands still until it settles.
   */
  hold<T>(wait: Promise<T>): Promise<T> {
    const held = wait.finally(() => this.holds.delete(held));
    this.holds.add(held);
    held.catch(() => undefined);
    return held;
  }

  private readonly holds = new Set<Promise<unknown>>();

  /** Resolves after `ms` on the rack's clock; `signal` cancels it (the promise then never settles). */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (this.mode === 'real') {
        const handle = setTimeout(resolve, Math.max(0, ms));
        signal?.addEventListener('abort', () => clearTimeout(handle), { once: true });
        return;
      }
      const timer: Timer = { at: this.now() + Math.max(0, ms), fire: resolve, cancelled: false };
      signal?.addEventListener('abort', () => (timer.cancelled = true), { once: true });
      this.timers.push(timer);
      this.timers.sort((a, b) => a.at - b.at);
    });
  }

  /** Pending timers (virtual clock). */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Resolves once no tracked work is in flight (microtasks and 0 ms timers included); time does not move. */
  async idle(): Promise<void> {
    for (;;) {
      while (this.work.size) await Promise.allSettled([...this.work]);
      // let chained promises and 0 ms timers (retry intervals overridden to 0) start their work
      await new Promise((resolve) => setTimeout(resolve, 1));
      await new Promise((resolve) => setImmediate(resolve));
      if (this.work.size === 0) return;
    }
  }

  /**
   * Waits for `outcome`, moving the virtual clock to the next timer each time the rack is idle and the
   * outcome is still open. Several waiters share one advancing loop, so time never moves twice for one
   * idle moment. With the real clock this is just `await outcome`.
   */
  async until<T>(outcome: Promise<T>, options: { patient?: boolean } = {}): Promise<T> {
    if (this.mode === 'real') return outcome;
    if (options.patient) this.patience += 1;
    const waiter = { done: false };
    this.waiters.add(waiter);
    outcome.then(
      () => (waiter.done = true),
      () => (waiter.done = true),
    );
    try {
      this.advancing ??= this.advance().finally(() => (this.advancing = undefined));
      await Promise.race([outcome, this.advancing]);
      while (!waiter.done) {
        this.advancing ??= this.advance().finally(() => (this.advancing = undefined));
        await Promise.race([outcome, this.advancing]);
      }
      return await outcome;
    } finally {
      this.waiters.delete(waiter);
      if (options.patient) this.patience -= 1;
    }
  }

  /** Waiters on outcomes outside the rack (a CLI command polling it): idle with no timer means wait, not fail. */
  private patience = 0;

  private async advance(): Promise<void> {
    for (;;) {
      await this.idle();
      if ([...this.waiters].every((w) => w.done)) return;
      if (this.holds.size) {
        // time stands still while something is held; what waits may still be reached without it
        await Promise.race([...this.holds, new Promise((resolve) => setTimeout(resolve, 10))]);
        return;
      }
      const next = this.timers.find((t) => !t.cancelled);
      if (!next && this.patience > 0) {
        // something outside the rack will act: give it real time
        await new Promise((resolve) => setTimeout(resolve, 10));
        return;
      }
      if (!next) {
        const open = [...this.waiters].filter((w) => !w.done).length;
        throw new Error(`the local rack is idle with ${open} outcome(s) still awaited and no timer to advance to: something waits for an event that will never come`);
      }
      const jump = Math.max(0, next.at - this.now());
      this.offset += jump;
      this.jumps.push(jump);
      for (const timer of this.timers.splice(0, this.timers.indexOf(next) + 1)) if (!timer.cancelled) timer.fire();
      // fire every timer due at the same instant
      while (this.timers[0] && this.timers[0].at <= this.now()) {
        const timer = this.timers.shift()!;
        if (!timer.cancelled) timer.fire();
      }
      return;
    }
  }
}
