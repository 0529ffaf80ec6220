/**
 * Records the AWS calls handlers make (command name and input) without changing them: tests assert
 * what was requested where moto does not keep it (deploymentConfiguration, placement) and that a
 * rejected deploy made no mutating call at all.
 */
export interface RecordedCall {
  client: string;
  command: string;
  input: any;
}

type ClientClass = { name: string; prototype: { send: (...args: any[]) => any } };

export const MUTATING = /^(Register|Deregister|Create|Update|Delete|Put|Modify|Add|Remove|Set|Tag|Untag|Start|Stop|Run)/;

export class CallLog {
  readonly calls: RecordedCall[] = [];
  private restores: Array<() => void> = [];

  constructor(classes: ClientClass[]) {
    for (const Client of classes) {
      const original = Object.hasOwn(Client.prototype, 'send') ? Client.prototype.send : undefined;
      const inherited = Client.prototype.send;
      const calls = this.calls;
      Client.prototype.send = function send(this: unknown, command: any, ...rest: any[]) {
        calls.push({ client: Client.name, command: command?.constructor?.name?.replace(/Command$/, '') ?? 'unknown', input: command?.input });
        return inherited.call(this, command, ...rest);
      };
      this.restores.push(() => {
        if (original) Client.prototype.send = original;
        else delete (Client.prototype as { send?: unknown }).send;
      });
    }
  }

  named(command: string): RecordedCall[] {
    return this.calls.filter((c) => c.command === command);
  }

  mutating(): RecordedCall[] {
    return this.calls.filter((c) => MUTATING.test(c.command));
  }

  clear(): void {
    this.calls.length = 0;
  }

  restore(): void {
    for (const restore of this.restores.reverse()) restore();
    this.restores = [];
  }
}
