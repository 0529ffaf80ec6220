import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, DescribeTargetGroupAttributesCommand, DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { targetGroupName } from '../../shared/aws/elb.js';
import type { Store } from '../../shared/aws/store.js';
import { configOf } from '../../shared/config.js';
import { promote } from '../../shared/deploy/promote.js';
import type { DeployState } from '../../shared/deploy/state.js';
import { alarmName } from '../../shared/notify/alarm.js';
import { rackOf } from '../../shared/rack.js';
import { localRack } from '../support/local-rack.js';
import { ecsService, TEST_RACK } from '../support/stage.js';
import { manifestTarball } from '../support/tarballs.js';

/**
 * Promote, services at once, writing only what differs: a second deploy of the same settings writes
 * no alarm, health check, attribute or rule; a changed threshold writes that one alarm; each service
 * comes after its own target group and host rule; and no more services are promoted at once than
 * its concurrency says.
 */
let rack: LocalRack;

beforeAll(async () => {
  rack = await localRack();
});
beforeEach(async () => {
  await rack.notifications();
  rack.calls.clear();
});

const WRITES = ['PutMetricAlarm', 'DeleteAlarms', 'CreateTargetGroup', 'ModifyTargetGroup', 'ModifyTargetGroupAttributes', 'CreateRule', 'DeleteRule'];
const written = () => Object.fromEntries(WRITES.map((w) => [w, rack.calls.named(w).map((c) => c.input)]).filter(([, calls]) => (calls as unknown[]).length > 0));

