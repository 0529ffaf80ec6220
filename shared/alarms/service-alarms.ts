/**
 * Raises and clears a service's alarms from classified ECS events: reads the alarm state, lets the pure
 * decision say what to do, applies it with a conditional write, and publishes what it won the right to
 * send. Conflicts (another Lambda wrote first) are decided again from the fresh state.
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { SNSClient } from '@aws-sdk/client-sns';
import { lastLogLines, taskLogStream } from '../aws/logs.js';
import { publish } from '../aws/sns.js';
import type { Store } from '../aws/store.js';
import type { ServiceAction, TaskStop } from '../events/classify.js';
import type { Notification } from '../notify/types.js';
import { alarmDecision, recoveryDecision, warningDecision, type AlarmDecision, type ServiceAlarmState } from './decision.js';
import { crashLoopNotification, ownerOf, recoveredNotification, serviceWarningNotification, type ServiceOwner } from './notifications.js';

export interface ServiceAlarmsDeps {
  store: Store;
  sns: SNSClient;
  logs: CloudWatchLogsClient;
  topicArn: string;
  rack: string;
  /** the app's log group is `<logGroupPrefix>/<app>` */
  logGroupPrefix: string;
  windowSeconds: number;
  now?: () => number;
}

export type AlarmOutcome =
  | { action: 'ignored'; reason: string }
  | { action: 'counted'; service: string }
  | { action: 'alarmed'; service: string; stops: number; notification: Notification }
  | { action: 'recovered'; service: string; stops: number; notification: Notification };

// Each retry follows a write by another Lambda; a window changes hands once, so a few suffice.
const MAX_ATTEMPTS = 8;
const LOG_LINES = 20;

export class ServiceAlarms {
  private readonly now: () => number;

  constructor(private readonly deps: ServiceAlarmsDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** An ECS task stop (expected or not): count it, and alarm on the first of a window. */
  async onTaskStop(stop: TaskStop): Promise<AlarmOutcome> {
    const screened = alarmDecision({ stop, firstSighting: true, now: this.now(), windowSeconds: this.deps.windowSeconds });
    if (screened.action === 'ignore') return { action: 'ignored', reason: screened.reason };
    const owner = ownerOf(stop.service!, this.deps.rack);
    if (!owner) return { action: 'ignored', reason: `service ${stop.service} is not one of rack ${this.deps.rack}'s` };
    const sighting = `alarm#${stop.taskArn}`;
    const firstSighting = await this.deps.store.firstSighting(sighting);
    if (!firstSighting) {
      const duplicate = alarmDecision({ stop, firstSighting, now: this.now(), windowSeconds: this.deps.windowSeconds });
      return { action: 'ignored', reason: duplicate.action === 'ignore' ? duplicate.reason : 'duplicate' };
    }
    try {
      const outcome = await this.decideAndApply(
        owner,
        (windowState, now) => alarmDecision({ stop, firstSighting, now, windowSeconds: this.deps.windowSeconds, ...(windowState ? { windowState } : {}) }),
        async (decision) => {
          const [releaseId, logLines] = await Promise.all([this.releaseOf(owner.app, stop.taskDefinitionArn), this.logLinesOf(owner, stop)]);
          return crashLoopNotification({ owner, stop, stops: decision.stops, sinceMs: decision.sinceMs, ...(releaseId ? { releaseId } : {}), logLines });
        },
      );
      if (outcome.action !== 'ignored') {
        await this.deps.store.recordEvent(owner.app, stop.taskArn.split('/').pop()!, {
          type: 'task-stopped',
          service: owner.service,
          cause: stop.cause,
          summary: stop.summary,
          taskArn: stop.taskArn,
          taskDefinitionArn: stop.taskDefinitionArn,
          evidence: stop.evidence,
          alarm: outcome.action === 'alarmed',
        });
      }
      return outcome;
    } catch (error) {
      // the redelivery of this event must count the stop again, or a failed alarm is never sent
      await this.deps.store.forgetSighting(sighting);
      throw error;
    }
  }

  /** An ECS service action: warn on placement failures and impaired starts, recover on steady state. */
  async onServiceAction(action: ServiceAction): Promise<AlarmOutcome> {
    const owner = ownerOf(action.service, this.deps.rack);
    if (!owner) return { action: 'ignored', reason: `service ${action.service} is not one of rack ${this.deps.rack}'s` };
    if (action.steady) return this.onServiceStable(action.service, 'the service reached a steady state');
    const now = this.now();
    const outcome = await this.decideAndApply(
      owner,
      (windowState, at) => warningDecision({ action, now: at, windowSeconds: this.deps.windowSeconds, ...(windowState ? { windowState } : {}) }),
      async () => serviceWarningNotification({ owner, action, now }),
    );
    if (outcome.action !== 'ignored') {
      await this.deps.store.recordEvent(owner.app, `${action.eventName}-${now}`, {
        type: 'service-warning',
        service: owner.service,
        eventName: action.eventName,
        summary: action.summary,
        alarm: outcome.action === 'alarmed',
      });
    }
    return outcome;
  }

  /** The service is stable again (steady state, deployment completed): one recovery, if it was alarmed. */
  async onServiceStable(serviceName: string, because: string): Promise<AlarmOutcome> {
    const owner = ownerOf(serviceName, this.deps.rack);
    if (!owner) return { action: 'ignored', reason: `service ${serviceName} is not one of rack ${this.deps.rack}'s` };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.now();
      const windowState = await this.deps.store.readAlarmState(serviceName);
      const decision = recoveryDecision({ now, ...(windowState ? { windowState } : {}) });
      if (decision.action === 'ignore') return { action: 'ignored', reason: decision.reason };
      const ended = await this.deps.store.applyRecovery(serviceName, windowState!, decision, now);
      if (!ended) continue;
      const release = await this.deps.store.currentRelease(owner.app);
      const stops = ended.episodeStops;
      const notification = recoveredNotification({ owner, because, stops, sinceMs: Math.max(0, now - (ended.alarmedAt ?? now)), ...(release ? { releaseId: release.id } : {}) });
      await publish(this.deps.sns, this.deps.topicArn, notification);
      await this.deps.store.recordEvent(owner.app, `recovered-${now}`, { type: 'service-recovered', service: owner.service, because, stops });
      return { action: 'recovered', service: owner.service, stops, notification };
    }
    throw new Error(`ALARM_STATE_CONTENDED: recovery of ${serviceName} lost ${MAX_ATTEMPTS} conditional writes in a row`);
  }

