/**
 * task-events throughput with AWS on client mocks: the real handler, its DynamoDB calls answered by an
 * in-memory table that applies condition and update expressions one call at a time (as DynamoDB does
 * per item), SNS/SFN/Logs stubbed. Also: the alarms a 500-stop storm of one service sends.
 * Usage: `npx tsx bench/task-events.ts [--quick]` (full: 20,000 mixed events; quick: 2,000).
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient, type PublishCommandInput } from '@aws-sdk/client-sns';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { BenchRow as Row } from './table.js';

type Item = Record<string, unknown>;
type Values = Record<string, unknown>;
type Names = Record<string, string>;

/** One DynamoDB table in memory: the expression forms Rackless writes, evaluated atomically per call. */
export class FakeTable {
  readonly items = new Map<string, Item>();
  calls = 0;

  private key(key: Item): string {
    return `${key.pk as string}\u0000${key.sk as string}`;
  }

  get(input: { Key: Item }): { Item?: Item } {
    this.calls++;
    const item = this.items.get(this.key(input.Key));
    return item ? { Item: structuredClone(item) } : {};
  }

  put(input: { Item: Item; ConditionExpression?: string; ExpressionAttributeNames?: Names; ExpressionAttributeValues?: Values }): object {
    this.calls++;
    const existing = this.items.get(this.key(input.Item));
    this.check(existing, input);
    this.items.set(this.key(input.Item), structuredClone(input.Item));
    return {};
  }

  delete(input: { Key: Item; ConditionExpression?: string; ExpressionAttributeNames?: Names; ExpressionAttributeValues?: Values }): object {
    this.calls++;
    this.check(this.items.get(this.key(input.Key)), input);
    this.items.delete(this.key(input.Key));
    return {};
  }

  update(input: {
    Key: Item;
    UpdateExpression: string;
    ConditionExpression?: string;
    ExpressionAttributeNames?: Names;
    ExpressionAttributeValues?: Values;
    ReturnValues?: string;
  }): { Attributes?: Item } {
    this.calls++;
    const existing = this.items.get(this.key(input.Key));
    this.check(existing, input);
    const item: Item = existing ? structuredClone(existing) : { ...input.Key };
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    for (const [, clause, body] of input.UpdateExpression.matchAll(/\b(SET|ADD|REMOVE)\s+(.*?)(?=\s+\b(?:SET|ADD|REMOVE)\b|$)/g)) {
      for (const part of body!.split(',').map((p) => p.trim())) {
        if (clause === 'SET') {
          const [path, operand] = part.split('=').map((p) => p.trim()) as [string, string];
          item[this.name(path, names)] = this.operand(operand, item, names, values);
        } else if (clause === 'ADD') {
          const [path, operand] = part.split(/\s+/) as [string, string];
          const name = this.name(path, names);
          item[name] = Number(item[name] ?? 0) + Number(this.operand(operand, item, names, values));
        } else {
          delete item[this.name(part, names)];
        }
      }
    }
    this.items.set(this.key(input.Key), item);
    if (input.ReturnValues === 'ALL_OLD') return existing ? { Attributes: structuredClone(existing) } : {};
    if (input.ReturnValues === 'ALL_NEW' || input.ReturnValues === 'UPDATED_NEW') return { Attributes: structuredClone(item) };
    return {};
  }

  query(input: { KeyConditionExpression: string; ExpressionAttributeValues: Values; ScanIndexForward?: boolean; Limit?: number }): { Items: Item[] } {
    this.calls++;
    const match = /^pk = (:\w+) AND begins_with\(sk, (:\w+)\)$/.exec(input.KeyConditionExpression);
    if (!match) throw new Error(`FakeTable: unsupported key condition ${input.KeyConditionExpression}`);
    const [pk, prefix] = [input.ExpressionAttributeValues[match[1]!], input.ExpressionAttributeValues[match[2]!] as string];
    const found = [...this.items.values()].filter((i) => i.pk === pk && String(i.sk).startsWith(prefix)).sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
    if (input.ScanIndexForward === false) found.reverse();
    return { Items: found.slice(0, input.Limit ?? found.length).map((i) => structuredClone(i)) };
  }

  private name(token: string, names: Names): string {
    return token.startsWith('#') ? (names[token] ?? token) : token;
  }

