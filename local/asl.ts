import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
import { parse } from 'yaml';

/**
 * Runs a shipped ASL file in-process with aws-local-stepfunctions: every Task is bound by state name
 * to the real handler of the function its Resource names. Used by the tests, the demo and the bench,
 * so the state machine they execute is the file serverless.yml deploys.
 */
export const LOCAL_ACCOUNT = '123456789012';
export const TASK_TOKEN_PLACEHOLDER = 'local-task-token';

type Json = any;
type Definition = { StartAt: string; States: Record<string, Json> } & Record<string, Json>;

export function lambdaArn(functionName: string, region = 'us-east-1'): string {
  return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:rackless-local-${functionName}`;
}

/** Serverless resolves `Fn::GetAtt: [fn, Arn]`; locally the function name is the binding key. */
function resolveIntrinsics(node: Json, region: string): Json {
  if (Array.isArray(node)) return node.map((n) => resolveIntrinsics(n, region));
  if (node && typeof node === 'object') {
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt[1] === 'Arn' && Object.keys(node).length === 1) return lambdaArn(String(getAtt[0]), region);
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolveIntrinsics(v, region)]));
  }
  return node;
}

export function loadDefinition(file: string, region = 'us-east-1'): Definition {
  return resolveIntrinsics(parse(readFileSync(file, 'utf8')), region) as Definition;
}

export function functionNameOf(resource: string): string | undefined {
  const match = /:function:rackless-local-([A-Za-z0-9-]+)$/.exec(resource);
  return match?.[1];
}

export type Handler = (event: Json, context: Json) => Promise<Json>;

/** Resolves task tokens in-process: what SendTaskSuccess/Failure do in AWS. */
export class TaskTokenBus {
  private waiting = new Map<string, { resolve: (v: Json) => void; reject: (e: Error) => void }>();
  private early = new Map<string, { output?: Json; error?: Error }>();
  private counter = 0;

  newToken(execution: string, state: string): string {
    this.counter += 1;
    return `${execution}.${state}.${this.counter}`;
  }

  wait(token: string): Promise<Json> {
    const settled = this.early.get(token);
    if (settled) {
      this.early.delete(token);
      return settled.error ? Promise.reject(settled.error) : Promise.resolve(settled.output);
    }
    return new Promise((resolve, reject) => this.waiting.set(token, { resolve, reject }));
  }

  succeed(token: string, output: Json): void {
    const waiter = this.waiting.get(token);
    if (!waiter) return void this.early.set(token, { output });
    this.waiting.delete(token);
    waiter.resolve(output);
  }

  fail(token: string, error: string, cause: string): void {
    const failure = Object.assign(new Error(cause), { name: error });
    const waiter = this.waiting.get(token);
    if (!waiter) return void this.early.set(token, { error: failure });
    this.waiting.delete(token);
    waiter.reject(failure);
  }

  get pending(): number {
    return this.waiting.size;
  }
}

export interface RunOptions {
  executionName: string;
  /** function name (as in serverless.yml) → handler */
  handlers: Record<string, Handler>;
  /** service integrations by Resource ARN, e.g. the CodeBuild build simulator */
  integrations?: Record<string, (parameters: Json) => Promise<Json>>;
  tokens: TaskTokenBus;
  /** Wait states, Retry intervals: milliseconds (0 in tests) */
  waitMs?: number;
  stateMachineArn?: string;
  /** called as each state is entered, with its input (drives the local ECS simulator) */
  onStateEntered?: (name: string, input: Json) => void;
}

export interface RunResult {
  status: 'SUCCEEDED' | 'FAILED';
  output?: Json;
  error?: string;
  cause?: string;
  /** names of the states entered, in order */
  statesEntered: string[];
  /** state transitions as Step Functions bills them: one per state entered, plus retries */
  transitions: number;
}

function taskStates(definition: Definition): Array<[string, Json]> {
  const found: Array<[string, Json]> = [];
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task') found.push([name, state]);
    for (const branch of state.Branches ?? []) found.push(...taskStates(branch));
    if (state.Iterator) found.push(...taskStates(state.Iterator));
    if (state.ItemProcessor) found.push(...taskStates(state.ItemProcessor));
  }
  return found;
}

function replaceToken(node: Json, token: string): Json {
  if (node === TASK_TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(node)) return node.map((n) => replaceToken(n, token));
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, replaceToken(v, token)]));
  return node;
}

function lambdaContext(functionName: string): Json {
  return {
    functionName: `rackless-local-${functionName}`,
    awsRequestId: `local-${Math.random().toString(36).slice(2)}`,
    invokedFunctionArn: lambdaArn(functionName),
    getRemainingTimeInMillis: () => 900_000,
    callbackWaitsForEmptyEventLoop: false,
  };
}

function bindTask(stateName: string, state: Json, options: RunOptions): (input: Json) => Promise<Json> {
  const resource: string = state.Resource;
  const invoke = (functionName: string | undefined, input: Json) => {
    const handler = functionName ? options.handlers[functionName] : undefined;
    if (!handler) throw new Error(`state ${stateName}: no local handler bound for ${functionName ?? resource}`);
    return handler(input, lambdaContext(functionName!));
  };
  const direct = functionNameOf(resource);
  if (direct) return (input) => invoke(direct, input);
  if (resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
    const fn = functionNameOf(state.Parameters?.FunctionName ?? '');
    return async (input) => {
      const token = options.tokens.newToken(options.executionName, stateName);
      const waiting = options.tokens.wait(token);
      // the token may be failed (superseded) while the handler is still running: handled later
      waiting.catch(() => undefined);
      // a handler that fails to start the wait fails the state, like a Lambda error would
      await invoke(fn, replaceToken(input.Payload ?? input, token));
      const timeoutSeconds = state.TimeoutSecondsPath ? resolvePath(state.TimeoutSecondsPath, input.Payload?.state ?? input) : undefined;
      if (typeof timeoutSeconds !== 'number') return waiting;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('States.Timeout'), { name: 'States.Timeout' })), timeoutSeconds * 1000);
      });
      return Promise.race([waiting, timeout]).finally(() => clearTimeout(timer));
    };
  }
  if (resource === 'arn:aws:states:::lambda:invoke') {
    const fn = functionNameOf(state.Parameters?.FunctionName ?? '');
    return async (input) => ({ Payload: await invoke(fn, input.Payload ?? input), StatusCode: 200 });
  }
  const integration = options.integrations?.[resource];
  if (integration) return integration;
  throw new Error(`state ${stateName}: no local binding for resource ${resource}`);
}

/** `$.a.b` paths only: enough for TimeoutSecondsPath. */
function resolvePath(path: string, input: Json): Json {
  if (!/^\$(\.[A-Za-z0-9_]+)+$/.test(path)) throw new Error(`local runner supports only $.a.b paths, got ${path}`);
  return path
    .slice(2)
    .split('.')
    .reduce((node, key) => (node == null ? undefined : node[key]), input);
}

/**
 * AWS resolves TimeoutSecondsPath against the state's input; aws-local-stepfunctions against the
 * effective input (after Parameters). The runner applies it itself, from the `state` the Payload
 * passes through, and hands the library a definition without it.
 */
function withoutTimeoutPaths(node: Json): Json {
  if (Array.isArray(node)) return node.map(withoutTimeoutPaths);
  if (node && typeof node === 'object') {
    const copy = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, withoutTimeoutPaths(v)]));
    if (copy.Type === 'Task' && copy.TimeoutSecondsPath) {
      delete copy.TimeoutSecondsPath;
      // setTimeout overflows past 2^31 ms (≈ 24.8 days) and would fire at once
      copy.TimeoutSeconds = 2_000_000;
    }
    return copy;
  }
  return node;
}

export async function runStateMachine(definition: Definition, input: Json, options: RunOptions): Promise<RunResult> {
  const machine = new StateMachine(withoutTimeoutPaths(definition), { validationOptions: { checkArn: false } });
  const taskResourceLocalHandlers: Record<string, (input: Json) => Promise<Json>> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [name, state] of taskStates(definition)) {
    taskResourceLocalHandlers[name] = bindTask(name, state, options);
    if (state.Retry) retryIntervalOverrides[name] = options.waitMs ?? 0;
  }
  const waitTimeOverrides: Record<string, number> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Wait') waitTimeOverrides[name] = options.waitMs ?? 0;
  }
  const startTime = new Date().toISOString();
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers, retryIntervalOverrides, waitTimeOverrides },
    context: {
      Execution: {
        Id: `${options.stateMachineArn ?? 'arn:aws:states:us-east-1:123456789012:stateMachine:local'}:${options.executionName}`.replace(':stateMachine:', ':execution:'),
        Name: options.executionName,
        Input: input,
        StartTime: startTime,
      },
      StateMachine: { Id: options.stateMachineArn ?? 'local', Name: 'local' },
      Task: { Token: TASK_TOKEN_PLACEHOLDER },
    },
  });
  const statesEntered: string[] = [];
  let retries = 0;
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') {
        statesEntered.push(event.state.name);
        options.onStateEntered?.(event.state.name, event.state.input);
      }
      if (event.type === 'StateRetried') retries += 1;
    }
  })();
  let result: RunResult;
  try {
    const output = await execution.result;
    result = { status: 'SUCCEEDED', output, statesEntered, transitions: 0 };
  } catch (error) {
    const e = error as Error & { cause?: unknown };
    const inner = (e.cause ?? e) as Error & { cause?: unknown };
    result = {
      status: 'FAILED',
      error: inner.name,
      cause: typeof inner.cause === 'string' ? inner.cause : inner.message,
      statesEntered,
      transitions: 0,
    };
  }
  await collecting;
  result.transitions = statesEntered.length + retries;
  return result;
}