async function alarms(app: string) {
  const res = await rack.aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${TEST_RACK}--${app}--` }));
  return (res.MetricAlarms ?? [])
    .map((a) => ({ name: a.AlarmName, threshold: a.Threshold, updated: a.AlarmConfigurationUpdatedTimestamp }))
    .sort((a, b) => (a.name! < b.name! ? -1 : 1));
}

async function targetGroup(app: string, service: string) {
  const group = (await rack.aws.elb.send(new DescribeTargetGroupsCommand({ Names: [targetGroupName(TEST_RACK, app, service)] }))).TargetGroups![0]!;
  const attributes = await rack.aws.elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: group.TargetGroupArn }));
  return {
    arn: group.TargetGroupArn!,
    path: group.HealthCheckPath,
    interval: group.HealthCheckIntervalSeconds,
    delay: attributes.Attributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value,
  };
}

const services = (version: number, change: { webCpu?: number; apiHealth?: string } = {}) =>
  manifestTarball({
    web: `image: httpd:2.4\nport: 80\nenvironment: [V=${version}]${change.webCpu ? `\nalarms: {cpu: ${change.webCpu}}` : ''}`,
    api: `image: httpd:2.4\nport: 80\nhealth: ${change.apiHealth ?? '/health'}\nenvironment: [V=${version}]`,
  });

describe('Promote writes only what differs', () => {
  it('a second deploy of the same settings writes no alarm, health check, attribute or rule, and rolls both services', async () => {
    const app = 'same';
    expect((await rack.deploy(app, await services(1))).status).toBe('SUCCEEDED');
    const before = { alarms: await alarms(app), web: await targetGroup(app, 'web'), api: await targetGroup(app, 'api') };
    expect(before.alarms).toHaveLength(8);
    rack.calls.clear();

    const run = await rack.deploy(app, await services(2), 'v2.tar.gz');

    expect(run.status).toBe('SUCCEEDED');
    expect(written()).toEqual({});
    expect(rack.calls.named('UpdateService').map((c) => c.input.service)).toEqual(expect.arrayContaining([ecsService(app, 'web'), ecsService(app, 'api')]));
    expect(await alarms(app)).toEqual(before.alarms);
    expect({ web: await targetGroup(app, 'web'), api: await targetGroup(app, 'api') }).toEqual({ web: before.web, api: before.api });
  });

  it('a changed threshold writes that one alarm, a changed health path that one target group', async () => {
    const app = 'tuned';
    expect((await rack.deploy(app, await services(1))).status).toBe('SUCCEEDED');
    const before = await alarms(app);
    rack.calls.clear();

    const run = await rack.deploy(app, await services(2, { webCpu: 55, apiHealth: '/ready' }), 'v2.tar.gz');

    expect(run.status, `${run.error}: ${run.cause}`).toBe('SUCCEEDED');
    const api = await targetGroup(app, 'api');
    expect(written()).toEqual({
      PutMetricAlarm: [expect.objectContaining({ AlarmName: alarmName(TEST_RACK, app, 'web', 'cpu'), Threshold: 55 })],
      ModifyTargetGroup: [{ TargetGroupArn: api.arn, HealthCheckPath: '/ready' }],
    });
    const after = await alarms(app);
    expect(after.find((a) => a.name === alarmName(TEST_RACK, app, 'web', 'cpu'))?.threshold).toBe(55);
    // every other alarm is as it was, to its last update
    expect(after.filter((a) => a.name !== alarmName(TEST_RACK, app, 'web', 'cpu'))).toEqual(before.filter((a) => a.name !== alarmName(TEST_RACK, app, 'web', 'cpu')));
    expect(api.path).toBe('/ready');
    expect((await targetGroup(app, 'web')).path).toBe('/');
  });
});

describe('Promote, services at once', () => {
  it('creates each service after its own target group and host rule', async () => {
    const app = 'trio';
    const names = ['alpha', 'beta', 'gamma'];
    const run = await rack.deploy(app, await manifestTarball(Object.fromEntries(names.map((n) => [n, 'image: httpd:2.4\nport: 80']))));
    expect(run.status).toBe('SUCCEEDED');
    const at = (command: string, match: (input: any) => boolean) => rack.calls.calls.findIndex((c) => c.command === command && match(c.input));
    for (const name of names) {
      const group = await targetGroup(app, name);
      const created = at('CreateTargetGroup', (i) => i.Name === targetGroupName(TEST_RACK, app, name));
      const routed = at('CreateRule', (i) => i.Actions?.[0]?.TargetGroupArn === group.arn);
      const service = at('CreateService', (i) => i.serviceName === ecsService(app, name));
      expect([created >= 0, routed > created, service > routed], name).toEqual([true, true, true]);
    }
    const rules = await rack.aws.elb.send(new DescribeRulesCommand({ ListenerArn: rack.resources.listenerArn }));
    const priorities = (rules.Rules ?? []).filter((r) => !r.IsDefault).map((r) => r.Priority);
    expect(new Set(priorities).size).toBe(priorities.length);
  });

  it('promotes no more services at once than its concurrency: four services, two by two, in manifest order', async () => {
    const app = 'quad';
    const names = ['s1', 's2', 's3', 's4'];
    let captured: DeployState | undefined;
    const restore = rack.functions.intercept('promote', (run, event) => {
      captured = structuredClone(event as DeployState);
      return run();
    });
    try {
      expect((await rack.deploy(app, await manifestTarball(Object.fromEntries(names.map((n) => [n, 'image: httpd:2.4\nport: 80']))))).status).toBe('SUCCEEDED');
    } finally {
      restore();
    }
    rack.calls.clear();
    const gate = pairs(rack.store);

    // the same Promote again, as a retried step runs it
    const after = await promote(captured!, {
      ecs: rack.functionsAws(ECSClient),
      elb: rack.functionsAws(ElasticLoadBalancingV2Client),
      cloudwatch: rack.functionsAws(CloudWatchClient),
      store: gate.store,
      rack: rackOf(configOf(rack.functions.get('promote').environment)),
      alarmTopicArn: rack.resources.alarmTopicArn,
      concurrency: 2,
    });

    expect(gate.most()).toBe(2);
    expect(after.promoted?.map((p) => p.service)).toEqual(names);
    // its change is in place: a retry writes nothing
    expect(rack.calls.mutating(['ECSClient', 'ElasticLoadBalancingV2Client', 'CloudWatchClient'])).toEqual([]);
  });
});

/**
 * The Store, with each recordUndo (the first call of a service's promote) held until another one
 * arrives: services promoted two at a time pass in pairs; one at a time would wait for ever. Counts
 * how many were in flight at most.
 */
function pairs(inner: Store): { store: Store; most: () => number } {
  let inFlight = 0;
  let most = 0;
  let waiting: Array<() => void> = [];
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'recordUndo') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: Parameters<Store['recordUndo']>) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length < 2) return;
          for (const go of waiting) go();
          waiting = [];
        });
        try {
          return await target.recordUndo(...args);
        } finally {
          inFlight--;
        }
      };
    },
  });
  return { store, most: () => most };
}
