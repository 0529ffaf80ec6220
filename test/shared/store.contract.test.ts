import { describe, expect, it } from 'vitest';
import type { ReleaseRecord } from '../../shared/aws/store.js';
import type { Observation, StopSummary, WatchedDeployment } from '../../shared/rollout/verdict.js';
import { storeSubjects, unique } from '../support/store-subjects.js';

/**
 * One contract, two stores: the DynamoDB table of a rack on moto, and the in-memory twin that tests
 * use to force interleavings. Every answer must be the same, to the field.
 */
const subjects = storeSubjects();

const release = (app: string, id: string, number: number): ReleaseRecord => ({
  app,
  id,
  number,
  status: 'pending',
  createdAt: '2026-03-02T14:00:00.000Z',
  execution: `${app}-exec-${number}`,
  trigger: 'upload',
  manifest: { services: [] } as never,
  taskDefinitions: { web: `arn:aws:ecs:us-east-1:123456789012:task-definition/r-${app}-web:${number}` },
  images: { web: 'httpd:2.4' },
});

describe.each(Object.keys(subjects))('Store contract: %s', (kind) => {
  const make = () => subjects[kind]!();

  it('apps: created by their first write, listed in name order', async () => {
    const { store } = make();
    const [a, b] = [unique('b'), unique('a')];
    expect(await store.getApp(a)).toBeUndefined();
    await store.setAppConfig(a, { GREETING: 'hi' });
    await store.rememberSource(b, { bucket: 'bkt', key: `apps/${b}/x.tar.gz` }, 1, ['httpd:2.4']);
    expect(await store.getApp(a)).toEqual({ app: a, config: { GREETING: 'hi' }, updatedAt: '2026-03-02T14:00:00.000Z' });
    expect(await store.getApp(b)).toEqual({
      app: b,
      lastSource: { bucket: 'bkt', key: `apps/${b}/x.tar.gz` },
      lastStripComponents: 1,
      baseImages: ['httpd:2.4'],
      updatedAt: '2026-03-02T14:00:00.000Z',
      createdAt: '2026-03-02T14:00:00.000Z',
    });
    const listed = (await store.listApps()).filter((x) => [a, b].includes(x.app)).map((x) => x.app);
    expect(listed).toEqual([a, b].sort());
  });

  it('releases: numbers allocated once per execution, never shared, history newest first, one current', async () => {
    const { store } = make();
    const app = unique('rel');
    let ids = 0;
    const newId = () => `R${String(++ids).padStart(4, '0')}`;
    const first = await store.allocateRelease(app, 'e1', newId);
    expect(await store.allocateRelease(app, 'e1', newId)).toEqual(first);
    const second = await store.allocateRelease(app, 'e2', newId);
    expect([first.number, second.number]).toEqual([1, 2]);
    await store.putRelease(release(app, first.id, 1));
    await store.putRelease(release(app, second.id, 2));
    expect((await store.listReleases(app)).map((r) => r.number)).toEqual([2, 1]);
    expect((await store.listReleases(app, 1)).map((r) => r.number)).toEqual([2]);
    await store.setReleaseStatus(app, first.id, 'failed', 'ROLLOUT_FAILED: no');
    expect(await store.getRelease(app, first.id)).toEqual({ ...release(app, first.id, 1), status: 'failed', failure: 'ROLLOUT_FAILED: no' });
    await store.activateRelease(app, second.id);
    expect(await store.currentRelease(app)).toEqual({ ...release(app, second.id, 2), status: 'active' });
    await expect(store.setReleaseStatus(app, 'RMISSING', 'active')).rejects.toThrow(/RELEASE_NOT_FOUND/);
    expect(await store.getRelease(app, 'RMISSING')).toBeUndefined();
  });

  it('builds: updated only when they exist', async () => {
    const { store } = make();
    const app = unique('bld');
    await store.putBuild({ id: 'b1', app, status: 'planned', execution: 'e', services: ['web'], images: {}, createdAt: '2026-03-02T14:00:00.000Z' });
    await store.updateBuild(app, 'b1', { status: 'succeeded', codebuildId: 'cb:1' });
    await expect(store.updateBuild(app, 'b2', { status: 'failed' })).rejects.toThrow(/BUILD_NOT_FOUND/);
  });

  it('events: newest first, limited', async () => {
    const { store, clock } = make();
    const app = unique('evt');
    await store.recordEvent(app, 'one', { type: 'deploy', n: 1 });
    clock.ms += 1000;
    await store.recordEvent(app, 'two', { type: 'deploy', n: 2 });
    expect(await store.listEvents(app)).toEqual([
      { time: '2026-03-02T14:00:01.000Z', type: 'deploy', n: 2 },
      { time: '2026-03-02T14:00:00.000Z', type: 'deploy', n: 1 },
    ]);
    expect(await store.listEvents(app, 1)).toHaveLength(1);
  });

  it('undo records: the first record of a release and service wins; listed by release', async () => {
    const { store } = make();
    const app = unique('undo');
    const record = (service: string, taskDefinition: string) => ({
      app,
      release: 'R1',
      service,
      serviceName: `r--${app}--${service}`,
      ecs: { taskDefinition, desiredCount: 2, loadBalancers: [{ targetGroupArn: 'arn:tg/1', containerName: service, containerPort: 80 }], primaryDeploymentId: 'ecs-svc/1' },
      rules: [{ listenerArn: 'arn:listener/1', host: `${service}.example.com`, priority: 7 }],
      alarms: [{ AlarmName: `r--${app}--${service}--cpu`, Threshold: 80, Dimensions: [{ Name: 'ServiceName', Value: service }] }],
      recordedAt: '2026-03-02T14:00:00.000Z',
    });
    const first = record('web', 'td:1');
    expect(await store.recordUndo(first)).toEqual(first);
    // a retried Promote records again after its first change: the state from before the deploy stays
    expect(await store.recordUndo(record('web', 'td:2'))).toEqual(first);
    await store.recordUndo(record('api', 'td:5'));
    await store.recordUndo({ ...record('web', 'td:9'), release: 'R2' });
    const listed = await store.listUndo(app, 'R1');
    expect(listed.map((r) => [r.service, r.ecs?.taskDefinition]).sort()).toEqual([
      ['api', 'td:5'],
      ['web', 'td:1'],
    ]);
    expect(await store.listUndo(app, 'R3')).toEqual([]);
  });

  it('sightings: true once, again after being forgotten', async () => {
    const { store } = make();
    const key = unique('seen');
    expect([await store.firstSighting(key), await store.firstSighting(key)]).toEqual([true, false]);
    await store.forgetSighting(key);
    expect(await store.firstSighting(key)).toBe(true);
  });

  it('domains: one registry, replaced whole and only at the version it was read at', async () => {
    const { store } = make();
    const start = await store.getDomains();
    const claim = { host: `${unique('h')}.example.com`, app: unique('d'), service: 'web' };
    expect(await store.putDomains(start.version, [...start.claims, claim])).toBe(true);
    // a writer that read the same version loses, and changes nothing
    expect(await store.putDomains(start.version, [])).toBe(false);
    const after = await store.getDomains();
    expect(after.version).toBe(start.version + 1);
    expect(after.claims).toEqual([...start.claims, claim]);
    expect(await store.putDomains(after.version, start.claims)).toBe(true);
    expect((await store.getDomains()).claims).toEqual(start.claims);
  });

  it('queue: items by execution, moved only from the status they are in', async () => {
    const { store } = make();
    const app = unique('q');
    const item = { execution: `${app}-b`, token: 't', order: { time: '2026-03-02T14:00:00Z', sequencer: '02' }, status: 'waiting' as const, key: 'apps/x/b.tar.gz', enqueuedAt: 5 };
    await store.putQueueItem(app, item);
    await store.putQueueItem(app, { ...item, execution: `${app}-a` });
    expect((await store.listQueue(app)).map((q) => q.execution)).toEqual([`${app}-a`, `${app}-b`]);
    expect(await store.transitionQueueItem(app, item.execution, 'waiting', 'running')).toBe(true);
    expect(await store.transitionQueueItem(app, item.execution, 'waiting', 'running')).toBe(false);
    expect(await store.transitionQueueItem(app, 'nobody', 'waiting', 'running')).toBe(false);
    expect((await store.listQueue(app)).find((q) => q.execution === item.execution)).toEqual({ ...item, status: 'running' });
  });

  it('lock: one holder at a time; the same holder again; an expired lease is anyone’s; released by its holder only', async () => {
    const { store, clock } = make();
    const app = unique('lock');
    const now = Math.floor(clock.ms / 1000);
    const lock = (holder: string, expiresAt = now + 60) => ({ holder, order: { time: '2026-03-02T14:00:00Z' }, expiresAt });
    expect(await store.acquireLock(app, lock('a'))).toBe(true);
    expect(await store.acquireLock(app, lock('b'))).toBe(false);
    expect(await store.acquireLock(app, lock('a', now + 120))).toBe(true);
    expect(await store.getLock(app)).toEqual(lock('a', now + 120));
    clock.ms += 121_000;
    expect(await store.acquireLock(app, lock('b', now + 500))).toBe(true);
    expect(await store.releaseLock(app, 'a')).toBe(false);
    expect(await store.releaseLock(app, 'b')).toBe(true);
    expect(await store.getLock(app)).toBeUndefined();
  });

  it('watch: facts that came before it are handed to its links; a final outcome stays; stops counted once per task; closed once', async () => {
    const { store } = make();
    const id = unique('w');
    const deployments: WatchedDeployment[] = [
      { service: 'web', serviceName: `r-${id}-web`, deploymentId: `ecs-svc/${id}1`, taskDefinitionArn: `arn:td/r-${id}-web:2`, desiredCount: 2 },
      { service: 'jobs', serviceName: `r-${id}-jobs`, deploymentId: `ecs-svc/${id}2`, taskDefinitionArn: `arn:td/r-${id}-jobs:2`, desiredCount: 1 },
    ];
    const link = (index: number) => ({ execution: id, index, deployment: deployments[index]!, failFastStops: 3 });
    const done: Observation = { outcome: 'completed', reason: 'ok' };
    const stop = (task: string): StopSummary => ({ taskArn: `arn:task/${task}`, cause: 'exit', summary: `container exited (${task})`, exitCode: 1 });
    // before the watch: an outcome, a late in-progress for it, and a stop delivered twice
    expect(await store.recordOutcome(deployments[0]!.deploymentId, done)).toEqual({ facts: { outcome: done, stoppedTasks: [] } });
    expect(await store.recordOutcome(deployments[0]!.deploymentId, { outcome: 'in-progress' })).toEqual({ facts: { outcome: done, stoppedTasks: [] } });
    await store.recordStop(deployments[1]!.taskDefinitionArn, stop('t1'));
    expect(await store.recordStop(deployments[1]!.taskDefinitionArn, stop('t1'))).toEqual({ facts: { stoppedTasks: ['arn:task/t1'], lastStop: stop('t1') } });

    await store.putWatch({ execution: id, app: 'shop', releaseId: 'R1', token: 'tok', deployments, failFastStops: 3 });
    expect(await store.watchDeployments(id)).toEqual(deployments);
    expect(await store.linkWatch(link(0))).toEqual({ outcome: done, stoppedTasks: [] });
    expect(await store.linkWatch(link(1))).toEqual({ stoppedTasks: ['arn:task/t1'], lastStop: stop('t1') });
    // after the link, each event's answer names the watch
    expect(await store.recordStop(deployments[1]!.taskDefinitionArn, stop('t2'))).toEqual({
      link: link(1),
      facts: { stoppedTasks: ['arn:task/t1', 'arn:task/t2'], lastStop: stop('t2') },
    });
    expect(await store.recordOutcome(deployments[1]!.deploymentId, { outcome: 'in-progress' })).toEqual({
      link: link(1),
      facts: { outcome: { outcome: 'in-progress' }, stoppedTasks: [] },
    });
    expect(await store.stopsOf(link(1))).toEqual({ stoppedTasks: ['arn:task/t1', 'arn:task/t2'], lastStop: stop('t2') });
    expect(await store.getWatch(id)).toEqual({
      execution: id,
      app: 'shop',
      releaseId: 'R1',
      token: 'tok',
      deployments,
      failFastStops: 3,
      status: 'waiting',
      facts: [
        { outcome: done, stoppedTasks: [] },
        { outcome: { outcome: 'in-progress' }, stoppedTasks: ['arn:task/t1', 'arn:task/t2'], lastStop: stop('t2') },
      ],
    });

    // completing is idempotent per deployment
    expect((await store.completeDeployments(id, [0]))?.pending).toEqual([1]);
    expect((await store.completeDeployments(id, [0]))?.pending).toEqual([1]);
    const verdict = { status: 'failed' as const, code: 'ROLLOUT_FAILED' as const, service: 'jobs', reason: 'because' };
    const closed = await store.closeWatch(id, verdict);
    expect(closed).toEqual({ execution: id, app: 'shop', releaseId: 'R1', token: 'tok', failFastStops: 3, status: 'done', verdict, pending: [1] });
    expect(await store.closeWatch(id, { status: 'completed', detail: 'x' })).toBeUndefined();
    expect(await store.completeDeployments(id, [1])).toBeUndefined();
    expect(await store.getWatch(id)).toMatchObject({ status: 'done', verdict });
  });

  it('watch: a redeploy of the same task definition starts its count afresh; the old watch keeps what was its own', async () => {
    const { store } = make();
    const [first, second] = [unique('w'), unique('w')];
    const deployment = (n: string): WatchedDeployment => ({
      service: 'web',
      serviceName: 'r-a-web',
      deploymentId: `ecs-svc/${n}`,
      taskDefinitionArn: `arn:td/r-${first}-web:7`,
      desiredCount: 1,
    });
    const stop = (task: string): StopSummary => ({ taskArn: `arn:task/${task}`, cause: 'exit', summary: task, exitCode: 1 });
    await store.putWatch({ execution: first, app: 'a', releaseId: 'R1', token: 't1', deployments: [deployment(first)], failFastStops: 3 });
    await store.linkWatch({ execution: first, index: 0, deployment: deployment(first), failFastStops: 3 });
    await store.recordStop(deployment(first).taskDefinitionArn, stop('old'));
    await store.closeWatch(first, { status: 'completed', detail: 'ok' });

    await store.putWatch({ execution: second, app: 'a', releaseId: 'R1', token: 't2', deployments: [deployment(second)], failFastStops: 3 });
    expect(await store.linkWatch({ execution: second, index: 0, deployment: deployment(second), failFastStops: 3 })).toEqual({ stoppedTasks: [] });
    expect((await store.recordStop(deployment(second).taskDefinitionArn, stop('new'))).facts.stoppedTasks).toEqual(['arn:task/new']);
    expect((await store.getWatch(first))?.facts).toEqual([{ stoppedTasks: [] }]);
    expect((await store.getWatch(second))?.facts).toEqual([{ stoppedTasks: ['arn:task/new'], lastStop: stop('new') }]);
  });

  it('alarm state: claimed by one writer per revision, counted only in its window, recovered once', async () => {
    const { store } = make();
    const service = unique('alarm');
    const owner = { app: 'shop', service: 'web' };
    const quiet = { revision: 0, windows: {}, alarmed: false, episodeStops: 0 };
    const next = { revision: 1, windows: { crash: { start: 1000, count: 1 } }, alarmed: true, alarmedAt: 1000, episodeStops: 1 };
    const alarm = { action: 'alarm' as const, channel: 'crash' as const, continues: false, stops: 1, sinceMs: 0, next };
    expect(await store.readAlarmState(service)).toBeUndefined();
    expect([await store.applyAlarm(service, quiet, alarm, owner), await store.applyAlarm(service, quiet, alarm, owner)]).toEqual([true, false]);
    expect(await store.applyAlarmCount(service, 1, { action: 'count', channel: 'crash', windowStart: 1000, episodeStops: 1 })).toBe(true);
    expect(await store.applyAlarmCount(service, 1, { action: 'count', channel: 'crash', windowStart: 999, episodeStops: 1 })).toBe(false);
    expect(await store.readAlarmState(service)).toEqual({ revision: 1, windows: { crash: { start: 1000, count: 2 } }, alarmed: true, alarmedAt: 1000, episodeStops: 2 });
    const state = (await store.readAlarmState(service))!;
    const recover = { action: 'recover' as const, stops: 2, sinceMs: 5, next: { ...state, revision: 2, alarmed: false } };
    expect(await store.applyRecovery(service, state, recover, 2000)).toEqual(state);
    expect(await store.applyRecovery(service, state, recover, 2001)).toBeUndefined();
    // a claimed window whose alarm could not be sent is given back
    const other = unique('alarm');
    await store.applyAlarm(other, quiet, alarm, owner);
    await store.reopenAlarmWindow(other, quiet, alarm);
    expect(await store.readAlarmState(other)).toEqual({ revision: 2, windows: { crash: { start: 0, count: 1 } }, alarmed: false, alarmedAt: 1000, episodeStops: 0 });
  });
  it('app removal: every item of the app goes, counted the same in both stores; another app keeps all of its own', async () => {
    const { store, clock } = make();
    const [app, other] = [unique('gone'), unique('kept')];
    const deploymentOf = (name: string): WatchedDeployment => ({
      service: 'web',
      serviceName: `rk--${name}--web`,
      deploymentId: `ecs-svc/${name}`,
      taskDefinitionArn: `arn:aws:ecs:us-east-1:1:task-definition/rk--${name}--web:1`,
      desiredCount: 1,
    });
    const seed = async (name: string) => {
      await store.setAppConfig(name, { K: 'v' });
      const { id } = await store.allocateRelease(name, `${name}-e1`, () => `R${name}`);
      await store.putRelease({ ...release(name, id, 1), execution: `${name}-e1` });
      await store.putBuild({ id: 'b1', app: name, status: 'planned', execution: `${name}-e1`, services: ['web'], images: {}, createdAt: '2026-03-02T14:00:00.000Z' });
      await store.recordEvent(name, 'ev1', { kind: 'deploy' });
      await store.putQueueItem(name, { execution: `${name}-e1`, token: 't', order: { time: '2026-03-02T14:00:00Z' }, status: 'running' });
      await store.takeLock(name, { holder: `${name}-e1`, order: { time: '2026-03-02T14:00:00Z' }, expiresAt: Math.floor(clock.ms / 1000) + 60 });
      await store.recordUndo({ app: name, release: id, service: 'web', serviceName: `rk--${name}--web`, rules: [], alarms: [], recordedAt: '2026-03-02T14:00:00.000Z' });
      const deployment = deploymentOf(name);
      await store.recordOutcome(deployment.deploymentId, { outcome: 'completed' });
      await store.recordOutcome(`ecs-svc/${name}-unwatched`, { outcome: 'completed' });
      await store.recordStop(deployment.taskDefinitionArn, { taskArn: 'arn:task/1', cause: 'exit', summary: 'exited' });
      await store.putWatch({ execution: `${name}-e1`, app: name, releaseId: id, token: 'tok', deployments: [deployment], failFastStops: 3 });
      await store.linkWatch({ execution: `${name}-e1`, index: 0, deployment, failFastStops: 3 });
      const quiet = { revision: 0, windows: {}, alarmed: false, episodeStops: 0 };
      const next = { revision: 1, windows: { crash: { start: 1000, count: 1 } }, alarmed: true, alarmedAt: 1000, episodeStops: 1 };
      await store.applyAlarm(`rk--${name}--web`, quiet, { action: 'alarm', channel: 'crash', continues: false, stops: 1, sinceMs: 0, next }, { app: name, service: 'web' });
    };
    await seed(app);
    await seed(other);
    const scope = { servicePrefix: `rk--${app}--`, deploymentIds: [`ecs-svc/${app}-unwatched`] };
    // record, EXEC pointer, release, build, event, queue item, lock, undo, the watch's header and its
    // deployments, the watched deployment, the unwatched one named, the task definition, alarm state
    expect(await store.deleteAppItems(app, scope)).toBe(14);
    expect(await store.deleteAppItems(app, scope)).toBe(0);
    expect(await store.getApp(app)).toBeUndefined();
    expect([await store.listReleases(app), await store.listEvents(app), await store.listQueue(app), await store.listUndo(app, `R${app}`)]).toEqual([[], [], [], []]);
    expect([await store.getLock(app), await store.getWatch(`${app}-e1`), await store.watchDeployments(`${app}-e1`), await store.readAlarmState(`rk--${app}--web`)]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    // a final outcome is never replaced: an in-progress one is held only where the completed one went
    for (const id of [`ecs-svc/${app}`, `ecs-svc/${app}-unwatched`])
      expect((await store.recordOutcome(id, { outcome: 'in-progress' })).facts.outcome).toEqual({ outcome: 'in-progress' });
    expect((await store.recordStop(deploymentOf(app).taskDefinitionArn, { taskArn: 'arn:task/2', cause: 'exit', summary: 'exited' })).facts.stoppedTasks).toEqual(['arn:task/2']);
    // the other app: untouched
    expect((await store.getApp(other))?.config).toEqual({ K: 'v' });
    expect(await store.listReleases(other)).toHaveLength(1);
    expect(await store.getWatch(`${other}-e1`)).toMatchObject({ app: other });
    expect(await store.readAlarmState(`rk--${other}--web`)).toMatchObject({ alarmed: true });
    const kept = await store.recordOutcome(`ecs-svc/${other}`, { outcome: 'in-progress' });
    expect([kept.facts.outcome, kept.link?.execution]).toEqual([{ outcome: 'completed' }, `${other}-e1`]);
  });
});
