/**
 * Storm suppression for a service's alarms, pure: no clients, no clock (callers pass `now`, epoch ms).
 *
 * A service has one alarm state. Each channel (crash: unexpected task stops; warning: ECS says it
 * cannot place or start tasks) has a window: the first signal after the window has run out opens a new
 * window and raises an alarm; signals inside an open window are only counted. Once an alarm is out,
 * the service is "alarmed" until it is stable again, and that recovery is announced once. The stops of
 * an alarmed stretch (an episode) are counted across windows, so later alarms and the recovery say how
 * many tasks died since the first alarm.
 *
 * The store (Store.applyAlarm and friends) applies a decision with a conditional write on `revision`, so
 * concurrent Lambdas that decided from the same state cannot both raise an alarm.
 */
import type { ServiceAction, TaskStop } from '../events/classify.js';

export type AlarmChannel = 'crash' | 'warning';

export interface AlarmWindow {
  /** epoch ms the window opened (its alarm was raised) */
  start: number;
  /** signals inside the window, the alarming one included */
  count: number;
}

export interface ServiceAlarmState {
  /** bumped by every alarm and recovery; 0 = nothing stored yet */
  revision: number;
  windows: Partial<Record<AlarmChannel, AlarmWindow>>;
  /** an alarm went out and the service has not been stable since */
  alarmed: boolean;
  /** epoch ms of the episode's first alarm */
  alarmedAt?: number;
  /** unexpected task stops since alarmedAt */
  episodeStops: number;
}

export const QUIET: ServiceAlarmState = { revision: 0, windows: {}, alarmed: false, episodeStops: 0 };

export type AlarmDecision =
  | { action: 'ignore'; reason: string }
  /** inside an open window: add one to its count (and to the episode's stops when alarmed) */
  | { action: 'count'; channel: AlarmChannel; windowStart: number; episodeStops: 0 | 1 }
  /** a new window: raise the alarm; `stops` and `sinceMs` are what it reports */
  | { action: 'alarm'; channel: AlarmChannel; continues: boolean; stops: number; sinceMs: number; next: ServiceAlarmState };

export type RecoveryDecision = { action: 'ignore'; reason: string } | { action: 'recover'; stops: number; sinceMs: number; next: ServiceAlarmState };

/** ECS service actions that raise a warning alarm. */
export const WARNING_EVENTS: ReadonlySet<string> = new Set(['SERVICE_TASK_PLACEMENT_FAILURE', 'SERVICE_TASK_START_IMPAIRED']);

function windowOpen(window: AlarmWindow | undefined, now: number, windowSeconds: number): window is AlarmWindow {
  // a window opened by a Lambda whose clock runs slightly ahead is still open here
  return window !== undefined && now < window.start + windowSeconds * 1000;
}

/** Count inside an open window, or open a new window with an alarm. */
export function windowDecision(args: { channel: AlarmChannel; windowState?: ServiceAlarmState; now: number; windowSeconds: number }): AlarmDecision {
  const { channel, now, windowSeconds } = args;
  const state = args.windowState ?? QUIET;
  const stop = channel === 'crash' ? 1 : 0;
  const window = state.windows[channel];
  if (windowOpen(window, now, windowSeconds)) {
    return { action: 'count', channel, windowStart: window.start, episodeStops: state.alarmed ? stop : 0 };
  }
  const continues = state.alarmed && state.alarmedAt !== undefined;
  const alarmedAt = continues ? state.alarmedAt! : now;
  const episodeStops = (continues ? state.episodeStops : 0) + stop;
  return {
    action: 'alarm',
    channel,
    continues,
    stops: episodeStops,
    // a fresh alarm speaks for its window; a continuing one for the whole episode
    sinceMs: continues ? Math.max(now - alarmedAt, windowSeconds * 1000) : windowSeconds * 1000,
    next: { revision: state.revision + 1, windows: { ...state.windows, [channel]: { start: now, count: 1 } }, alarmed: true, alarmedAt, episodeStops },
  };
}

/**
 * An ECS task stop. Only unexpected stops of service tasks count, once per task (`firstSighting` false
 * = already counted), and only from the STOPPED event, which carries the exit codes.
 */
export function alarmDecision(args: { stop: TaskStop | undefined; firstSighting: boolean; windowState?: ServiceAlarmState; now: number; windowSeconds: number }): AlarmDecision {
  const { stop } = args;
  if (!stop) return { action: 'ignore', reason: 'not a task stop' };
  if (stop.expected) return { action: 'ignore', reason: `expected stop (${stop.cause}): ${stop.summary}` };
  if (!stop.service) return { action: 'ignore', reason: 'standalone task: no service to alarm on' };
  if (stop.lastStatus !== 'STOPPED') return { action: 'ignore', reason: `task is ${stop.lastStatus}; its STOPPED event is the one counted` };
  if (!args.firstSighting) return { action: 'ignore', reason: `duplicate: stop of ${stop.taskArn} already counted` };
  return windowDecision({ channel: 'crash', now: args.now, windowSeconds: args.windowSeconds, ...(args.windowState ? { windowState: args.windowState } : {}) });
}

/** An ECS service action: placement failures and impaired starts warn, with the same suppression. */
export function warningDecision(args: { action: ServiceAction; windowState?: ServiceAlarmState; now: number; windowSeconds: number }): AlarmDecision {
  if (!WARNING_EVENTS.has(args.action.eventName)) return { action: 'ignore', reason: `${args.action.eventName} raises no alarm` };
  return windowDecision({ channel: 'warning', now: args.now, windowSeconds: args.windowSeconds, ...(args.windowState ? { windowState: args.windowState } : {}) });
}

/** The service is stable (steady state, or a deployment completed): recover once, only after an alarm. */
export function recoveryDecision(args: { windowState?: ServiceAlarmState; now: number }): RecoveryDecision {
  const state = args.windowState ?? QUIET;
  if (!state.alarmed) return { action: 'ignore', reason: state.revision === 0 ? 'no alarm was raised' : 'already recovered' };
  return {
    action: 'recover',
    stops: state.episodeStops,
    sinceMs: Math.max(0, args.now - (state.alarmedAt ?? args.now)),
    next: { ...state, revision: state.revision + 1, alarmed: false },
  };
}
