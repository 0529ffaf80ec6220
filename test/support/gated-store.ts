import type { Store } from '../../shared/aws/store.js';

/**
 * A Store whose calls a test can stop at: `pause('acquireLock', (app, lock) => lock.holder === 'b')`
 * holds the first matching call before it reaches the store; `await gate.reached` says it got
 * there; `gate.open()` lets it go on. So a test forces an interleaving of two Lambdas step by step
 * instead of hoping the scheduler produces it.
 */
export interface Gate {
  /** resolves once the paused call has arrived */
  reached: Promise<void>;
  /** lets the paused call (and later matching ones) through */
  open(): void;
}

type Method = {
  [K in keyof Store]: Store[K] extends (...args: any[]) => any ? K : never;
}[keyof Store];

export class GatedStore {
  readonly store: Store;
  /** every call, in the order they reached the underlying store: [method, args] */
  readonly log: Array<[string, unknown[]]> = [];
  private gates: Array<{ method: string; when: (...args: any[]) => boolean; arrived: () => void; opened: Promise<void>; open: () => void; used: boolean }> = [];

  constructor(inner: Store) {
    this.store = new Proxy(inner, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const gate = this.gates.find((g) => !g.used && g.method === property && g.when(...args));
          if (gate) {
            gate.used = true;
            gate.arrived();
            await gate.opened;
          }
          this.log.push([String(property), args]);
          return value.apply(target, args);
        };
      },
    });
  }

  /** Holds the first call of `method` whose arguments match, until the gate is opened. */
  pause<M extends Method>(method: M, when: (...args: Parameters<Store[M]>) => boolean = () => true): Gate {
    let arrived!: () => void;
    let open!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const opened = new Promise<void>((resolve) => (open = resolve));
    this.gates.push({ method, when: when as (...args: any[]) => boolean, arrived, opened, open, used: false });
    return { reached, open };
  }

  /** The methods called, in order. */
  calls(): string[] {
    return this.log.map(([method]) => method);
  }
}

/** A task-token sender that records what was sent, once per token. */
export class RecordingSender {
  readonly sent: Array<{ token: string; kind: 'succeed' | 'fail'; output?: unknown; error?: string; cause?: string }> = [];

  async succeed(token: string, output: unknown): Promise<void> {
    this.sent.push({ token, kind: 'succeed', output });
  }

  async fail(token: string, error: string, cause: string): Promise<void> {
    this.sent.push({ token, kind: 'fail', error, cause });
  }

  of(token: string) {
    return this.sent.filter((s) => s.token === token);
  }
}
