import { AsyncLocalStorage } from 'node:async_hooks';
import { DescribeStateMachineCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { StateMachine } from 'aws-local-stepfunctions';
import { type ClientPlugin, interceptPlugin } from '../shared/aws/clients.js';
import type { Scheduler } from './clock.js';
import type { LocalEvents } from './events.js';
import type { LocalFunctions } from './lambda.js';
import type { ProvisionedStack } from './provision.js';

/**
 * The Step Functions service of a local rack. moto keeps the state machines CloudFormation created
 * and records every StartExecution, but runs no Lambda task; this runs each execution in-process
 * with aws-local-stepfunctions, on the definition moto holds (the packaged one), with every Task
 * bound by its Resource to the local function it names. Task tokens are resolved here (what
 * SendTaskSuccess/Failure do), Task timeouts and Wait states run on the rack's clock, and every
 * status change goes out as the EventBridge event Step Functions sends.
 *
 * The rack's clients reach it through an SDK plugin: StartExecution goes to moto and then runs here;
 * SendTask* resolve tokens here; DescribeExecution, ListExecutions and GetExecutionHistory of a
 * local execution answer with its real status and history.
 */
type Json = any;
type Definition = { StartAt: string; States: Record<string, Json> } & Record<string, Json>;

export const TASK_TOKEN_PLACEHOLDER = 'local-task-token';
/** Which execution and state a Lambda invocation serves (the ECS simulator reads it). */
export const invocation = new AsyncLocalStorage<{ execution: string; state: string; machine: string }>();

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
    const failure = Object.assign(new Error(cause), { name: error, cause });
    const waiter = this.waiting.get(token);
    if (!waiter) return void this.early.set(token, { error: failure });
    this.waiting.delete(token);
    waiter.reject(failure);
  }

  get pending(): number {
    return this.waiting.size;
  }
}

type StateType = 'Task' | 'Choice' | 'Pass' | 'Fail' | 'Succeed' | 'Wait' | 'Parallel' | 'Map';

/** A history event without the inputs and outputs its details carry. */
function withoutExecutionData(event: HistoryEvent): HistoryEvent {
  return Object.fromEntries(
    Object.entries(event).map(([key, value]) => {
      if (!key.endsWith('EventDetails') || typeof value !== 'object' || value === null) return [key, value];
      const { input: _input, output: _output, ...rest } = value as Record<string, unknown>;
      return [key, rest];
    }),
  ) as HistoryEvent;
}

interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  [details: string]: unknown;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: Json;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  startDate: Date;
  stopDate?: Date;
  output?: Json;
  error?: string;
  cause?: string;
  /** names of the states entered, in order */
  statesEntered: string[];
  /** state transitions as Step Functions bills them: one per state entered, plus retries */
  transitions: number;
  history: HistoryEvent[];
  done: Promise<ExecutionRecord>;
  abort?: () => void;
}

interface Machine {
  arn: string;
  name: string;
  definition: Definition;
  /** state name → type, for the history */
  types: Record<string, StateType>;
}

export type Integration = (parameters: Json, context: { execution: string; state: string }) => Promise<Json>;

const TIMEOUT_FIELD = '__racklessTimeoutSeconds';

/** `$.a.b` and `$$.Execution.Name`-style paths only: enough for the Wait states of the shipped machines. */
function readPath(path: string, input: Json): Json {
  if (!/^\$(\.[A-Za-z0-9_]+)+$/.test(path)) throw new Error(`the local Step Functions reads only $.a.b paths, got ${path}`);
  return path
    .slice(2)
    .split('.')
    .reduce((node, key) => (node == null ? undefined : node[key]), input);
}

function replaceToken(node: Json, token: string): Json {
  if (node === TASK_TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(node)) return node.map((n) => replaceToken(n, token));
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, replaceToken(v, token)]));
  return node;
}

export class LocalStepFunctions {
  readonly tokens = new TaskTokenBus();
  private readonly machines = new Map<string, Machine>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly enteredWaiters: Array<{ execution: string; state: string; resolve: () => void }> = [];
  /** every state entered by every execution, in order: [execution name, state] */
  readonly entered: Array<[string, string]> = [];

  constructor(
    private readonly scheduler: Scheduler,
    private readonly functions: LocalFunctions,
    private readonly events: LocalEvents,
    private readonly integrations: Record<string, Integration>,
  ) {}

