import { type FilteredLogEvent, paginateFilterLogEvents } from '@aws-sdk/client-cloudwatch-logs';
import { context, isLoopback, type GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import { colors, type Io } from '../io.js';
import { checkApp } from './deploy.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** "30s", "10m", "2h", "1d" → milliseconds */
export function parseSince(text: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!match) throw new CliError(`--since "${text}" is not a duration`, 'use 30s, 10m, 2h or 1d');
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

export function formatLogEvent(event: FilteredLogEvent): string {
  // streams are <service>/<container>/<task id>: show service/task, like `convox logs`
  const [service, , task] = (event.logStreamName ?? '').split('/');
  return `${new Date(event.timestamp ?? 0).toISOString()} ${service ?? '?'}/${(task ?? '').slice(0, 12)} ${(event.message ?? '').trimEnd()}`;
}

export async function logs(service: string | undefined, options: GlobalOptions & { app?: string; follow?: boolean; since?: string; timeout?: number }, io: Io): Promise<number> {
  const app = checkApp(options.app);
  const ctx = await context(options);
  const c = colors(io);
  const group = `${ctx.rack.logGroupPrefix}/${app}`;
  let startTime = Date.now() - parseSince(options.since ?? '1h');
  const seen = new Set<string>();
  const deadline = Date.now() + (options.timeout ?? 3600) * 1000;
  const pollMs = isLoopback(options.endpointUrl) ? 200 : 2000;
  for (;;) {
    const pages = paginateFilterLogEvents({ client: ctx.aws.logs }, { logGroupName: group, startTime, ...(service ? { logStreamNamePrefix: `${service}/` } : {}) });
    try {
      for await (const page of pages) {
        for (const event of page.events ?? []) {
          if (event.eventId && seen.has(event.eventId)) continue;
          if (event.eventId) seen.add(event.eventId);
          if (options.json) io.out(`${JSON.stringify(event)}\n`);
          else io.out(`${c.dim(formatLogEvent(event).slice(0, 25))}${formatLogEvent(event).slice(25)}\n`);
          startTime = Math.max(startTime, event.timestamp ?? startTime);
        }
      }
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') throw new CliError(`app ${app} has no log group ${group} yet`, 'it is made by the first release of the app');
      throw error;
    }
    if (!options.follow || Date.now() > deadline) return 0;
    await sleep(pollMs);
  }
}
