import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeRulesCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { targetGroupName } from '../../shared/aws/elb.js';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import type { Store } from '../../shared/aws/store.js';
import { localRack } from '../support/local-rack.js';
import { TEST_RACK, ecsService } from '../support/stage.js';
import { buildTarball } from '../support/tarballs.js';

let rack: LocalRack;
let store: Store;
const PROMOTING_CLIENTS = ['ECSClient', 'ElasticLoadBalancingV2Client', 'ECRClient', 'CloudWatchClient'];

beforeAll(async () => {
  rack = await localRack();
  store = rack.store;
});
beforeEach(async () => {
  await rack.notifications();
  rack.calls.clear();
});

const web = (extra = '') =>
  buildTarball([
    { name: 'Dockerfile', body: 'FROM httpd:2.4\nCOPY index.html /usr/local/apache2/htdocs/\nEXPOSE 80\n' },
    { name: 'index.html', body: `<h1>hello ${extra}</h1>\n` },
  ]);

async function service(app: string, name = 'web') {
  const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.resources.cluster, services: [`${ecsService(app, name)}`] }));
  return res.services?.[0];
}

/** Uploads without waiting; the deploy execution the upload started. */
async function upload(key: string, tarball: Buffer) {
  const [execution] = await rack.started(() => rack.upload(key, tarball));
  if (!execution) throw new Error(`the upload of ${key} started no deploy`);
  return execution.name;
}

