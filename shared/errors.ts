/**
 * Named errors. The class name is the Lambda `errorType`, so the same names appear in the ASL
 * `Retry`/`Catch` blocks. The message starts with a stable code (`CODE: text`) because only
 * `errorType` and `errorMessage` survive the trip through Step Functions.
 */
export type ErrorDetails = Record<string, unknown>;

export abstract class RacklessError extends Error {
  readonly code: string;
  readonly details: ErrorDetails;
  constructor(code: string, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.details = details;
  }
}

/** The tarball is unusable: not gzip/tar, unsafe paths or links, over a limit. */
export class TarballRejected extends RacklessError {
  override readonly name = 'TarballRejected';
}

/** rackless.yml (or the Dockerfiles it needs) is invalid. */
export class ManifestInvalid extends RacklessError {
  override readonly name = 'ManifestInvalid';
}

/** The S3 key or event does not name a deployable tarball. */
export class KeyRejected extends RacklessError {
  override readonly name = 'KeyRejected';
}

/** The image build did not succeed (FAILED, FAULT, TIMED_OUT, STOPPED). */
export class BuildFailed extends RacklessError {
  override readonly name = 'BuildFailed';
}

/** The new ECS deployment failed: circuit breaker, FAILED rollout, or too many task stops. */
export class RolloutFailed extends RacklessError {
  override readonly name = 'RolloutFailed';
}

/** A promote could not be applied (ECS/ELB refused a change). */
export class PromoteFailed extends RacklessError {
  override readonly name = 'PromoteFailed';
}

/** A resource at the name Rackless would use is tagged for another app or rack: it is not touched. */
export class NotOwned extends RacklessError {
  override readonly name = 'NotOwned';
}

/** The release needs more of a shared quota (load balancer rules, target groups) or a bigger object than AWS allows. */
export class QuotaExceeded extends RacklessError {
  override readonly name = 'QuotaExceeded';
}

/** A newer tarball for the same app arrived while this one waited. */
export class Superseded extends RacklessError {
  override readonly name = 'Superseded';
}

/**
 * A deploy step found its app's deploy lock no longer its own (held by another deploy, or released):
 * the step refused to change the app (shared/queue/lease.ts).
 */
export class LockLost extends RacklessError {
  override readonly name = 'LockLost';
}

/** An app, release or build that a request names does not exist. */
export class NotFound extends RacklessError {
  override readonly name = 'NotFound';
}

/** `rackless apps delete` / `rack uninstall` will not start: a deploy of the app runs (without --force). */
export class RemovalRefused extends RacklessError {
  override readonly name = 'RemovalRefused';
}

/** One delete of an app's or rack's removal failed; what came before it is done, and a second run goes on from there. */
export class RemovalFailed extends RacklessError {
  override readonly name = 'RemovalFailed';
}

/** Throttling, 5xx, network: safe to retry. Handlers map SDK errors to this name for ASL Retry. */
export class TransientError extends RacklessError {
  override readonly name = 'TransientError';
}

/** A required environment variable is missing or malformed. */
export class ConfigError extends RacklessError {
  override readonly name = 'ConfigError';
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'ServerException',
  'TransactionInProgressException',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'EPIPE',
  'TimeoutError',
]);

/** True for SDK errors that a retry with backoff can cure (throttling, 5xx, network). */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof TransientError) return true;
  const meta = error as { $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: string };
  if (meta.$retryable) return true;
  const status = meta.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  return TRANSIENT_NAMES.has(error.name) || (meta.code !== undefined && TRANSIENT_NAMES.has(meta.code));
}

/** Wraps a transient SDK error so the state machine retries it under one name. */
export function toTransient(error: unknown): unknown {
  if (error instanceof RacklessError || !isTransient(error)) return error;
  const e = error as Error;
  return new TransientError('AWS_TRANSIENT', `${e.name}: ${e.message}`, {}, { cause: error });
}

export interface ParsedFailure {
  error: string;
  code: string;
  message: string;
}

/**
 * Reads the `{Error, Cause}` a Catch hands on. Lambda causes are JSON `{errorType, errorMessage}`;
 * service integrations (CodeBuild .sync) put their own JSON in Cause.
 */
export function parseFailure(failure: { Error?: string; Cause?: string } | undefined): ParsedFailure {
  const error = failure?.Error ?? 'Unknown';
  let message = failure?.Cause ?? '';
  try {
    const cause = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof cause.errorMessage === 'string') message = cause.errorMessage;
  } catch {
    // not JSON: the cause is already text
  }
  const match = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/.exec(message);
  return match ? { error, code: match[1]!, message: match[2]! } : { error, code: error, message };
}
