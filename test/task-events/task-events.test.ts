import { CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRack, Notification } from '../../local/rack.js';
import type { Store } from '../../shared/aws/store.js';
import { loadEvent } from '../support/fixtures.js';
import { localRack } from '../support/local-rack.js';
import { TEST_RACK, ecsService } from '../support/stage.js';
import { buildTarball } from '../support/tarballs.js';

// The samples under events/ come from a rack named rackless-demo (services rackless-demo--shop--<service>).
const RACK = TEST_RACK;
const TASK_DEFINITION = 'arn:aws:ecs:us-east-1:123456789012:task-definition/rackless-demo--shop--web:4';
let rack: LocalRack;
let store: Store;

beforeAll(async () => {
  rack = await localRack();
  store = rack.store;
  await rack.aws.logs.send(new CreateLogGroupCommand({ logGroupName: `/rackless/${RACK}/shop` }));
});
beforeEach(async () => {
  await rack.notifications();
});

type Outcome = { alarm?: string; expected?: boolean; [k: string]: unknown };

/** Events go on EventBridge; the ecs-events rule hands each to task-events; what it returned, in order. */
async function deliverAll(events: Array<Record<string, any>>): Promise<Outcome[]> {
  const before = rack.functions.invocationsOf('task-events').length;
  await rack.putEvents(events.map((e) => ({ Source: e.source, DetailType: e['detail-type'], Resources: e.resources, Detail: JSON.stringify(e.detail), Time: new Date(e.time) })));
  return rack.functions
    .invocationsOf('task-events')
    .slice(before)
    .map((i) => i.result as Outcome);
}
const deliver = async (event: Record<string, any>) => (await deliverAll([event]))[0]!;

let sequence = 0;
/** A sample task event moved onto its own service and task, so tests never share an alarm window. */
function taskEvent(fixture: string, service: string, taskId = `t${String(++sequence).padStart(31, '0')}`): Record<string, any> {
  const event = loadEvent(fixture);
  const taskArn = `arn:aws:ecs:us-east-1:123456789012:task/${RACK}/${taskId}`;
  event.id = `${taskId}-${event.detail.version}`;
  event.resources = [taskArn];
  event.detail.taskArn = taskArn;
  event.detail.group = `service:${ecsService('shop', service)}`;
  for (const container of event.detail.containers) container.taskArn = taskArn;
  return event;
}

function serviceEvent(fixture: string, service: string): Record<string, any> {
  const event = loadEvent(fixture);
  event.resources = [`arn:aws:ecs:us-east-1:123456789012:service/${RACK}/${ecsService('shop', service)}`];
  return event;
}

const ofKind = (notes: Notification[], kind: string, service?: string) =>
  notes.filter((n) => n.attributes.kind === kind && (service === undefined || n.attributes.service === service));

