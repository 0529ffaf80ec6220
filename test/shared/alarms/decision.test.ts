import { describe, expect, it } from 'vitest';
import { alarmDecision, QUIET, recoveryDecision, warningDecision, windowDecision, type ServiceAlarmState } from '../../../shared/alarms/decision.js';
import { classifyServiceAction, classifyTaskStop, type TaskStop } from '../../../shared/events/classify.js';
import type { EcsServiceActionEvent, EcsTaskStateChangeEvent } from '../../../shared/events/types.js';
import { loadEvent } from '../../support/fixtures.js';

const W = 300;
const T0 = Date.parse('2026-03-02T14:07:41Z');
const at = (seconds: number) => T0 + seconds * 1000;
const stopOf = (name: string): TaskStop => classifyTaskStop(loadEvent<EcsTaskStateChangeEvent>(name).detail)!;
const oom = () => stopOf('ecs-task-stopped-oom');

/** The state after an alarm at `start` seconds, with `count` stops in its window. */
function alarmedAt(start: number, extra: Partial<ServiceAlarmState> = {}): ServiceAlarmState {
  return { revision: 1, windows: { crash: { start: at(start), count: 1 } }, alarmed: true, alarmedAt: at(start), episodeStops: 1, ...extra };
}

describe('alarmDecision', () => {
  it('alarms on the first unexpected stop, opening a window and an episode', () => {
    const decision = alarmDecision({ stop: oom(), firstSighting: true, now: at(0), windowSeconds: W });
    expect(decision).toEqual({
      action: 'alarm',
      channel: 'crash',
      continues: false,
      stops: 1,
      sinceMs: W * 1000,
      next: { revision: 1, windows: { crash: { start: at(0), count: 1 } }, alarmed: true, alarmedAt: at(0), episodeStops: 1 },
    });
  });

  it.each([
    ['right after the alarm', 1],
    ['one second before the window ends', W - 1],
  ])('counts a later stop %s', (_label, seconds) => {
    const decision = alarmDecision({ stop: oom(), firstSighting: true, windowState: alarmedAt(0), now: at(seconds), windowSeconds: W });
    expect(decision).toEqual({ action: 'count', channel: 'crash', windowStart: at(0), episodeStops: 1 });
  });

  it('alarms again once the window has run out, reporting the episode since the first alarm', () => {
    const state = alarmedAt(0, { windows: { crash: { start: at(0), count: 500 } }, episodeStops: 500 });
    const decision = alarmDecision({ stop: oom(), firstSighting: true, windowState: state, now: at(W), windowSeconds: W });
    expect(decision).toMatchObject({ action: 'alarm', continues: true, stops: 501, sinceMs: W * 1000 });
    expect(decision.action === 'alarm' && decision.next).toEqual({
      revision: 2,
      windows: { crash: { start: at(W), count: 1 } },
      alarmed: true,
      alarmedAt: at(0),
      episodeStops: 501,
    });
  });

  it('starts a fresh episode when the last one recovered', () => {
    const recovered = alarmedAt(0, { revision: 2, alarmed: false, episodeStops: 40 });
    const decision = alarmDecision({ stop: oom(), firstSighting: true, windowState: recovered, now: at(3 * W), windowSeconds: W });
    expect(decision).toMatchObject({ action: 'alarm', continues: false, stops: 1, next: { revision: 3, alarmedAt: at(3 * W), episodeStops: 1 } });
  });

  it('counts a stop after a recovery inside the same window without adding it to a closed episode', () => {
    const recovered = alarmedAt(0, { revision: 2, alarmed: false });
    expect(alarmDecision({ stop: oom(), firstSighting: true, windowState: recovered, now: at(10), windowSeconds: W })).toEqual({
      action: 'count',
      channel: 'crash',
      windowStart: at(0),
      episodeStops: 0,
    });
  });

  it('keeps a window open that a Lambda with a clock running ahead opened', () => {
    expect(alarmDecision({ stop: oom(), firstSighting: true, windowState: alarmedAt(5), now: at(0), windowSeconds: W })).toMatchObject({ action: 'count' });
  });

  it.each([
    ['scale-in', 'ecs-task-stopped-scale-in', /expected stop \(scale-in\)/],
    ['a user stop', 'ecs-task-stopped-user', /expected stop \(user\)/],
  ])('stays silent for %s', (_label, fixture, reason) => {
    const decision = alarmDecision({ stop: stopOf(fixture), firstSighting: true, now: at(0), windowSeconds: W });
    expect(decision.action).toBe('ignore');
    expect(decision.action === 'ignore' && decision.reason).toMatch(reason);
  });

  it('ignores a stop already counted (a redelivery or a later state change of the same task)', () => {
    const decision = alarmDecision({ stop: oom(), firstSighting: false, now: at(0), windowSeconds: W });
    expect(decision).toEqual({ action: 'ignore', reason: expect.stringMatching(/^duplicate/) });
  });

  it('waits for the STOPPED event of a task ECS is still stopping', () => {
    const stopping = { ...oom(), lastStatus: 'DEACTIVATING' };
    expect(alarmDecision({ stop: stopping, firstSighting: true, now: at(0), windowSeconds: W })).toMatchObject({ action: 'ignore', reason: /DEACTIVATING/ });
  });

  it('ignores standalone tasks and non-stops', () => {
    const { service: _service, ...standalone } = oom();
    expect(alarmDecision({ stop: standalone, firstSighting: true, now: at(0), windowSeconds: W })).toMatchObject({ action: 'ignore', reason: /standalone/ });
    expect(alarmDecision({ stop: undefined, firstSighting: true, now: at(0), windowSeconds: W })).toMatchObject({ action: 'ignore' });
  });
});

