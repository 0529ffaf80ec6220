import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { GetFunctionConfigurationCommand, GetFunctionEventInvokeConfigCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ClientFactory } from '../shared/aws/clients.js';
import type { Clock } from '../shared/aws/deps.js';
import type { Env } from '../shared/config.js';
import type { FunctionModule, Handler } from '../shared/handler.js';
import type { Scheduler } from './clock.js';
import type { ProvisionedStack } from './provision.js';
import { ROOT } from './template.js';

/**
 * The Lambda service of a local rack: every function the stack created, wired from its module the way
 * its `Handler` names it, with the environment CloudFormation resolved for it (read back from moto's
 * Lambda) and the rack's clients, clock and overrides. Invocations run in this process.
 *
 * Asynchronous invocations (EventBridge and SNS targets) follow the function's EventInvokeConfig as
 * the template sets it: retried MaximumRetryAttempts times, then a destination record (the original
 * event as requestPayload) sent to the on-failure queue.
 */
export interface FailureRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: 'RetriesExhausted'; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext: { statusCode: number; executedVersion: string; functionError: 'Unhandled' };
  responsePayload: { errorType: string; errorMessage: string };
}

export interface LocalFunction {
  /** the logical id in the template, e.g. PrepareLambdaFunction */
  logicalId: string;
  name: string;
  arn: string;
  /** `functions/prepare/handler.handler` */
  handlerPath: string;
  environment: Record<string, string>;
  retries: number;
  onFailure?: string;
  handler: Handler;
}

/** What tests and local mode put in place of a function's own dependencies (a store, a sender…). */
export type DependencyOverrides = Record<string, unknown> | ((functionName: string, deps: Record<string, unknown>) => Record<string, unknown>);

export interface Invocation {
  function: string;
  event: unknown;
  result?: unknown;
  error?: { name: string; message: string };
}

export class LocalFunctions {
  /** every invocation, in the order they ended (what a function's log would tell) */
  readonly invocations: Invocation[] = [];
  /** wrappers around a function's runs, by function name: a test's crash of the runtime, say */
  private readonly wrappers = new Map<string, (run: () => Promise<unknown>, event: unknown) => Promise<unknown>>();
  private readonly byArn = new Map<string, LocalFunction>();
  private readonly byName = new Map<string, LocalFunction>();

  /** `aws`: clients to moto itself, for what the Lambda service does (destination records) */
  constructor(
    private readonly aws: ClientFactory,
    private readonly scheduler: Scheduler,
  ) {}

  get all(): LocalFunction[] {
    return [...this.byArn.values()];
  }

