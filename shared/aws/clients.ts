/**
 * One client factory. Every adapter takes its client as a parameter; handlers build clients at
 * module scope through here, so an endpoint override (moto, LocalStack) reaches all of them.
 */
export interface ClientOptions {
  region: string;
  endpoint?: string;
  maxAttempts: number;
  forcePathStyle?: boolean;
}

export function clientOptions(overrides: Partial<ClientOptions> = {}): ClientOptions {
  const endpoint = process.env.AWS_ENDPOINT_URL || undefined;
  return {
    region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
    // adaptive retry inside the SDK first; the state machine's Retry handles what remains
    maxAttempts: 4,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ...overrides,
  };
}

/** Builds any v3 client with the shared options: `makeClient(ECSClient)`. */
export function makeClient<C>(Client: new (config: ClientOptions) => C, overrides: Partial<ClientOptions> = {}): C {
  return new Client(clientOptions(overrides));
}
