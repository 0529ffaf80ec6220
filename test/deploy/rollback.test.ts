import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DeregisterTaskDefinitionCommand, DescribeServicesCommand, DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, DescribeTargetGroupAttributesCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { targetGroupName } from '../../shared/aws/elb.js';
import { localRack } from '../support/local-rack.js';
import { ecsService, TEST_RACK } from '../support/stage.js';
import { manifestTarball } from '../support/tarballs.js';

/**
 * Rollback is the recorded inverse of Promote, end to end on the local rack: what a failed release
 * changed — task definition, health check, container port, host rules, alarms — is back in moto as it
 * was, service by service; a deregistered previous revision is registered again; a failed first
 * deploy leaves nothing; a retried Promote starts no second deployment.
 */
let rack: LocalRack;

beforeAll(async () => {
  rack = await localRack();
});
beforeEach(async () => {
  await rack.notifications();
  rack.calls.clear();
});
afterEach(() => rack.faults.disarm());

const manifest = manifestTarball;

async function services(app: string, names: string[]) {
  const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.resources.cluster, services: names.map((n) => ecsService(app, n)) }));
  return Object.fromEntries((res.services ?? []).map((s) => [s.serviceName!.split('--').pop()!, s]));
}

async function targetGroup(app: string, service: string) {
  const res = await rack.aws.elb.send(new DescribeTargetGroupsCommand({ Names: [targetGroupName(TEST_RACK, app, service)] }));
  const group = res.TargetGroups![0]!;
  const attributes = await rack.aws.elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: group.TargetGroupArn }));
  return { ...group, delay: attributes.Attributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value };
}

/** host → target group ARN, for the rules of the rack's HTTP listener */
async function routes() {
  const res = await rack.aws.elb.send(new DescribeRulesCommand({ ListenerArn: rack.resources.listenerArn }));
  const map: Record<string, string> = {};
  for (const rule of res.Rules ?? []) {
    for (const host of (rule.Conditions ?? []).flatMap((c) => c.HostHeaderConfig?.Values ?? [])) map[host] = rule.Actions![0]!.TargetGroupArn!;
  }
  return map;
}