describe('task-events alarms', () => {
  it.each([
    ['OOM', 'ecs-task-stopped-oom', 'oom', /ran out of memory \(exit 137\)/, ['Out of memory: yes', 'Exit code: 137', 'Container reason: OutOfMemoryError']],
    [
      'a failed ELB health check',
      'ecs-task-stopped-health-check',
      'health',
      /failed the ELB health check of target group shop-web-fl46l67rt4od/,
      ['Health check: ELB health check of target group shop-web-fl46l67rt4od', 'Target group: arn:aws:elasticloadbalancing'],
    ],
    [
      'exit 1',
      'ecs-task-stopped-exit-1',
      'exit',
      /exited with code 1/,
      ['Exit code: 1', 'Stop code: EssentialContainerExited', 'Stopped reason: Essential container in task exited'],
    ],
    ['CannotPullContainerError', 'ecs-task-stopped-cannot-pull', 'pull', /could not pull the image/, ['Stop code: TaskFailedToStart', 'Stopped reason: CannotPullContainerError']],
  ])('raises one crash-loop alarm for %s with its cause and evidence', async (_label, fixture, service, cause, evidence) => {
    const result = await deliver(taskEvent(fixture, service));

    const notes = await rack.notifications();
    expect(result.alarm).toBe('alarmed');
    expect(notes).toHaveLength(1);
    const [note] = notes;
    expect(note!.attributes).toMatchObject({ kind: 'crash-loop', severity: 'critical', app: 'shop', service, status: 'crashing' });
    expect(note!.subject).toMatch(new RegExp(`^shop/${service}: crash loop, 1 stops`));
    expect(note!.message).toMatch(cause);
    for (const line of evidence) expect(note!.message).toContain(line);
    expect(note!.message).toContain('Task definition: rackless-demo--shop--web:4');
  });

  it('names the release that registered the task definition and adds the task’s last log lines', async () => {
    await store.putRelease({
      app: 'shop',
      id: 'R1',
      number: 1,
      taskDefinitions: { logs: TASK_DEFINITION },
      images: {},
      status: 'active',
      createdAt: '2026-03-02T14:00:00Z',
      execution: 'x',
      trigger: 'test',
      manifest: { services: [] } as never,
    });
    await store.activateRelease('shop', 'R1');
    const event = taskEvent('ecs-task-stopped-exit-1', 'logs');
    const stream = `logs/web/${event.detail.taskArn.split('/').pop()}`;
    await rack.aws.logs.send(new CreateLogStreamCommand({ logGroupName: `/rackless/${RACK}/shop`, logStreamName: stream }));
    const lines = ['listening on :3000', 'Error: connect ECONNREFUSED 10.0.0.5:5432'];
    await rack.aws.logs.send(
      new PutLogEventsCommand({ logGroupName: `/rackless/${RACK}/shop`, logStreamName: stream, logEvents: lines.map((message, i) => ({ message, timestamp: Date.now() + i })) }),
    );

    await deliver(event);

    const [note] = await rack.notifications();
    expect(note!.attributes).toMatchObject({ kind: 'crash-loop', service: 'logs', release: 'R1' });
    expect(note!.message).toContain('Release: R1');
    expect(note!.message).toContain('Last log lines of logs:\n  listening on :3000\n  Error: connect ECONNREFUSED 10.0.0.5:5432');
    const events = await store.listEvents('shop');
    expect(events.find((e) => e.taskArn === event.detail.taskArn)).toMatchObject({ type: 'task-stopped', service: 'logs', cause: 'exit', alarm: true });
  });

  it.each([
    ['scale-in', 'ecs-task-stopped-scale-in'],
    ['a user stop', 'ecs-task-stopped-user'],
  ])('stays silent for %s', async (label, fixture) => {
    const service = label === 'scale-in' ? 'quiet1' : 'quiet2';
    const result = await deliver(taskEvent(fixture, service));

    expect(result).toMatchObject({ expected: true, alarm: 'ignored' });
    expect(await rack.notifications()).toEqual([]);
    expect(await store.readAlarmState(`${ecsService('shop', service)}`)).toBeUndefined();
  });

  it('counts a duplicated stop (same taskArn and version) once', async () => {
    const event = taskEvent('ecs-task-stopped-oom', 'dup');

    // EventBridge delivers at least once: the same event three times, then once more
    const results = await deliverAll([event, structuredClone(event), structuredClone(event)]);
    await deliver(structuredClone(event));

    expect(results.map((r) => r.alarm).sort()).toEqual(['alarmed', 'ignored', 'ignored']);
    expect(ofKind(await rack.notifications(), 'crash-loop')).toHaveLength(1);
    expect((await store.readAlarmState(`${ecsService('shop', 'dup')}`))?.windows.crash?.count).toBe(1);
    await deliver(taskEvent('ecs-task-stopped-oom', 'dup'));
    expect((await store.readAlarmState(`${ecsService('shop', 'dup')}`))?.windows.crash?.count).toBe(2);
  });

  // a storm of STORM stops (npm run test:stress: 500)
  const STORM = Number(process.env.RACKLESS_STORM ?? 60);
  it(`gives one alarm for a storm of ${STORM} stops, and reports the count at recovery`, async () => {
    const events = Array.from({ length: STORM }, () => taskEvent('ecs-task-stopped-oom', 'storm'));

    const outcomes = (await deliverAll(events)).map((r) => r.alarm);

    expect(outcomes.filter((o) => o === 'alarmed')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'counted')).toHaveLength(STORM - 1);
    const state = await store.readAlarmState(`${ecsService('shop', 'storm')}`);
    expect(state).toMatchObject({ alarmed: true, episodeStops: STORM, windows: { crash: { count: STORM } } });
    expect(ofKind(await rack.notifications(), 'crash-loop', 'storm')).toHaveLength(1);

    await deliver(serviceEvent('ecs-service-action-steady', 'storm'));
    const [recovered] = ofKind(await rack.notifications(), 'recovered', 'storm');
    expect(recovered!.message).toMatch(new RegExp(`the service reached a steady state; ${STORM} unexpected task stops in`));
  }, 180_000);

  it('sends a recovery once after SERVICE_STEADY_STATE, and none for a service that never alarmed', async () => {
    await deliver(taskEvent('ecs-task-stopped-health-check', 'heal'));
    await rack.notifications();

    const first = await deliver(serviceEvent('ecs-service-action-steady', 'heal'));
    const again = await deliver(serviceEvent('ecs-service-action-steady', 'heal'));
    const never = await deliver(serviceEvent('ecs-service-action-steady', 'calm'));

    expect([first.alarm, again.alarm, never.alarm]).toEqual(['recovered', 'ignored', 'ignored']);
    const notes = await rack.notifications();
    expect(notes).toHaveLength(1);
    expect(notes[0]!.attributes).toMatchObject({ kind: 'recovered', app: 'shop', service: 'heal', severity: 'info' });
    expect(notes[0]!.subject).toBe('shop/heal: recovered');
  });

  it('sends a recovery when a deployment of the alarmed service completes', async () => {
    await deliver(taskEvent('ecs-task-stopped-exit-1', 'redeployed'));
    await rack.notifications();

    const result = await deliver(serviceEvent('ecs-deployment-completed', 'redeployed'));

    expect(result.alarm).toBe('recovered');
    const [note] = await rack.notifications();
    expect(note!.message).toMatch(/deployment ecs-svc\/\d+ completed; 1 unexpected task stop in/);
  });

  it('warns once per window on placement failures, and recovers from them', async () => {
    const results = await deliverAll([1, 2, 3].map(() => serviceEvent('ecs-service-action-placement-failure', 'placed')));

    expect(results.map((r) => r.alarm).sort()).toEqual(['alarmed', 'counted', 'counted']);
    const notes = await rack.notifications();
    expect(notes).toHaveLength(1);
    expect(notes[0]!.attributes).toMatchObject({ kind: 'cloudwatch-alarm', severity: 'warning', app: 'shop', service: 'placed', status: 'WARNING' });
    expect(notes[0]!.message).toContain('no container instance has enough free memory (RESOURCE:MEMORY)');
    await deliver(serviceEvent('ecs-service-action-steady', 'placed'));
    expect(ofKind(await rack.notifications(), 'recovered', 'placed')).toHaveLength(1);
  });
});

