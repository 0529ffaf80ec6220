import { describe, expect, it } from 'vitest';
import { isTransient, parseFailure, TarballRejected, toTransient, TransientError } from '../../shared/errors.js';

describe('errors', () => {
  it('puts the code first in the message and keeps the class name as the error type', () => {
    const error = new TarballRejected('TARBALL_PARENT_PATH', 'entry "../etc/passwd" leaves the root');
    expect(error.name).toBe('TarballRejected');
    expect(error.message).toBe('TARBALL_PARENT_PATH: entry "../etc/passwd" leaves the root');
  });

  it.each([
    [
      { Error: 'TarballRejected', Cause: JSON.stringify({ errorType: 'TarballRejected', errorMessage: 'TARBALL_NOT_GZIP: not gzip' }) },
      'TarballRejected',
      'TARBALL_NOT_GZIP',
      'not gzip',
    ],
    [{ Error: 'States.Timeout', Cause: 'Task timed out' }, 'States.Timeout', 'States.Timeout', 'Task timed out'],
    [undefined, 'Unknown', 'Unknown', ''],
  ])('parses a Catch failure %#', (failure, error, code, message) => {
    expect(parseFailure(failure)).toEqual({ error, code, message });
  });

  it('classifies throttling and 5xx as transient, validation errors not', () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const fiveHundred = Object.assign(new Error('boom'), { name: 'Whatever', $metadata: { httpStatusCode: 503 } });
    const invalid = Object.assign(new Error('bad'), { name: 'InvalidParameterException', $metadata: { httpStatusCode: 400 } });
    expect(isTransient(throttled)).toBe(true);
    expect(isTransient(fiveHundred)).toBe(true);
    expect(isTransient(invalid)).toBe(false);
    expect(toTransient(throttled)).toBeInstanceOf(TransientError);
    expect(toTransient(invalid)).toBe(invalid);
  });
});