async function alarms(app: string) {
  const res = await rack.aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${TEST_RACK}--${app}--` }));
  return (res.MetricAlarms ?? []).map((a) => ({ name: a.AlarmName, threshold: a.Threshold, dimensions: a.Dimensions })).sort((a, b) => (a.name! < b.name! ? -1 : 1));
}

describe('Rollback restores what Promote changed', () => {
  it('a 3-service release that changes a health path, a port and a domain fails: every one of them is back', async () => {
    const app = 'undo';
    const v1 = await manifest({
      web: 'image: httpd:2.4\nport: 80\ndomain: www.undo.example.com\nhealth: {path: /, interval: 10}\nderegistrationDelay: 15\nalarms: {cpu: 80}',
      api: 'image: httpd:2.4\nport: 80\ndomain: api.undo.example.com\nhealth: /health',
      admin: 'image: httpd:2.4\nport: 80\ndomain: admin.undo.example.com',
    });
    expect((await rack.deploy(app, v1)).status).toBe('SUCCEEDED');
    const before = {
      services: await services(app, ['web', 'api', 'admin']),
      web: await targetGroup(app, 'web'),
      api: await targetGroup(app, 'api'),
      admin: await targetGroup(app, 'admin'),
      routes: await routes(),
      alarms: await alarms(app),
    };

    const v2 = await manifest({
      web: 'image: httpd:2.4\nport: 80\ndomain: www.undo.example.com\nhealth: {path: /v2/health, interval: 30}\nderegistrationDelay: 120\nalarms: {cpu: 50}',
      api: 'image: httpd:2.4\nport: 8080\ndomain: api.undo.example.com\nhealth: /health',
      admin: 'image: httpd:2.4\nport: 80\ndomain: admin2.undo.example.com',
    });
    rack.simulator.next(app, { outcome: 'fail' });
    const run = await rack.deploy(app, v2, 'v2.tar.gz');
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('ROLLOUT_FAILED');
    expect(run.statesEntered).toContain('Rollback');

    const after = await services(app, ['web', 'api', 'admin']);
    for (const name of ['web', 'api', 'admin']) {
      expect(after[name]!.taskDefinition, name).toBe(before.services[name]!.taskDefinition);
      expect(after[name]!.desiredCount, name).toBe(before.services[name]!.desiredCount);
      expect(after[name]!.loadBalancers, name).toEqual(before.services[name]!.loadBalancers);
      // Rackless rolls back; ECS's circuit breaker only detects
      expect(after[name]!.deploymentConfiguration?.deploymentCircuitBreaker, name).toEqual({ enable: true, rollback: false });
    }
    expect(after.api!.loadBalancers![0]!.containerPort).toBe(80);
    const web = await targetGroup(app, 'web');
    expect({ path: web.HealthCheckPath, interval: web.HealthCheckIntervalSeconds, delay: web.delay }).toEqual({
      path: before.web.HealthCheckPath,
      interval: before.web.HealthCheckIntervalSeconds,
      delay: before.web.delay,
    });
    expect(web.HealthCheckPath).toBe('/');
    expect(await routes()).toEqual(before.routes);
    expect((await routes())['admin2.undo.example.com']).toBeUndefined();
    expect(await alarms(app)).toEqual(before.alarms);

    const note = (await rack.notifications()).at(-1)!;
    expect(note.attributes).toMatchObject({ app, status: 'rolled-back' });
  });

  it('a previous revision that was deregistered is registered again and serves', async () => {
    const app = 'dereg';
    expect((await rack.deploy(app, await manifest({ web: 'image: httpd:2.4\nport: 80' }))).status).toBe('SUCCEEDED');
    const first = (await services(app, ['web'])).web!.taskDefinition!;
    // someone cleans up old revisions by hand
    await rack.aws.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: first }));
    rack.simulator.next(app, { outcome: 'fail' });
    const run = await rack.deploy(app, await manifest({ web: 'image: httpd:2.4\nport: 80\nenvironment: [V=2]' }), 'v2.tar.gz');
    expect(run.status).toBe('FAILED');

    const serving = (await services(app, ['web'])).web!.taskDefinition!;
    expect(serving).not.toBe(first);
    const describeTd = async (arn: string) => (await rack.aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).taskDefinition!;
    const old = await describeTd(first);
    const now = await describeTd(serving);
    expect(now.status).toBe('ACTIVE');
    expect(now.family).toBe(old.family);
    expect(now.containerDefinitions).toEqual(old.containerDefinitions);
    expect(now.executionRoleArn).toBe(old.executionRoleArn);
    // the release that serves names the revision that runs, so redeploying it works
    const current = await rack.store.currentRelease(app);
    expect(current!.taskDefinitions.web).toBe(serving);
  });

  it('a retried Promote starts no second deployment', async () => {
    const app = 'retry';
    expect((await rack.deploy(app, await manifest({ web: 'image: httpd:2.4\nport: 80' }))).status).toBe('SUCCEEDED');
    rack.calls.clear();
    // Promote's first invocation dies after its UpdateService: every SDK attempt at the changed alarm fails
    let failures = 0;
    rack.faults.arm({ match: (name) => name === 'CloudWatchClient.PutMetricAlarmCommand' && failures++ < 4, times: 'always' });
    const run = await rack.deploy(app, await manifest({ web: 'image: httpd:2.4\nport: 80\nenvironment: [V=2]\nalarms: {cpu: 70}' }), 'v2.tar.gz');
    expect(run.status).toBe('SUCCEEDED');
    expect(rack.faults.injected.length).toBe(4);
    const updates = rack.calls.named('UpdateService').filter((c) => c.input.service === ecsService(app, 'web'));
    expect(updates).toHaveLength(1);
    expect((await services(app, ['web'])).web!.taskDefinition).toMatch(/--retry--web:2$/);
  });
});
