import { DescribeServicesCommand, CreateServiceCommand, ListTagsForResourceCommand as ListEcsTags } from '@aws-sdk/client-ecs';
import { DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { serviceNames } from '../../shared/names.js';
import { localRack } from '../support/local-rack.js';
import { TEST_RACK, ecsService } from '../support/stage.js';
import { buildTarball } from '../support/tarballs.js';

/**
 * Apps on one rack cannot touch each other, through the path a user's upload takes. The pair that
 * collided under `<rack>-<app>-<service>`: app `shop` with service `admin-web`, app `shop-admin`
 * with service `web`.
 */
let rack: LocalRack;

beforeAll(async () => {
  rack = await localRack();
});
beforeEach(async () => {
  await rack.notifications();
  rack.calls.clear();
});

const manifest = (services: Record<string, string>) =>
  buildTarball([
    {
      name: 'rackless.yml',
      body: `services:\n${Object.entries(services)
        .map(([name, body]) => `  ${name}:\n${body.replace(/^/gm, '    ')}\n`)
        .join('')}`,
    },
  ]);
const httpd = (extra = '') => `image: httpd:2.4\nport: 80\n${extra}`;

async function describe_(app: string, service: string) {
  const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.resources.cluster, services: [ecsService(app, service)], include: ['TAGS'] }));
  return res.services?.find((s) => s.status !== 'INACTIVE');
}

describe('the pair of names that used to collide', () => {
  it('stays two apps through deploy, failed deploy with rollback, and retire', async () => {
    // shop runs admin-web and api; shop-admin runs web
    expect((await rack.deploy('shop', await manifest({ 'admin-web': httpd(), api: httpd('command: [httpd-foreground]') }))).status).toBe('SUCCEEDED');
    expect((await rack.deploy('shop-admin', await manifest({ web: httpd() }))).status).toBe('SUCCEEDED');

    const shopAdminWeb = await describe_('shop', 'admin-web');
    const shopAdmin_web = await describe_('shop-admin', 'web');
    expect(shopAdminWeb?.serviceName).toBe(`${TEST_RACK}--shop--admin-web`);
    expect(shopAdmin_web?.serviceName).toBe(`${TEST_RACK}--shop-admin--web`);
    expect(shopAdminWeb?.serviceArn).not.toBe(shopAdmin_web?.serviceArn);
    expect(shopAdminWeb?.taskDefinition).toMatch(/--shop--admin-web:1$/);
    expect(shopAdmin_web?.taskDefinition).toMatch(/--shop-admin--web:1$/);
    expect(Object.fromEntries((shopAdmin_web?.tags ?? []).map((t) => [t.key, t.value]))).toMatchObject({ 'rackless:app': 'shop-admin', 'rackless:service': 'web' });
    const groups = await rack.aws.elb.send(
      new DescribeTargetGroupsCommand({
        Names: [serviceNames({ name: TEST_RACK }, 'shop', 'admin-web').targetGroup, serviceNames({ name: TEST_RACK }, 'shop-admin', 'web').targetGroup],
      }),
    );
    expect(new Set(groups.TargetGroups?.map((g) => g.TargetGroupArn)).size).toBe(2);

    // a failed deploy of shop-admin rolls back shop-admin only
    rack.simulator.next('shop-admin', { outcome: 'fail' });
    rack.calls.clear();
    const failed = await rack.deploy('shop-admin', await manifest({ web: httpd('command: [httpd, -X]') }), 'b.tar.gz');
    expect(failed.status).toBe('FAILED');
    expect(failed.statesEntered).toContain('Rollback');
    const touched = rack.calls.mutating(['ECSClient']).map((c) => c.input.service ?? c.input.serviceName ?? c.input.family);
    expect(touched.every((name: string) => name.startsWith(`${TEST_RACK}--shop-admin--`))).toBe(true);
    expect((await describe_('shop-admin', 'web'))?.taskDefinition).toMatch(/--shop-admin--web:1$/);
    expect(await describe_('shop', 'admin-web')).toMatchObject({ taskDefinition: shopAdminWeb?.taskDefinition, desiredCount: shopAdminWeb?.desiredCount });

    // shop drops admin-web: its own service goes, shop-admin's web stays
    rack.calls.clear();
    const slim = await rack.deploy('shop', await manifest({ api: httpd('command: [httpd-foreground]') }), 'c.tar.gz');
    expect(slim.status).toBe('SUCCEEDED');
    expect(slim.statesEntered).toContain('Retire');
    expect(rack.calls.named('DeleteService').map((c) => c.input.service)).toEqual([`${TEST_RACK}--shop--admin-web`]);
    expect(await describe_('shop', 'admin-web')).toBeUndefined();
    expect((await describe_('shop-admin', 'web'))?.status).toBe('ACTIVE');
    const alarms = await rack.aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${TEST_RACK}--shop-admin--web--` }));
    expect(alarms.MetricAlarms?.length).toBeGreaterThan(0);
    const gone = await rack.aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${TEST_RACK}--shop--admin-web--` }));
    expect(gone.MetricAlarms).toEqual([]);
  });
});

describe('a resource at an app’s name that another app owns', () => {
  it('is left as it is: Promote refuses it with RESOURCE_OWNED_ELSEWHERE before any ECS change, and Rollback does not touch it', async () => {
    // someone made the service `cart` would use by hand, tagged for another app
    const td = await rack.deploy('other', await manifest({ worker: 'image: httpd:2.4\n' }));
    expect(td.status).toBe('SUCCEEDED');
    const otherTaskDefinition = (await describe_('other', 'worker'))!.taskDefinition!;
    await rack.aws.ecs.send(
      new CreateServiceCommand({
        cluster: rack.resources.cluster,
        serviceName: ecsService('cart', 'worker'),
        taskDefinition: otherTaskDefinition,
        desiredCount: 1,
        tags: [
          { key: 'rackless:rack', value: TEST_RACK },
          { key: 'rackless:app', value: 'other' },
        ],
      }),
    );
    rack.calls.clear();
    const run = await rack.deploy('cart', await manifest({ worker: 'image: httpd:2.4\n' }));
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('RESOURCE_OWNED_ELSEWHERE');
    expect(rack.calls.named('UpdateService')).toEqual([]);
    expect(rack.calls.named('CreateService')).toEqual([]);
    const service = await describe_('cart', 'worker');
    expect(service?.taskDefinition).toBe(otherTaskDefinition);
    const tags = await rack.aws.ecs.send(new ListEcsTags({ resourceArn: service!.serviceArn }));
    expect(tags.tags).toContainEqual({ key: 'rackless:app', value: 'other' });
    const note = (await rack.notifications()).at(-1);
    expect(note!.message).toContain(`ECS service ${ecsService('cart', 'worker')} is not app cart's: it belongs to app other`);
  });
});