describe('warningDecision', () => {
  const placement = () => classifyServiceAction(loadEvent<EcsServiceActionEvent>('ecs-service-action-placement-failure'));

  it('warns on a placement failure, with its own window next to the crash window', () => {
    const decision = warningDecision({ action: placement(), windowState: alarmedAt(0), now: at(10), windowSeconds: W });
    expect(decision).toMatchObject({ action: 'alarm', channel: 'warning', continues: true, stops: 1 });
    expect(decision.action === 'alarm' && decision.next.windows).toEqual({ crash: { start: at(0), count: 1 }, warning: { start: at(10), count: 1 } });
  });

  it('counts a second placement failure inside the window', () => {
    const state: ServiceAlarmState = { ...QUIET, revision: 1, windows: { warning: { start: at(0), count: 1 } }, alarmed: true, alarmedAt: at(0) };
    expect(warningDecision({ action: placement(), windowState: state, now: at(60), windowSeconds: W })).toEqual({
      action: 'count',
      channel: 'warning',
      windowStart: at(0),
      episodeStops: 0,
    });
  });

  it('raises nothing for a steady state', () => {
    const steady = classifyServiceAction(loadEvent<EcsServiceActionEvent>('ecs-service-action-steady'));
    expect(warningDecision({ action: steady, now: at(0), windowSeconds: W })).toMatchObject({ action: 'ignore' });
  });
});

describe('recoveryDecision', () => {
  it('recovers an alarmed service once, reporting the episode', () => {
    const decision = recoveryDecision({ windowState: alarmedAt(0, { episodeStops: 12 }), now: at(90) });
    expect(decision).toEqual({ action: 'recover', stops: 12, sinceMs: 90_000, next: alarmedAt(0, { revision: 2, alarmed: false, episodeStops: 12 }) });
  });

  it.each<[string, ServiceAlarmState | undefined, RegExp]>([
    ['a service that never alarmed', undefined, /no alarm/],
    ['a service that already recovered', alarmedAt(0, { revision: 2, alarmed: false }), /already recovered/],
  ])('stays silent for %s', (_label, windowState, reason) => {
    expect(recoveryDecision({ now: at(10), ...(windowState ? { windowState } : {}) })).toMatchObject({ action: 'ignore', reason });
  });
});

describe('windowDecision', () => {
  it('walks a storm: alarm, counts, alarm in the next window, recovery, silence', () => {
    let state: ServiceAlarmState = QUIET;
    const actions: string[] = [];
    for (const seconds of [0, 1, 2, 299, 300, 301, 650]) {
      const decision = windowDecision({ channel: 'crash', windowState: state, now: at(seconds), windowSeconds: W });
      actions.push(decision.action);
      if (decision.action === 'alarm') state = decision.next;
      if (decision.action === 'count')
        state = { ...state, windows: { crash: { ...state.windows.crash!, count: state.windows.crash!.count + 1 } }, episodeStops: state.episodeStops + decision.episodeStops };
    }
    expect(actions).toEqual(['alarm', 'count', 'count', 'count', 'alarm', 'count', 'alarm']);
    expect(state.episodeStops).toBe(7);
    const recovery = recoveryDecision({ windowState: state, now: at(700) });
    expect(recovery).toMatchObject({ action: 'recover', stops: 7, sinceMs: 700_000 });
    expect(recoveryDecision({ windowState: recovery.action === 'recover' ? recovery.next : state, now: at(701) }).action).toBe('ignore');
  });
});