describe('task-events resuming a deploy', () => {
  it('fails a crash-looping deploy fast and raises the crash-loop alarm for it', async () => {
    const tarball = await buildTarball([{ name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' }]);
    rack.simulator.next('crashy', { outcome: 'crash-loop', crashes: 4, exitCode: 2, logLines: ['boot', 'panic: config missing'] });

    const run = await rack.deploy('crashy', tarball);
    await rack.simulator.settled();

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('TOO_MANY_FAILED_TASKS');
    const notes = await rack.notifications();
    const [alarm] = ofKind(notes, 'crash-loop', 'web');
    const [deploy] = ofKind(notes, 'deploy');
    expect(ofKind(notes, 'crash-loop')).toHaveLength(1);
    expect(alarm!.attributes).toMatchObject({ app: 'crashy', service: 'web', severity: 'critical' });
    expect(alarm!.message).toContain('Exit code: 2');
    expect(alarm!.message).toContain('panic: config missing');
    const [release] = await store.listReleases('crashy');
    expect(alarm!.attributes.release).toBe(release!.id);
    expect(deploy!.attributes).toMatchObject({ app: 'crashy', status: 'rolled-back', step: 'Watch', service: 'web' });
    expect((await store.readAlarmState(`${ecsService('crashy', 'web')}`))?.episodeStops).toBe(4);
  });
});