  async load(stack: ProvisionedStack, sfn: SFNClient): Promise<void> {
    for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
      if (resource.Type !== 'AWS::StepFunctions::StateMachine' || !(logicalId in stack.physical)) continue;
      const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: stack.physical[logicalId] }));
      const definition = JSON.parse(described.definition ?? '{}') as Definition;
      const types = Object.fromEntries(Object.entries(definition.States).map(([name, state]) => [name, (state as { Type: StateType }).Type]));
      this.machines.set(described.stateMachineArn!, { arn: described.stateMachineArn!, name: described.name!, definition, types });
    }
  }

  machine(nameOrArn: string): Machine {
    const found = this.machines.get(nameOrArn) ?? [...this.machines.values()].find((m) => m.name === nameOrArn || m.name.endsWith(`-${nameOrArn}`));
    if (!found) throw new Error(`no state machine ${nameOrArn} in the local rack`);
    return found;
  }

  execution(nameOrArn: string): ExecutionRecord | undefined {
    return this.executions.get(nameOrArn) ?? [...this.executions.values()].find((e) => e.name === nameOrArn);
  }

  get all(): ExecutionRecord[] {
    return [...this.executions.values()];
  }

  /** Resolves once the execution has entered the state (it may already have). */
  reached(execution: string, state: string): Promise<void> {
    if (this.entered.some(([e, s]) => e === execution && s === state)) return Promise.resolve();
    return new Promise((resolve) => this.enteredWaiters.push({ execution, state, resolve }));
  }

  /** Runs an execution moto accepted; once per execution ARN. */
  start(executionArn: string, stateMachineArn: string, input: Json): ExecutionRecord {
    const existing = this.executions.get(executionArn);
    if (existing) return existing;
    const machine = this.machine(stateMachineArn);
    const name = executionArn.split(':').pop()!;
    const record = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      input,
      status: 'RUNNING',
      startDate: new Date(this.scheduler.now()),
      statesEntered: [],
      transitions: 0,
      history: [],
    } as unknown as ExecutionRecord;
    this.executions.set(executionArn, record);
    this.push(record, 'ExecutionStarted', { executionStartedEventDetails: { input: JSON.stringify(input) } });
    // the run is not tracked work: it waits for tokens and timers; its steps are tracked invocations
    record.done = this.run(machine, record);
    return record;
  }

  private push(record: ExecutionRecord, type: string, details: Record<string, unknown>): void {
    const id = record.history.length + 1;
    record.history.push({ id, previousEventId: id - 1, timestamp: new Date(this.scheduler.now()), type, ...details });
  }

  private async statusChanged(record: ExecutionRecord): Promise<void> {
    // what Step Functions sends to EventBridge for every status change of a Standard execution
    await this.events.put([
      {
        Source: 'aws.states',
        DetailType: 'Step Functions Execution Status Change',
        Resources: [record.executionArn],
        Detail: JSON.stringify({
          executionArn: record.executionArn,
          stateMachineArn: record.stateMachineArn,
          name: record.name,
          status: record.status,
          startDate: record.startDate.getTime(),
          stopDate: record.stopDate ? record.stopDate.getTime() : null,
          input: JSON.stringify(record.input),
          output: record.output !== undefined ? JSON.stringify(record.output) : null,
          ...(record.error ? { error: record.error, cause: record.cause ?? '' } : {}),
        }),
      },
    ]);
  }

  private prepare(machine: Machine, record: ExecutionRecord) {
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    const retries: Record<string, number> = {};
    const states: Record<string, Json> = {};
    for (const [name, state] of Object.entries(machine.definition.States)) {
      if (state.Type === 'Parallel' || state.Type === 'Map') throw new Error(`${machine.name}.${name}: Parallel and Map states are not run locally`);
      if (state.Retry) retries[name] = 0;
      if (state.Type === 'Wait') {
        // a Wait is a timer on the rack's clock: a Task whose result is its input
        const { Seconds, SecondsPath, Timestamp, TimestampPath, Type: _t, ...rest } = state;
        states[name] = { ...rest, Type: 'Task', Resource: 'arn:aws:states:::local:wait', ResultPath: '$' };
        handlers[name] = async (input) => {
          const seconds = Seconds ?? (SecondsPath ? readPath(SecondsPath, input) : undefined);
          const until = Timestamp ?? (TimestampPath ? readPath(TimestampPath, input) : undefined);
          const ms = seconds !== undefined ? Number(seconds) * 1000 : Date.parse(until) - this.scheduler.now();
          await this.scheduler.sleep(ms);
          return input;
        };
        continue;
      }
      if (state.Type !== 'Task') {
        states[name] = state;
        continue;
      }
      const { TimeoutSeconds, TimeoutSecondsPath, HeartbeatSeconds, HeartbeatSecondsPath, ...task } = state;
      if (HeartbeatSeconds || HeartbeatSecondsPath) throw new Error(`${machine.name}.${name}: heartbeats are not run locally`);
      // the timeout is read from the state's input, as Step Functions does, and carried in the task's parameters
      if (TimeoutSecondsPath) task.Parameters = { ...(task.Parameters ?? {}), [`${TIMEOUT_FIELD}.$`]: TimeoutSecondsPath };
      states[name] = task;
      handlers[name] = this.bind(machine, record, name, state, TimeoutSeconds);
    }
    return { definition: { ...machine.definition, States: states }, handlers, retries };
  }

  private bind(machine: Machine, record: ExecutionRecord, stateName: string, state: Json, staticTimeout: number | undefined): (input: Json) => Promise<Json> {
    const resource: string = state.Resource;
    const scope = { execution: record.name, state: stateName, machine: machine.name };
    const invoke = (fn: string, payload: Json) => invocation.run(scope, () => this.functions.invoke(fn, payload));
    let run: (input: Json) => Promise<Json>;
    if (resource.startsWith('arn:aws:lambda:')) run = (input) => invoke(resource, input);
    else if (resource === 'arn:aws:states:::lambda:invoke') run = async (input) => ({ Payload: await invoke(input.FunctionName, input.Payload ?? input), StatusCode: 200 });
    else if (resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
      run = async (input) => {
        const token = this.tokens.newToken(record.name, stateName);
        const waiting = this.tokens.wait(token);
        // the token may be failed (superseded) while the function still runs: handled below
        waiting.catch(() => undefined);
        await invoke(input.FunctionName, replaceToken(input.Payload, token));
        return waiting;
      };
    } else {
      const integration = this.integrations[resource];
      if (!integration) throw new Error(`${machine.name}.${stateName}: no local service for ${resource}`);
      run = (input) => this.scheduler.track(invocation.run(scope, () => integration(input, scope)));
    }
    return async (raw) => {
      const { [TIMEOUT_FIELD]: pathTimeout, ...input } = raw ?? {};
      const seconds = typeof pathTimeout === 'number' ? pathTimeout : staticTimeout;
      if (seconds === undefined) return run(input);
      const abort = new AbortController();
      const timeout = this.scheduler.sleep(seconds * 1000, abort.signal).then(() => {
        throw Object.assign(new Error('States.Timeout'), { name: 'States.Timeout' });
      });
      try {
        return await Promise.race([run(input), timeout]);
      } finally {
        abort.abort();
      }
    };
  }

  private async run(machine: Machine, record: ExecutionRecord): Promise<ExecutionRecord> {
    await this.statusChanged(record);
    const { definition, handlers, retries } = this.prepare(machine, record);
    const runner = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
    const execution = runner.run(record.input, {
      overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: retries },
      context: {
        Execution: { Id: record.executionArn, Name: record.name, Input: record.input, StartTime: record.startDate.toISOString(), RoleArn: '' },
        StateMachine: { Id: machine.arn, Name: machine.name },
        Task: { Token: TASK_TOKEN_PLACEHOLDER },
      } as never,
    });
    record.abort = execution.abort;
    let current: { name: string; type: StateType } | undefined;
    const exitCurrent = () => {
      // a Fail state ends the execution without an exit event, as in Step Functions
      if (current && current.type !== 'Fail') this.push(record, `${current.type}StateExited`, { stateExitedEventDetails: { name: current.name } });
      current = undefined;
    };
    const collecting = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') {
          const name = event.state.name;
          exitCurrent();
          current = { name, type: machine.types[name] ?? 'Task' };
          // the state's input, as GetExecutionHistory returns it with includeExecutionData (its default)
          this.push(record, `${current.type}StateEntered`, { stateEnteredEventDetails: { name, input: JSON.stringify(event.state.input ?? null) } });
          record.statesEntered.push(name);
          this.entered.push([record.name, name]);
          for (const waiter of this.enteredWaiters.filter((w) => w.execution === record.name && w.state === name)) {
            this.enteredWaiters.splice(this.enteredWaiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
        if (event.type === 'StateRetried') record.transitions += 1;
      }
    })();
    try {
      record.output = await execution.result;
      record.status = 'SUCCEEDED';
    } catch (error) {
      const e = error as Error & { cause?: unknown };
      const inner = (e.cause ?? e) as Error & { cause?: unknown };
      if (e.name === 'ExecutionAbortedError') {
        record.status = 'ABORTED';
      } else {
        record.status = 'FAILED';
        record.error = inner.name;
        record.cause = typeof inner.cause === 'string' ? inner.cause : inner.message;
      }
    }
    await collecting;
    exitCurrent();
    record.stopDate = new Date(this.scheduler.now());
    record.transitions += record.statesEntered.length;
    if (record.status === 'SUCCEEDED') this.push(record, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: JSON.stringify(record.output ?? {}) } });
    else if (record.status === 'ABORTED') this.push(record, 'ExecutionAborted', {});
    else this.push(record, 'ExecutionFailed', { executionFailedEventDetails: { error: record.error, cause: record.cause } });
    await this.statusChanged(record);
    return record;
  }

  /** Aborts a local execution (StopExecution). */
  stop(executionArn: string): void {
    this.executions.get(executionArn)?.abort?.();
  }

  describe(record: ExecutionRecord) {
    return {
      executionArn: record.executionArn,
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: record.startDate,
      ...(record.stopDate ? { stopDate: record.stopDate } : {}),
      input: JSON.stringify(record.input),
      ...(record.output !== undefined ? { output: JSON.stringify(record.output) } : {}),
      ...(record.error !== undefined ? { error: record.error, cause: record.cause } : {}),
    };
  }

  /**
   * One Step Functions call, as the local service answers it: `forward` sends it on to moto (which
   * keeps state machines and execution records). Used by the clients' plugin and by the bridge.
   */
  async handle(operation: string, input: Json, forward: () => Promise<Json>): Promise<Json> {
    switch (operation) {
      case 'SendTaskSuccess':
        this.tokens.succeed(input.taskToken, JSON.parse(input.output ?? 'null'));
        return {};
      case 'SendTaskFailure':
        this.tokens.fail(input.taskToken, input.error ?? 'Error', input.cause ?? '');
        return {};
      case 'SendTaskHeartbeat':
        return {};
      case 'StartExecution': {
        const output = await forward();
        this.start(output.executionArn, input.stateMachineArn, JSON.parse(input.input ?? '{}'));
        return output;
      }
      case 'DescribeExecution': {
        const record = this.executions.get(input.executionArn);
        return record ? this.describe(record) : forward();
      }
      case 'StopExecution': {
        const output = await forward();
        this.stop(input.executionArn);
        return output;
      }
      case 'GetExecutionHistory': {
        const record = this.executions.get(input.executionArn);
        if (!record) return forward();
        const all = input.reverseOrder ? [...record.history].reverse() : record.history;
        // "whether execution data (input or output of a history event) is returned. The default is true" (GetExecutionHistory)
        const events = input.includeExecutionData === false ? all.map(withoutExecutionData) : all;
        const start = Number(input.nextToken ?? 0);
        const size = Math.min(Number(input.maxResults) || 100, 1000);
        return { events: events.slice(start, start + size), ...(start + size < events.length ? { nextToken: String(start + size) } : {}) };
      }
      case 'ListExecutions': {
        const output = await forward();
        const executions = (output.executions ?? []).map((e: Json) => {
          const record = this.executions.get(e.executionArn);
          return record ? { ...e, status: record.status, ...(record.stopDate ? { stopDate: record.stopDate } : {}) } : e;
        });
        return { ...output, executions: input.statusFilter ? executions.filter((e: Json) => e.status === input.statusFilter) : executions };
      }
      default:
        return forward();
    }
  }

  /** The SDK plugin that connects a client to this service (see the header). */
  plugin(): ClientPlugin {
    return interceptPlugin('localStepFunctions', 'initialize', async (call, next) => {
      if (call.client !== 'SFNClient') return next();
      let response: unknown = {};
      const output = await this.handle(call.command, call.input, async () => {
        const result = await next();
        response = result.response;
        return result.output;
      });
      return { output: { $metadata: {}, ...output }, response };
    });
  }
}
