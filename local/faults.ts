/**
 * Fault injection for the resilience tests: the first attempt of every AWS call a handler makes
 * fails with throttling or a 5xx, the way AWS fails under load. The fault is raised inside the SDK's
 * middleware stack, below its retry strategy, so the SDK's own retries and then the state machine's
 * Retry see it exactly as they would see AWS's.
 */
type ClientClass = { name: string; prototype: { send: (...args: any[]) => any } };
type Stacked = { middlewareStack: { add: (mw: unknown, options: unknown) => void } };

export class FirstAttemptFaults {
  readonly injected: string[] = [];
  private seen = new Set<string>();
  private armed = new WeakSet<object>();
  private restores: Array<() => void> = [];
  private active = true;

  constructor(
    classes: ClientClass[],
    private readonly skip: RegExp = /^$/,
  ) {
    for (const Client of classes) {
      const own = Object.hasOwn(Client.prototype, 'send') ? Client.prototype.send : undefined;
      const inherited = Client.prototype.send;
      const self = this;
      Client.prototype.send = function send(this: Stacked, command: any, ...rest: any[]) {
        if (!self.armed.has(this)) {
          self.armed.add(this);
          this.middlewareStack.add(
            (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
              const name = `${Client.name}.${context.commandName ?? 'unknown'}`;
              if (self.active && !self.skip.test(name) && !self.seen.has(name)) {
                self.seen.add(name);
                self.injected.push(name);
                throw self.injected.length % 2 === 0
                  ? Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } })
                  : Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
              }
              return next(args);
            },
            { step: 'deserialize', name: 'firstAttemptFault', override: true },
          );
        }
        return inherited.call(this, command, ...rest);
      };
      this.restores.push(() => {
        if (own) Client.prototype.send = own;
        else delete (Client.prototype as { send?: unknown }).send;
      });
    }
  }

  restore(): void {
    // clients already armed keep the middleware; it stays inert
    this.active = false;
    for (const restore of this.restores.reverse()) restore();
    this.restores = [];
  }
}