  private async decideAndApply(
    owner: ServiceOwner,
    decide: (windowState: ServiceAlarmState | undefined, now: number) => AlarmDecision,
    build: (decision: Extract<AlarmDecision, { action: 'alarm' }>) => Promise<Notification>,
  ): Promise<AlarmOutcome> {
    const { store } = this.deps;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const windowState = await store.readAlarmState(owner.serviceName);
      const decision = decide(windowState, this.now());
      if (decision.action === 'ignore') return { action: 'ignored', reason: decision.reason };
      if (decision.action === 'count') {
        if (await store.applyAlarmCount(owner.serviceName, windowState?.revision ?? 0, decision)) return { action: 'counted', service: owner.service };
        continue;
      }
      const previous = windowState ?? { revision: 0, windows: {}, alarmed: false, episodeStops: 0 };
      if (!(await store.applyAlarm(owner.serviceName, previous, decision, owner))) continue;
      try {
        const notification = await build(decision);
        await publish(this.deps.sns, this.deps.topicArn, notification);
        return { action: 'alarmed', service: owner.service, stops: decision.stops, notification };
      } catch (error) {
        await store.reopenAlarmWindow(owner.serviceName, previous, decision);
        throw error;
      }
    }
    throw new Error(`ALARM_STATE_CONTENDED: ${owner.serviceName} lost ${MAX_ATTEMPTS} conditional writes in a row`);
  }

  /** The release that registered the stopped task's definition; the app's current one when none did. */
  private async releaseOf(app: string, taskDefinitionArn: string): Promise<string | undefined> {
    const current = await this.deps.store.currentRelease(app);
    const owns = (taskDefinitions: Record<string, string> | undefined) => Object.values(taskDefinitions ?? {}).includes(taskDefinitionArn);
    if (current && owns(current.taskDefinitions)) return current.id;
    // a crash-looping deploy is not current yet: its release is among the newest
    const recent = await this.deps.store.listReleases(app, 10);
    return recent.find((release) => owns(release.taskDefinitions))?.id ?? current?.id;
  }

  private async logLinesOf(owner: ServiceOwner, stop: TaskStop): Promise<string[]> {
    const container = stop.evidence.container;
    if (!container) return [];
    // awslogs stream prefix is the service's short name (task definitions set it so)
    return lastLogLines(this.deps.logs, `${this.deps.logGroupPrefix}/${owner.app}`, taskLogStream(owner.service, container, stop.taskArn), LOG_LINES);
  }
}
