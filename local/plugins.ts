import { type ClientPlugin, interceptPlugin } from '../shared/aws/clients.js';

/**
 * SDK middleware the local rack puts on its functions' clients (nothing patches a prototype):
 * a log of every call, and fault injection below the SDK's retry strategy.
 */
type Json = any;

export interface RecordedCall {
  client: string;
  command: string;
  input: Json;
}

export const MUTATING = /^(Register|Deregister|Create|Update|Delete|Put|Modify|Add|Remove|Set|Tag|Untag|Start|Stop|Run|Authorize|Revoke|Terminate|Complete)/;

/** Records the AWS calls functions make (command name and input) without changing them. */
export class CallLog {
  readonly calls: RecordedCall[] = [];

  plugin(): ClientPlugin {
    // before the local services' own middleware (high priority), so calls they answer are logged too
    return interceptPlugin(
      'localCallLog',
      'initialize',
      (call, next) => {
        this.calls.push(call);
        return next();
      },
      'high',
    );
  }

  named(command: string): RecordedCall[] {
    return this.calls.filter((c) => c.command === command);
  }

  /** mutating calls, of the clients named (e.g. ECSClient) or of every client */
  mutating(clients?: string[]): RecordedCall[] {
    return this.calls.filter((c) => MUTATING.test(c.command) && (!clients || clients.includes(c.client)));
  }

  clear(): void {
    this.calls.length = 0;
  }
}

export interface FaultPlan {
  /** which calls the plan applies to, by `Client.Command` name and input */
  match: (name: string, input: Json) => boolean;
  /** first: only the first attempt of each distinct command fails; always: every attempt does */
  times: 'first' | 'always';
  /** the error to raise (default: throttling and 503 in turn) */
  error?: () => Error;
}

/**
 * Raises faults inside the SDK's middleware stack, below its retry strategy (the deserialize step),
 * so the SDK's own retries and then the state machine's Retry see them exactly as they see AWS's.
 */
export class FaultInjector {
  readonly injected: string[] = [];
  private plan?: FaultPlan;
  private seen = new Set<string>();

  arm(plan: FaultPlan): void {
    this.plan = plan;
    this.seen.clear();
    this.injected.length = 0;
  }

  disarm(): void {
    this.plan = undefined;
  }

  private fault(): Error {
    return this.injected.length % 2 === 0
      ? Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } })
      : Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
  }

  plugin(): ClientPlugin {
    return interceptPlugin('localFaults', 'deserialize', async (call, next) => {
      const plan = this.plan;
      const name = `${call.client}.${call.command}Command`;
      if (plan?.match(name, call.input) && (plan.times === 'always' || !this.seen.has(name))) {
        this.seen.add(name);
        const error = plan.error?.() ?? this.fault();
        this.injected.push(name);
        throw error;
      }
      return next();
    });
  }
}