  private operand(token: string, item: Item, names: Names, values: Values): unknown {
    if (token.startsWith(':')) {
      if (!(token in values)) throw new Error(`FakeTable: value ${token} is not defined`);
      return values[token];
    }
    if (/^[#\w]+$/.test(token)) return item[this.name(token, names)];
    throw new Error(`FakeTable: unsupported operand ${token}`);
  }

  /** OR of ANDs of attribute_(not_)exists and comparisons: the forms the rack's writes use. */
  private check(existing: Item | undefined, input: { ConditionExpression?: string; ExpressionAttributeNames?: Names; ExpressionAttributeValues?: Values }): void {
    if (!input.ConditionExpression) return;
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    const item = existing ?? {};
    const atom = (text: string): boolean => {
      const fn = /^attribute_(not_)?exists\(([#\w]+)\)$/.exec(text);
      if (fn) return this.name(fn[2]!, names) in item === !fn[1];
      const cmp = /^([#:\w]+)\s*(=|<>|<=|>=|<|>)\s*([#:\w]+)$/.exec(text);
      if (!cmp) throw new Error(`FakeTable: unsupported condition ${text}`);
      const [a, b] = [this.operand(cmp[1]!, item, names, values), this.operand(cmp[3]!, item, names, values)];
      if (a === undefined || b === undefined) return false;
      switch (cmp[2]) {
        case '=':
          return a === b;
        case '<>':
          return a !== b;
        case '<':
          return (a as number) < (b as number);
        case '<=':
          return (a as number) <= (b as number);
        case '>':
          return (a as number) > (b as number);
        default:
          return (a as number) >= (b as number);
      }
    };
    const ok = input.ConditionExpression.split(/\s+OR\s+/).some((any) => any.split(/\s+AND\s+/).every((all) => atom(all.trim())));
    if (!ok) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
  }
}

const EVENTS = fileURLToPath(new URL('../events/', import.meta.url));
const RACK = 'rackless-demo';
const sample = (name: string) => JSON.parse(readFileSync(`${EVENTS}${name}.json`, 'utf8')) as Record<string, any>;
const CRASHES = ['ecs-task-stopped-oom', 'ecs-task-stopped-exit-1', 'ecs-task-stopped-health-check', 'ecs-task-stopped-cannot-pull'].map(sample);
const EXPECTED = ['ecs-task-stopped-scale-in', 'ecs-task-stopped-user'].map(sample);
const RUNNING = sample('ecs-task-running');
const DEPLOYMENTS = ['ecs-deployment-in-progress', 'ecs-deployment-completed'].map(sample);
const ACTIONS = ['ecs-service-action-steady', 'ecs-service-action-placement-failure'].map(sample);

function taskEvent(base: Record<string, any>, service: string, task: number): Record<string, any> {
  const event = structuredClone(base);
  const taskArn = `arn:aws:ecs:us-east-1:123456789012:task/${RACK}/${task.toString(16).padStart(32, '0')}`;
  event.resources = [taskArn];
  Object.assign(event.detail, { taskArn, group: `service:${service}` });
  return event;
}

function serviceEvent(base: Record<string, any>, service: string): Record<string, any> {
  const event = structuredClone(base);
  event.resources = [`arn:aws:ecs:us-east-1:123456789012:service/${RACK}/${service}`];
  return event;
}

/**
 * A deterministic mix in blocks of 20 events per service (50 services, in turn): 8 crashes, 2
 * redeliveries, 3 routine stops, 3 running tasks, a deployment in progress and completed (recovery),
 * a steady state and a placement failure (warning).
 */
export function mixedEvents(count: number, prefix = 'app'): Array<Record<string, any>> {
  const events: Array<Record<string, any>> = [];
  const services = Array.from({ length: 50 }, (_, i) => `${RACK}-${prefix}${i % 10}-svc${Math.floor(i / 10)}`);
  let task = prefix === 'app' ? 0 : 10_000_000;
  for (let i = 0; events.length < count; i++) {
    const service = services[Math.floor(i / 20) % services.length]!;
    const slot = i % 20;
    if (slot < 8) events.push(taskEvent(CRASHES[i % CRASHES.length]!, service, ++task));
    else if (slot < 10) events.push(structuredClone(events[Math.max(0, events.length - 7)]!));
    else if (slot < 13) events.push(taskEvent(EXPECTED[i % EXPECTED.length]!, service, ++task));
    else if (slot < 16) events.push(taskEvent(RUNNING, service, ++task));
    else if (slot < 18) events.push(serviceEvent(DEPLOYMENTS[i % DEPLOYMENTS.length]!, service));
    else events.push(serviceEvent(ACTIONS[i % ACTIONS.length]!, service));
  }
  return events;
}

/** Delivers events with `concurrency` invocations in flight, like concurrent Lambdas. */
async function deliverAll(
  handler: (event: unknown, context: unknown) => Promise<unknown>,
  events: Array<Record<string, any>>,
  concurrency: number,
  onProgress?: (done: number) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const at = next++;
      await handler(events[at], {});
      if (at % 1000 === 999) onProgress?.(at + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export async function runTaskEventsBench(opts: { quick?: boolean; log?: (line: string) => void } = {}): Promise<Row[]> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const count = opts.quick ? 2_000 : 20_000;
  Object.assign(process.env, {
    TABLE_NAME: 'bench-state',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:bench-notifications',
    RACK_NAME: RACK,
    LOG_GROUP_PREFIX: `/rackless/${RACK}`,
    ALARM_WINDOW_SECONDS: '300',
    AWS_REGION: 'us-east-1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'ERROR',
  });
  const table = new FakeTable();
  const published: PublishCommandInput[] = [];
  const ddb = mockClient(DynamoDBDocumentClient);
  // one fake on the stub's send, dispatching by command class: `.on(Command)` matchers deep-compare
  // every call's arguments in sinon, which would measure the mock library rather than the handler
  const dynamodb = async (command: object): Promise<object> => {
    // the document commands' inputs are the shapes FakeTable reads
    const input = (command as { input: never }).input;
    if (command instanceof GetCommand) return table.get(input);
    if (command instanceof PutCommand) return table.put(input);
    if (command instanceof UpdateCommand) return table.update(input);
    if (command instanceof DeleteCommand) return table.delete(input);
    if (command instanceof QueryCommand) return table.query(input);
    throw new Error(`bench: ${command.constructor.name} is not faked`);
  };
  ddb.send.callsFake(dynamodb as never);
  const sns = mockClient(SNSClient);
  const publishFake = async (command: object) => {
    if (!(command instanceof PublishCommand)) throw new Error(`bench: ${command.constructor.name} is not faked`);
    published.push(command.input);
    return { MessageId: String(published.length) };
  };
  sns.send.callsFake(publishFake as never);
  const mocks = [
    ddb,
    // everything goes through the document client; a raw call would mean an unmocked path
    mockClient(DynamoDBClient).onAnyCommand().rejects(new Error('bench: raw DynamoDBClient call')),
    sns,
    mockClient(SFNClient).on(SendTaskSuccessCommand).resolves({}).on(SendTaskFailureCommand).resolves({}),
    mockClient(CloudWatchLogsClient)
      .on(GetLogEventsCommand)
      .resolves({ events: [{ message: 'listening on :3000' }, { message: 'Error: out of memory' }] }),
  ];
  try {
    const { handler } = (await import('../functions/task-events/handler.js')) as { handler: (event: unknown, context: unknown) => Promise<unknown> };
    // untimed warm-up on other services, so the measure is of a warm Lambda, not of the JIT
    await deliverAll(handler, mixedEvents(1_000, 'warm'), 50);
    published.length = 0;
    const events = mixedEvents(count);
    log(`delivering ${count} mixed ECS events, 50 in flight …`);
    const callsBefore = table.calls;
    const started = performance.now();
    // sinon keeps every call's arguments; dropping them every 1,000 events keeps memory flat
    await deliverAll(handler, events, 50, () => {
      for (const mock of mocks) mock.resetHistory();
    });
    const seconds = (performance.now() - started) / 1000;
    const perSecond = count / seconds;
    const mixedAlarms = published.length;
    const callsMixed = table.calls - callsBefore;

    published.length = 0;
    const storm = `${RACK}-storm-web`;
    const stops = Array.from({ length: 500 }, (_, i) => taskEvent(CRASHES[0]!, storm, 100_000_000 + i));
    log('delivering a 500-stop storm of one service, all at once …');
    const stormStarted = performance.now();
    await Promise.all(stops.map((event) => handler(event, {})));
    const stormMs = performance.now() - stormStarted;
    const stormAlarms = published.filter((p) => p.MessageAttributes?.kind?.StringValue === 'crash-loop' && p.MessageAttributes?.service?.StringValue === 'web').length;
    const state = table.items.get(`ALARM#${storm}\u0000STATE`);

    return [
      {
        bench: 'task-events',
        row: `throughput (${count} mixed events, 50 concurrent)`,
        value: `${Math.round(perSecond).toLocaleString('en-US')} events/s`,
        target: '>= 2,000 events/s',
        ok: perSecond >= 2000,
        note: `${(seconds * 1000).toFixed(0)} ms, ${callsMixed} DynamoDB calls, ${mixedAlarms} notifications over 50 services`,
      },
      {
        bench: 'task-events',
        row: 'alarms for a 500-stop storm of one service',
        value: String(stormAlarms),
        target: '1 per service per window',
        ok: stormAlarms === 1,
        note: `${stormMs.toFixed(0)} ms; stops counted in the window: ${String(state?.crashCount)}`,
      },
      { bench: 'task-events', row: 'stops counted in the storm window', value: String(state?.crashCount), target: '500', ok: state?.crashCount === 500 },
    ];
  } finally {
    for (const mock of mocks) mock.restore();
  }
}

function printRows(rows: Row[]): void {
  const header = ['row', 'value', 'target', 'ok'];
  const cells = rows.map((r) => [r.row, r.value, r.target, r.ok ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  console.log([line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n'));
  for (const r of rows.filter((r) => r.note)) console.log(`- ${r.row}: ${r.note}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await runTaskEventsBench({ quick: process.argv.includes('--quick') });
  printRows(rows);
  process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
}
