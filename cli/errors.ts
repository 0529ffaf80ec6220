/** A failure the user can act on: one line, a hint, an exit code. Printed without a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** AWS SDK errors the user meets most, as one line and a hint. */
export function explainAwsError(error: unknown): { message: string; hint?: string } {
  const e = error as Error & { $metadata?: { httpStatusCode?: number }; code?: string };
  const name = e?.name ?? 'Error';
  if (name === 'CredentialsProviderError' || /Could not load credentials/.test(e?.message ?? '')) {
    return { message: 'no AWS credentials found', hint: 'set AWS_PROFILE or pass --profile, or run `aws configure`' };
  }
  if (name === 'ExpiredToken' || name === 'ExpiredTokenException') return { message: 'the AWS session token has expired', hint: 'refresh your credentials (aws sso login)' };
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || name === 'UnauthorizedOperation') {
    return { message: `access denied: ${e.message}`, hint: 'the CLI needs the permissions of the rack (see the README, "CLI permissions")' };
  }
  if ((e as { code?: string }).code === 'ECONNREFUSED' || /ECONNREFUSED/.test(e?.message ?? '')) {
    return { message: `cannot reach the AWS endpoint: ${e.message}`, hint: 'is `rackless local up` still running? check --endpoint-url' };
  }
  return { message: `${name}: ${e?.message ?? String(error)}` };
}
