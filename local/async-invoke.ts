import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/**
 * An asynchronous Lambda invocation as AWS runs it for EventBridge targets: the event is retried
 * `maximumRetryAttempts` times, then the on-failure destination receives Lambda's destination record
 * (the original event as `requestPayload`). The retry count comes from serverless.yml itself.
 */
export interface FailureRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: 'RetriesExhausted'; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext: { statusCode: number; executedVersion: string; functionError: 'Unhandled' };
  responsePayload: { errorType: string; errorMessage: string };
}

const ROOT = new URL('..', import.meta.url).pathname;

export function asyncRetryAttempts(): number {
  const config = parse(readFileSync(`${ROOT}serverless.yml`, 'utf8'), { merge: true, maxAliasCount: -1 }) as { custom?: { asyncFunction?: { maximumRetryAttempts?: number } } };
  const attempts = config.custom?.asyncFunction?.maximumRetryAttempts;
  if (typeof attempts !== 'number') throw new Error('serverless.yml has no custom.asyncFunction.maximumRetryAttempts');
  return attempts;
}

export async function invokeAsync<T>(
  handler: (event: unknown, context: unknown) => Promise<T>,
  event: unknown,
  options: { functionArn: string; retries: number; onFailure: (record: FailureRecord) => Promise<void> },
): Promise<{ result?: T; failed?: FailureRecord }> {
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= options.retries + 1; attempt++) {
    try {
      return { result: await handler(structuredClone(event), {}) };
    } catch (error) {
      lastError = error as Error;
    }
  }
  const record: FailureRecord = {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: { requestId: crypto.randomUUID(), functionArn: `${options.functionArn}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: options.retries + 1 },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: lastError?.name ?? 'Error', errorMessage: lastError?.message ?? '' },
  };
  await options.onFailure(record);
  return { failed: record };
}
