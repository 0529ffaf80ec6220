import type { Pluggable } from '@smithy/types';
import type { Env } from '../config.js';

/**
 * One client factory for functions, the CLI and local mode. A factory hands out one client per SDK
 * class, all built from the same settings and carrying the same middleware plugins (local mode's
 * call log and fault injection are plugins; nothing patches a client's prototype).
 */
export interface ClientSettings {
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  profile?: string;
  /** attempts including the first: the SDK's own retry first, then the state machine's Retry */
  maxAttempts: number;
}

// biome-ignore lint/suspicious/noExplicitAny: every SDK v3 client takes its own config type
type ClientClass<C> = new (config: any) => C;

export interface ClientFactory {
  <C>(Client: ClientClass<C>): C;
  readonly settings: ClientSettings;
}

/** Settings from a function's environment: its region, and AWS_ENDPOINT_URL when one is set. */
export function settingsFromEnv(env: Env): ClientSettings {
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  return {
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    maxAttempts: 4,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: plugins apply to every client's middleware stack
export type ClientPlugin = Pluggable<any, any>;

export function clientFactory(settings: ClientSettings, plugins: ClientPlugin[] = []): ClientFactory {
  const clients = new Map<unknown, unknown>();
  const factory = <C>(Client: ClientClass<C>): C => {
    let client = clients.get(Client) as C | undefined;
    if (!client) {
      client = new Client(settings);
      const stack = (client as { middlewareStack?: { use(plugin: ClientPlugin): void } }).middlewareStack;
      for (const plugin of plugins) stack?.use(plugin);
      clients.set(Client, client);
    }
    return client;
  };
  return Object.assign(factory, { settings });
}

/** One SDK call as a middleware sees it: the client, the command without its `Command` suffix, the input. */
export interface SdkCall {
  client: string;
  command: string;
  // biome-ignore lint/suspicious/noExplicitAny: the input of whichever command is sent
  input: any;
}

// biome-ignore lint/suspicious/noExplicitAny: the output of whichever command is sent
export type SdkResult = { output: any; response: unknown };

/**
 * A plugin that puts `intercept` on every client's middleware stack at `step` (initialize: before
 * the SDK's retries; deserialize: below them). `next()` sends the call on; not calling it answers it.
 */
export function interceptPlugin(
  name: string,
  step: 'initialize' | 'deserialize',
  intercept: (call: SdkCall, next: () => Promise<SdkResult>) => Promise<SdkResult>,
  priority?: 'high',
): ClientPlugin {
  return {
    applyToStack(stack) {
      // biome-ignore lint/suspicious/noExplicitAny: one middleware for every step's argument shape
      const middleware = (next: (args: any) => Promise<SdkResult>, context: { clientName?: string; commandName?: string }) => (args: any) =>
        intercept({ client: context.clientName ?? 'unknown', command: (context.commandName ?? 'unknown').replace(/Command$/, ''), input: args.input ?? {} }, () => next(args));
      // biome-ignore lint/suspicious/noExplicitAny: the stack's overloads are per step
      (stack.add as (m: unknown, o: unknown) => void).call(stack, middleware as any, { step, name, override: true, ...(priority ? { priority } : {}) });
    },
  };
}

/** What an intercept answers in place of the service. */
export const answered = (output: Record<string, unknown>): SdkResult => ({ output: { $metadata: { httpStatusCode: 200 }, ...output }, response: {} });
