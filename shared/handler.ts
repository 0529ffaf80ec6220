import middy from '@middy/core';
import type { Context } from 'aws-lambda';
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
