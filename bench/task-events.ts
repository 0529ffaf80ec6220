import { serviceNames } from '../shared/names.js';
/**
 * task-events throughput: the real handler, made with `makeHandler(deps)` as Lambda and the local
 * rack make it, on the rack's in-memory Store (shared/aws/memory-store.ts: DynamoDB's conditional
 * semantics, one call at a time) with SNS and CloudWatch Logs on client mocks and the task-token
 * sender counted. Also: the alarms a 500-stop storm of one service sends.
 * Usage: `npx tsx bench/task-events.ts [--quick]` (full: 20,000 mixed events; quick: 2,000).
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { PublishCommand, type PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeHandler } from '../functions/task-events/handler.js';
import { MemoryStore } from '../shared/aws/memory-store.js';
import type { Store } from '../shared/aws/store.js';
import type { TaskTokenSender } from '../shared/watch/watch.js';
import type { BenchRow as Row } from './table.js';

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
  const services = Array.from({ length: 50 }, (_, i) => serviceNames({ name: RACK }, `${prefix}${i % 10}`, `svc${Math.floor(i / 10)}`).service);
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

/** The Store, counting the calls made to it (what were DynamoDB calls on AWS). */
function counted(store: Store): { store: Store; calls: () => number } {
  let calls = 0;
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls++;
        return value.apply(target, args);
      };
    },
  });
  return { store: proxy, calls: () => calls };
}

export async function runTaskEventsBench(opts: { quick?: boolean; log?: (line: string) => void } = {}): Promise<Row[]> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const count = opts.quick ? 2_000 : 20_000;
  const memory = new MemoryStore(Date.now);
  const { store, calls } = counted(memory);
  const published: PublishCommandInput[] = [];
  const tokens = { succeeded: 0, failed: 0 };
  const sender: TaskTokenSender = {
    succeed: async () => void tokens.succeeded++,
    fail: async () => void tokens.failed++,
  };
  const sns = new SNSClient({ region: 'us-east-1' });
  const logs = new CloudWatchLogsClient({ region: 'us-east-1' });
  // one fake on each mock's send: `.on(Command)` matchers deep-compare every call's arguments in
  // sinon, which would measure the mock library rather than the handler
  const snsMock = mockClient(sns);
  snsMock.send.callsFake((async (command: object) => {
    if (!(command instanceof PublishCommand)) throw new Error(`bench: ${command.constructor.name} is not faked`);
    published.push(command.input);
    return { MessageId: String(published.length) };
  }) as never);
  const logsMock = mockClient(logs);
  logsMock.send.callsFake((async (command: object) => {
    if (!(command instanceof GetLogEventsCommand)) throw new Error(`bench: ${command.constructor.name} is not faked`);
    return { events: [{ message: 'listening on :3000' }, { message: 'Error: out of memory' }] };
  }) as never);
  const mocks = [snsMock, logsMock];
  try {
    const handler = makeHandler({
      store,
      sender,
      sns,
      logs,
      topicArn: 'arn:aws:sns:us-east-1:123456789012:bench-notifications',
      rack: RACK,
      logGroupPrefix: `/rackless/${RACK}`,
      windowSeconds: 300,
      now: Date.now,
    }) as (event: unknown, context: unknown) => Promise<unknown>;
    // untimed warm-up on other services, so the measure is of a warm Lambda, not of the JIT
    await deliverAll(handler, mixedEvents(1_000, 'warm'), 50);
    published.length = 0;
    const events = mixedEvents(count);
    log(`delivering ${count} mixed ECS events, 50 in flight …`);
    const callsBefore = calls();
    const started = performance.now();
    // sinon keeps every call's arguments; dropping them every 1,000 events keeps memory flat
    await deliverAll(handler, events, 50, () => {
      for (const mock of mocks) mock.resetHistory();
    });
    const seconds = (performance.now() - started) / 1000;
    const perSecond = count / seconds;
    const mixedAlarms = published.length;
    const callsMixed = calls() - callsBefore;

    published.length = 0;
    const storm = serviceNames({ name: RACK }, 'storm', 'web').service;
    const stops = Array.from({ length: 500 }, (_, i) => taskEvent(CRASHES[0]!, storm, 100_000_000 + i));
    log('delivering a 500-stop storm of one service, all at once …');
    const stormStarted = performance.now();
    await Promise.all(stops.map((event) => handler(event, {})));
    const stormMs = performance.now() - stormStarted;
    const stormAlarms = published.filter((p) => p.MessageAttributes?.kind?.StringValue === 'crash-loop' && p.MessageAttributes?.service?.StringValue === 'web').length;
    const counted500 = (await memory.readAlarmState(storm))?.windows.crash?.count;

    return [
      {
        bench: 'task-events',
        row: `throughput (${count} mixed events, 50 concurrent; in-memory Store)`,
        value: `${Math.round(perSecond).toLocaleString('en-US')} events/s`,
        target: '>= 2,000 events/s',
        ok: perSecond >= 2000,
        note: `${(seconds * 1000).toFixed(0)} ms, ${callsMixed} Store calls, ${mixedAlarms} notifications over 50 services`,
      },
      {
        bench: 'task-events',
        row: 'alarms for a 500-stop storm of one service',
        value: String(stormAlarms),
        target: '1 per service per window',
        ok: stormAlarms === 1,
        note: `${stormMs.toFixed(0)} ms; stops counted in the window: ${String(counted500)}`,
      },
      { bench: 'task-events', row: 'stops counted in the storm window', value: String(counted500), target: '500', ok: counted500 === 500 },
    ];
  } finally {
    for (const mock of mocks) mock.restore();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { printTable } = await import('./table.js');
  const rows = await runTaskEventsBench({ quick: process.argv.includes('--quick') });
  printTable(rows);
  process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
}
