import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type ClientFactory, clientFactory, settingsFromEnv } from './aws/clients.js';
import type { Clock } from './aws/deps.js';
import { type Env, inLambda, processEnv } from './config.js';
import { RacklessError, toTransient } from './errors.js';
import { logger } from './logger.js';

/**
 * Wraps a handler: logs the error with its code, and turns throttling/5xx SDK errors into
 * `TransientError` so every state machine retries them under one name.
 */
export function lambda<E, R>(name: string, fn: (event: E, context: Context) => Promise<R>) {
  return middy<E, R>()
    .use({
      before: (request) => {
        logger.appendKeys({ handler: name, requestId: request.context?.awsRequestId });
      },
      onError: (request) => {
        const mapped = toTransient(request.error);
        const error = mapped as Error;
        if (error instanceof RacklessError) logger.warn(error.message, { code: error.code, errorType: error.name, ...error.details });
        else logger.error('handler failed', { error });
        request.error = error;
      },
    })
    .handler(fn);
}

// biome-ignore lint/suspicious/noExplicitAny: a Lambda handler takes any event the runtime passes
export type Handler = (event: any, context: any) => Promise<any>;

/**
 * The function module's shape: `depsFromEnv` reads the function's environment and builds its
 * clients, `makeHandler` makes the handler from those dependencies. Local mode and tests call both
 * with their own environment, clients, store, clock and task-token sender.
 */
export interface FunctionModule<D> {
  depsFromEnv(env: Env, aws: ClientFactory, now: Clock): D;
  makeHandler(deps: D): Handler;
}

/**
 * The `handler` export Lambda calls: wired from the process environment. In the Lambda runtime the
 * wiring runs at cold start (a missing variable fails init, naming it); elsewhere — a test or local
 * mode importing the module for `makeHandler` — only when the export itself is first called.
 */
export function production<D>(module: FunctionModule<D>): Handler {
  const wire = () => {
    const env = processEnv();
    return module.makeHandler(module.depsFromEnv(env, clientFactory(settingsFromEnv(env)), Date.now));
  };
  let wired: Handler | undefined = inLambda() ? wire() : undefined;
  return (event, context) => {
    wired ??= wire();
    return wired(event, context);
  };
}