describe('deploy scenarios', () => {
  it('a second deploy makes revision 2 and release 2 and rolls the service to it', async () => {
    const first = await rack.deploy('blog', await web('one'));
    const second = await rack.deploy('blog', await web('two'), 'b.tar.gz');
    expect([first.status, second.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect((await service('blog'))?.taskDefinition).toMatch(/--blog--web:2$/);
    const releases = await store.listReleases('blog');
    expect(releases.map((r) => [r.number, r.status])).toEqual([
      [2, 'active'],
      [1, 'active'],
    ]);
    expect((await store.getApp('blog'))?.currentRelease).toBe(releases[0]!.id);
    expect(releases[0]!.previousReleaseId).toBe(releases[1]!.id);
    const update = rack.calls.named('UpdateService')[0]!.input;
    expect(update).toMatchObject({ service: `${ecsService('blog', 'web')}`, forceNewDeployment: true, taskDefinition: expect.stringMatching(/--blog--web:2$/) });
    const notes = await rack.notifications();
    expect(notes.at(-1)!.message).toContain(`${ecsService('blog', 'web')}:1 → ${ecsService('blog', 'web')}:2`);
  });

  it('retires a service the new manifest dropped: service, host rule, target group and alarms deleted after the rollout', async () => {
    const both = 'services:\n  web:\n    image: httpd:2.4\n    port: 80\n  admin:\n    image: httpd:2.4\n    port: 80\n    domain: admin.example.com\n';
    expect((await rack.deploy('slim', await buildTarball([{ name: 'rackless.yml', body: both }]))).status).toBe('SUCCEEDED');
    const rulesBefore = await rack.aws.elb.send(new DescribeRulesCommand({ ListenerArn: rack.resources.listenerArn }));
    expect(rulesBefore.Rules?.some((r) => JSON.stringify(r.Conditions).includes('admin.example.com'))).toBe(true);
    rack.calls.clear();
    const run = await rack.deploy('slim', await buildTarball([{ name: 'rackless.yml', body: 'services:\n  web:\n    image: httpd:2.4\n    port: 80\n' }]), 'b.tar.gz');
    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered).toContain('Retire');
    expect(rack.calls.named('DeleteService').map((c) => c.input)).toEqual([{ cluster: rack.resources.cluster, service: `${ecsService('slim', 'admin')}`, force: true }]);
    expect(rack.calls.named('DeleteTargetGroup')).toHaveLength(1);
    expect((await service('slim', 'admin'))?.status ?? 'INACTIVE').not.toBe('ACTIVE');
    expect((await service('slim'))?.status).toBe('ACTIVE');
    const rulesAfter = await rack.aws.elb.send(new DescribeRulesCommand({ ListenerArn: rack.resources.listenerArn }));
    expect(rulesAfter.Rules?.some((r) => JSON.stringify(r.Conditions).includes('admin.example.com'))).toBe(false);
    const note = (await rack.notifications()).at(-1)!;
    expect(note.message).toMatch(/Retired: admin/);
  });

  it('keeps a dropped service running when the new release is rolled back', async () => {
    const both = 'services:\n  web:\n    image: httpd:2.4\n  jobs:\n    image: httpd:2.4\n';
    await rack.deploy('keep', await buildTarball([{ name: 'rackless.yml', body: both }]));
    rack.simulator.next('keep', { outcome: 'fail' });
    rack.calls.clear();
    const run = await rack.deploy('keep', await buildTarball([{ name: 'rackless.yml', body: 'services:\n  web:\n    image: httpd:2.4\n    command: [httpd, -X]\n' }]), 'b.tar.gz');
    expect(run.status).toBe('FAILED');
    expect(run.statesEntered).not.toContain('Retire');
    expect(rack.calls.named('DeleteService')).toEqual([]);
    expect((await service('keep', 'jobs'))?.status).toBe('ACTIVE');
  });

  it('an image-only app skips the build', async () => {
    const tarball = await buildTarball([{ name: 'rackless.yml', body: 'services:\n  web:\n    image: httpd:2.4\n    port: 80\n' }]);
    const run = await rack.deploy('static', tarball);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered).not.toContain('Build');
    const td = rack.calls.named('RegisterTaskDefinition')[0]!.input;
    // pinned to the digest httpd:2.4 named at deploy time (the local registry stands in for Docker Hub)
    expect(td.containerDefinitions[0].image).toMatch(/^httpd@sha256:[0-9a-f]{64}$/);
    expect(rack.calls.named('CreateRepository')).toHaveLength(0);
  });

  it('a failed build ends the deploy with the build status and its log link, nothing promoted', async () => {
    rack.builds.next('broken', { status: 'FAILED' });
    const run = await rack.deploy('broken', await web());
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('BUILD_FAILED');
    expect(run.statesEntered).toEqual(['Queue', 'Prepare', 'Needs build?', 'Build', 'Build failed', 'Notify', 'Hand over', 'Outcome', 'Deploy failed']);
    expect(rack.calls.named('RegisterTaskDefinition')).toHaveLength(0);
    expect(rack.calls.named('CreateService')).toHaveLength(0);
    const [note] = await rack.notifications();
    expect(note!.attributes).toMatchObject({ app: 'broken', status: 'failed', step: 'Build' });
    expect(note!.message).toContain('FAILED');
    expect(note!.message).toContain(`/rackless/${TEST_RACK}/codebuild`);
  });

  it('rolls back when the new deployment fails (circuit breaker), keeping the previous release current', async () => {
    await rack.deploy('cart', await web('v1'));
    const before = (await store.getApp('cart'))!.currentRelease;
    rack.simulator.next('cart', { outcome: 'fail' });
    const run = await rack.deploy('cart', await web('v2'), 'b.tar.gz');
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('ROLLOUT_FAILED');
    expect(run.statesEntered).toEqual([
      'Queue',
      'Prepare',
      'Needs build?',
      'Build',
      'Release',
      'Promote',
      'Watch',
      'Watch failed',
      'Rollback',
      'Notify',
      'Hand over',
      'Outcome',
      'Deploy failed',
    ]);
    expect((await service('cart'))?.taskDefinition).toMatch(/--cart--web:1$/);
    expect((await store.getApp('cart'))!.currentRelease).toBe(before);
    const [latest] = await store.listReleases('cart');
    expect(latest!.status).toBe('failed');
    const notes = await rack.notifications();
    expect(notes.at(-1)!.attributes).toMatchObject({ status: 'rolled-back', step: 'Watch', service: 'web' });
  });

  it('fails fast on a crash loop: 3 stopped tasks roll back before the deadline, with the exit code and last log lines', async () => {
    await rack.deploy('api', await web('v1'));
    rack.simulator.next('api', { outcome: 'crash-loop', crashes: 5, exitCode: 3, logLines: ['starting', 'Error: DATABASE_URL is not set', '    at main (/app/server.js:3:9)'] });
    const run = await rack.deploy('api', await web('v2'), 'b.tar.gz');
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('TOO_MANY_FAILED_TASKS');
    expect(run.statesEntered).not.toContain('Verify');
    expect((await service('api'))?.taskDefinition).toMatch(/--api--web:1$/);
    const note = (await rack.notifications()).at(-1)!;
    expect(note.attributes).toMatchObject({ status: 'rolled-back', service: 'web' });
    expect(note.message).toContain('Error: DATABASE_URL is not set');
    expect(note.message).toMatch(/exit(ed| code)[^\n]*3/i);
  });

  it('a failed first deploy leaves nothing behind: service, target group, host rules, alarms, domain claims', async () => {
    rack.simulator.next('fresh', { outcome: 'fail' });
    const run = await rack.deploy('fresh', await web());
    expect(run.status).toBe('FAILED');
    // DeleteService leaves the service DRAINING, then INACTIVE
    expect(['DRAINING', 'INACTIVE', undefined]).toContain((await service('fresh'))?.status);
    const groups = await rack.aws.elb.send(new DescribeTargetGroupsCommand({}));
    expect((groups.TargetGroups ?? []).map((g) => g.TargetGroupName)).not.toContain(targetGroupName(TEST_RACK, 'fresh', 'web'));
    const rules = await rack.aws.elb.send(new DescribeRulesCommand({ ListenerArn: rack.resources.listenerArn }));
    expect(rules.Rules!.flatMap((r) => r.Conditions ?? []).flatMap((c) => c.HostHeaderConfig?.Values ?? [])).not.toContain(expect.stringMatching(/\.fresh\./));
    const alarms = await rack.aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${TEST_RACK}--fresh--` }));
    expect(alarms.MetricAlarms).toEqual([]);
    expect((await store.getDomains()).claims.filter((c) => c.app === 'fresh')).toEqual([]);
    const note = (await rack.notifications()).at(-1)!;
    expect(note.attributes).toMatchObject({ app: 'fresh', status: 'rolled-back' });
  });

  it('at the deadline with no ECS event, decides from one DescribeServices and rolls back', async () => {
    await rack.deploy('quiet', await web('v1'));
    rack.simulator.next('quiet', { outcome: 'silent' });
    rack.calls.clear();
    const run = await rack.deploy('quiet', await web('v2'), 'b.tar.gz');
    expect(run.statesEntered).toContain('Verify');
    expect(run.error).toBe('ROLLOUT_DEADLINE');
    expect(rack.calls.named('DescribeServices').length).toBeGreaterThanOrEqual(1);
    expect((await service('quiet'))?.taskDefinition).toMatch(/--quiet--web:1$/);
    // the deadline is the one Prepare derived from the implied manifest, 2 × (60 s start + 40 s to
    // healthy + 20 s to drain) = 240 s of simulated time (none of it waited for), not the rack's 1,800 s cap
    expect(run.cause).toContain('did not complete within 240s');
    const history = rack.stepFunctions.execution(run.execution)!.history;
    const entered = (state: string) => history.find((e) => e.type === 'TaskStateEntered' && (e.stateEnteredEventDetails as { name: string }).name === state)!.timestamp.getTime();
    // about 240 s after Watch began (the history's timestamps are taken a few ms apart from the
    // timer's own start), and far from the 1,800 s cap
    const waited = entered('Verify') - entered('Watch');
    expect(waited).toBeGreaterThanOrEqual(239_000);
    expect(waited).toBeLessThan(300_000);
  });

  it('duplicated ECS events still resolve the watch exactly once', async () => {
    rack.simulator.next('dup', { outcome: 'complete', duplicate: true });
    const run = await rack.deploy('dup', await web());
    expect(run.status).toBe('SUCCEEDED');
    expect(await rack.notifications()).toHaveLength(1);
  });

  it('a duplicated S3 event starts exactly one execution', async () => {
    const key = 'apps/twice/build.tgz';
    const execution = await upload(key, await web());
    const [, event] = rack.events.delivered.find(([rule, e]) => rule === `${TEST_RACK}-tarball-uploaded` && e.detail.object.key === key)!;
    // EventBridge delivers at least once: the same event again starts the same execution (same name,
    // same input: Step Functions answers with the running one), not a second
    const again = await rack.started(() => rack.sendEvent(event));
    expect(again).toEqual([]);
    expect(rack.functions.invocationsOf('start-deployment').at(-1)?.result).toMatchObject({ execution });
    await rack.finish(execution);
    const executions = await rack.aws.sfn.send(new ListExecutionsCommand({ stateMachineArn: rack.resources.stateMachineArn }));
    expect(executions.executions?.filter((e) => e.name?.startsWith('twice-'))).toHaveLength(1);
    expect(await store.listReleases('twice')).toHaveLength(1);
  });

  it('serialises deploys of one app: a waiting tarball is superseded by a newer one, never deployed', async () => {
    rack.simulator.next('queue', { outcome: 'complete', hold: true });
    const a = await upload('apps/queue/a.tar.gz', await web('a'));
    await rack.reached(a, 'Watch');
    const b = await upload('apps/queue/b.tar.gz', await web('b'));
    await rack.reached(b, 'Queue');
    const c = await upload('apps/queue/c.tar.gz', await web('c'));
    await rack.reached(c, 'Queue');
    rack.simulator.release('queue');
    const [ra, rb, rc] = await Promise.all([rack.finish(a), rack.finish(b), rack.finish(c)]);
    expect([ra.status, rb.status, rc.status]).toEqual(['SUCCEEDED', 'FAILED', 'SUCCEEDED']);
    expect(rb.error).toBe('SUPERSEDED');
    expect(rb.statesEntered).not.toContain('Prepare');
    // no interleaving: c entered Prepare only after a finished
    const order = rack.entered.filter(([e]) => [a, c].includes(e)).map(([e, s]) => `${e === a ? 'a' : 'c'}:${s}`);
    expect(order.indexOf('c:Prepare')).toBeGreaterThan(order.indexOf('a:Notify'));
    const releases = await store.listReleases('queue');
    expect(releases.map((r) => r.source?.key)).toEqual(['apps/queue/c.tar.gz', 'apps/queue/a.tar.gz']);
    const notes = await rack.notifications();
    expect(notes.map((n) => n.attributes.status).sort()).toEqual(['succeeded', 'succeeded', 'superseded']);
  });

  it('a burst delivered out of order deploys only the newest tarball; the rest are superseded', async () => {
    rack.events.paused = true;
    for (let i = 1; i <= 5; i++) await rack.upload(`apps/burst/${i}.tar.gz`, await web(String(i)));
    const events = await rack.events.take(`${TEST_RACK}-tarball-uploaded`);
    rack.events.paused = false;
    expect(events.map((e) => e.detail.object.key)).toEqual([1, 2, 3, 4, 5].map((i) => `apps/burst/${i}.tar.gz`));
    const started = [];
    for (const event of events.reverse()) started.push(...(await rack.started(() => rack.sendEvent(event))));
    const runs = await Promise.all(started.map((e) => rack.finish(e.name)));
    expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'FAILED', 'FAILED', 'FAILED', 'FAILED']);
    expect(runs.slice(1).map((r) => r.error)).toEqual(['SUPERSEDED', 'SUPERSEDED', 'SUPERSEDED', 'SUPERSEDED']);
    expect((await store.listReleases('burst')).map((r) => r.source?.key)).toEqual(['apps/burst/5.tar.gz']);
  });

  it('ignores keys that are not apps/<app>/<file>.tar.gz, with a reason', async () => {
    for (const key of ['uploads/x.tar.gz', 'apps/Shop/x.tar.gz', 'apps/shop/x.zip', 'apps/shop/nested/x.tgz']) {
      const started = await rack.started(() => rack.upload(key, Buffer.from('x')));
      expect(started, key).toEqual([]);
      // the rule's prefix keeps uploads/ from the function; the function ignores the others itself
      if (key.startsWith('apps/')) expect(rack.functions.invocationsOf('start-deployment').at(-1)?.result, key).toMatchObject({ status: 'ignored', reason: expect.any(String) });
    }
  });

  it.each([
    ['not gzip', Buffer.from('PK\u0003\u0004 this is a zip'), 'TARBALL_NOT_GZIP'],
    [
      'a parent path',
      [
        { name: '../escape', body: 'x' },
        { name: 'Dockerfile', body: 'FROM x' },
      ],
      'TARBALL_PARENT_PATH',
    ],
    ['no Dockerfile', [{ name: 'index.html', body: 'x' }], 'DOCKERFILE_MISSING'],
    [
      'invalid YAML',
      [
        { name: 'Dockerfile', body: 'FROM x' },
        { name: 'rackless.yml', body: 'services: [unclosed' },
      ],
      'MANIFEST_YAML',
    ],
    [
      'an unknown key',
      [
        { name: 'Dockerfile', body: 'FROM x' },
        { name: 'rackless.yml', body: 'services:\n  web:\n    build: .\n    helth: /\n' },
      ],
      'MANIFEST_UNKNOWN_KEY',
    ],
  ] as const)('rejects a tarball with %s before any change', async (_label, content, code) => {
    await rack.deploy('good', await web('v1'), `good-${code}.tar.gz`);
    rack.calls.clear();
    const tarball = Buffer.isBuffer(content) ? content : await buildTarball(content as never);
    const run = await rack.deploy('good', tarball, `bad-${code}.tar.gz`);
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe(code);
    expect(rack.calls.mutating(PROMOTING_CLIENTS)).toEqual([]);
    expect((await service('good'))?.taskDefinition).toMatch(/--good--web:\d+$/);
    const current = await store.currentRelease('good');
    expect(current?.status).toBe('active');
    const note = (await rack.notifications()).at(-1)!;
    expect(note.attributes).toMatchObject({ app: 'good', status: 'failed', step: 'Prepare' });
    expect(note.message).toContain(code);
  });
});

describe('an execution that dies holding its app lock', () => {
  it('hands the lock to the newest waiting deploy when Step Functions reports it ABORTED', async () => {
    // an execution that took the lock and died (its Lambda never ran Notify): only its lock remains
    // (older than the upload below: event times in local mode are moto's, on the wall clock)
    const dead = { execution: 'stuck-dead', order: { time: '2020-01-01T00:00:00Z', sequencer: '01' } };
    await store.putQueueItem('stuck', { ...dead, token: 'gone', status: 'running' });
    expect(await store.acquireLock('stuck', { holder: dead.execution, order: dead.order, expiresAt: Math.floor(rack.scheduler.now() / 1000) + 3600 })).toBe(true);
    const waiting = await upload('apps/stuck/b.tar.gz', await web('b'));
    await rack.reached(waiting, 'Queue');
    await rack.settled();
    expect((await store.listQueue('stuck')).find((q) => q.execution === waiting)?.status).toBe('waiting');
    expect((await store.getLock('stuck'))?.holder).toBe(dead.execution);

    // Step Functions' status change, through the template's deploy-ended rule to the queue function
    await rack.sendEvent({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      resources: [`${rack.resources.stateMachineArn.replace(':stateMachine:', ':execution:')}:${dead.execution}`],
      detail: { executionArn: 'x', stateMachineArn: rack.resources.stateMachineArn, name: dead.execution, status: 'ABORTED', input: JSON.stringify({ app: 'stuck' }) },
    });
    expect(rack.functions.invocationsOf('queue').at(-1)?.result).toMatchObject({ status: 'handed-over', next: waiting });
    expect((await rack.finish(waiting)).status).toBe('SUCCEEDED');
    expect(await store.getLock('stuck')).toBeUndefined();
  });
});