  /** Wires every Lambda function of the stack. */
  async load(stack: ProvisionedStack, options: { aws: ClientFactory; region: string; now: Clock; overrides?: DependencyOverrides }): Promise<void> {
    const lambda = this.aws(LambdaClient);
    for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function' || !(logicalId in stack.physical)) continue;
      const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: stack.physical[logicalId] }));
      const invokeConfig = await lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: config.FunctionName })).catch((error: Error) => {
        if (error.name === 'ResourceNotFoundException') return undefined;
        throw error;
      });
      const handlerPath = config.Handler!;
      const environment = { ...(config.Environment?.Variables ?? {}) };
      // what the Lambda runtime sets for every function
      const env: Env = { ...environment, AWS_REGION: options.region, AWS_LAMBDA_FUNCTION_NAME: config.FunctionName! };
      const module = (await import(join(ROOT, `${handlerPath.replace(/\.[^.]+$/, '')}.ts`))) as FunctionModule<Record<string, unknown>>;
      if (typeof module.makeHandler !== 'function' || typeof module.depsFromEnv !== 'function') {
        throw new Error(`${handlerPath}: the module must export makeHandler and depsFromEnv`);
      }
      let deps = module.depsFromEnv(env, options.aws, options.now);
      const overrides = typeof options.overrides === 'function' ? options.overrides(config.FunctionName!, deps) : options.overrides;
      deps = { ...deps, ...Object.fromEntries(Object.entries(overrides ?? {}).filter(([key]) => key in deps)) };
      const fn: LocalFunction = {
        logicalId,
        name: config.FunctionName!,
        arn: config.FunctionArn!,
        handlerPath,
        environment,
        // Lambda's default for asynchronous invocations is two retries
        retries: invokeConfig?.MaximumRetryAttempts ?? 2,
        ...(invokeConfig?.DestinationConfig?.OnFailure?.Destination ? { onFailure: invokeConfig.DestinationConfig.OnFailure.Destination } : {}),
        handler: module.makeHandler(deps),
      };
      this.byArn.set(fn.arn, fn);
      this.byName.set(fn.name, fn);
    }
  }

  /** A function by ARN (with or without a qualifier) or name. */
  get(nameOrArn: string): LocalFunction {
    const unqualified = nameOrArn.replace(/:(\$LATEST|\d+)$/, '');
    const fn = this.byArn.get(unqualified) ?? this.byName.get(unqualified) ?? this.all.find((f) => f.name.endsWith(`-${unqualified}`));
    if (!fn) throw new Error(`no function ${nameOrArn} in the local rack (it has ${this.all.map((f) => f.name).join(', ')})`);
    return fn;
  }

  private context(fn: LocalFunction) {
    return {
      functionName: fn.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      awsRequestId: randomUUID(),
      memoryLimitInMB: '256',
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => 900_000,
      callbackWaitsForEmptyEventLoop: false,
    };
  }

  /** A synchronous invocation (a Step Functions task): the result, or the function's error. */
  invoke(nameOrArn: string, event: unknown): Promise<unknown> {
    const fn = this.get(nameOrArn);
    return this.scheduler.track(this.call(fn, event));
  }

  /**
   * Wraps every run of a function until the returned function is called, e.g. to crash the runtime
   * after the handler's AWS calls: `intercept('promote', async (run) => { await run(); throw … })`.
   */
  intercept(name: string, wrapper: (run: () => Promise<unknown>, event: unknown) => Promise<unknown>): () => void {
    const fn = this.get(name);
    this.wrappers.set(fn.name, wrapper);
    return () => this.wrappers.delete(fn.name);
  }

  private async call(fn: LocalFunction, event: unknown): Promise<unknown> {
    const entry: Invocation = { function: fn.name, event };
    try {
      const run = () => fn.handler(structuredClone(event), this.context(fn));
      const wrapper = this.wrappers.get(fn.name);
      entry.result = await (wrapper ? wrapper(run, event) : run());
      return entry.result;
    } catch (error) {
      entry.error = { name: (error as Error).name, message: (error as Error).message };
      throw error;
    } finally {
      this.invocations.push(entry);
    }
  }

  /** The invocations of one function (by name or its suffix), oldest first. */
  invocationsOf(name: string): Invocation[] {
    const fn = this.get(name);
    return this.invocations.filter((i) => i.function === fn.name);
  }

  /** An asynchronous invocation: retried as configured, then the destination record. */
  invokeAsync(nameOrArn: string, event: unknown): Promise<{ result?: unknown; failed?: FailureRecord }> {
    const fn = this.get(nameOrArn);
    const work = (async () => {
      let lastError: Error | undefined;
      for (let attempt = 1; attempt <= fn.retries + 1; attempt++) {
        try {
          return { result: await this.call(fn, event) };
        } catch (error) {
          lastError = error as Error;
        }
      }
      const record: FailureRecord = {
        version: '1.0',
        timestamp: new Date(this.scheduler.now()).toISOString(),
        requestContext: { requestId: randomUUID(), functionArn: `${fn.arn}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: fn.retries + 1 },
        requestPayload: event,
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: { errorType: lastError?.name ?? 'Error', errorMessage: lastError?.message ?? '' },
      };
      if (fn.onFailure) await this.aws(SQSClient).send(new SendMessageCommand({ QueueUrl: queueUrlOf(fn.onFailure), MessageBody: JSON.stringify(record) }));
      return { failed: record };
    })();
    return this.scheduler.track(work);
  }
}

/** `arn:aws:sqs:REGION:ACCOUNT:NAME` → the queue URL SQS answers to (moto accepts the standard form). */
export function queueUrlOf(arn: string): string {
  const [, , , region, account, name] = arn.split(':');
  return `https://sqs.${region}.amazonaws.com/${account}/${name}`;
}
