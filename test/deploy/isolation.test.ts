import { DescribeServicesCommand, CreateServiceCommand, ListTagsForResourceCommand as ListEcsTags } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { serviceNames } from '../../shared/names.js';
import type { Store } from '../../shared/aws/store.js';
import { GatedStore } from '../support/gated-store.js';
import { localRack } from '../support/local-rack.js';
import { TEST_RACK, ecsService } from '../support/stage.js';
import { buildTarball } from '../support/tarballs.js';

/**
 * Apps on one rack cannot touch each other, through the path a user's upload takes. The pair that
 * collided under `<rack>-<app>-<service>`: app `shop` with service `admin-web`, app `shop-admin`
 * with service `web`.
 */
let rack: LocalRack;
/** Prepare's store, which a test may stop at a call to force an interleaving of two deploys. */
let prepareStore!: GatedStore;
const RACK_DOMAIN = `${TEST_RACK}.internal`;

beforeAll(async () => {
  rack = await localRack({
    overrides: (name, deps) => {
      if (name !== `${TEST_RACK}-prepare`) return {};
      prepareStore = new GatedStore(deps.store as Store);
      return { store: prepareStore.store };
    },
  });
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

async function routedHosts(): Promise<string[]> {
  const rules = await rack.aws.elb.send(new DescribeRulesCommand({ ListenerArn: rack.resources.listenerArn }));
  return (rules.Rules ?? []).flatMap((rule) => (rule.Conditions ?? []).flatMap((c) => c.HostHeaderConfig?.Values ?? c.Values ?? [])).sort();
}

async function claimsOf(app: string): Promise<string[]> {
  return (await rack.store.getDomains()).claims
    .filter((claim) => claim.app === app)
    .map((claim) => claim.host)
    .sort();
}

describe('domain claims', () => {
  it.each([
    ['the first uploaded writes first', 'race-a', 'race-b', 'one.example.com', 'winner first'],
    ['the last uploaded writes first', 'race-d', 'race-c', 'two.example.com', 'loser first'],
  ])('two apps claiming one host at the same moment: exactly one gets it (%s)', async (_label, winner, loser, host, order) => {
    const both = order === 'winner first' ? [winner, loser] : [loser, winner];
    // both Prepares read the registry at the same version, then each stops before its write
    const gates = Object.fromEntries(both.map((app) => [app, prepareStore.pause('putDomains', (_version, claims) => claims.some((c) => c.app === app))]));
    const tarball = await manifest({ web: httpd(`domain: ${host}`) });
    for (const app of both) await rack.upload(`apps/${app}/app.tar.gz`, tarball);
    await Promise.all(both.map((app) => gates[app]!.reached));
    const [winning] = rack.executionsFor(`apps/${winner}/app.tar.gz`);
    const [losing] = rack.executionsFor(`apps/${loser}/app.tar.gz`);
    gates[winner]!.open();
    await rack.reached(winning!.name, 'Needs build?');
    gates[loser]!.open();
    const [won, lost] = [await rack.finish(winning!.name), await rack.finish(losing!.name)];
    expect(won.status).toBe('SUCCEEDED');
    expect(lost.status).toBe('FAILED');
    expect(lost.error).toBe('MANIFEST_DOMAIN_IN_USE');
    expect(lost.cause).toContain(`services.web.domain: ${host} is claimed by app ${winner} (service web)`);
    expect(lost.statesEntered).toEqual(['Queue', 'Prepare', 'Prepare failed', 'Notify', 'Outcome', 'Deploy failed']);
    expect(await claimsOf(winner)).toEqual([host]);
    expect(await claimsOf(loser)).toEqual([]);
    expect((await routedHosts()).filter((h) => h === host)).toEqual([host]);
    expect(await describe_(loser, 'web')).toBeUndefined();
  });

  it.each([
    ["another app's default host", `web.shop.${RACK_DOMAIN}`, 'MANIFEST_DOMAIN_RESERVED', `hosts under shop.${RACK_DOMAIN} are reserved for app shop`],
    ["a wildcard over the rack's domain", `*.${RACK_DOMAIN}`, 'MANIFEST_DOMAIN_RESERVED', `would cover the rack's domain ${RACK_DOMAIN}`],
    ['a default host of an app that has not deployed yet', `web.later.${RACK_DOMAIN}`, 'MANIFEST_DOMAIN_RESERVED', `reserved for app later`],
  ])('refuses %s in Prepare with nothing changed', async (_label, host, code, reason) => {
    const before = await rack.store.getDomains();
    rack.calls.clear();
    const run = await rack.deploy('evil', await manifest({ web: httpd(`domain: "${host}"`) }));
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe(code);
    expect(run.cause).toContain(reason);
    expect(rack.calls.mutating(['ECSClient', 'ElasticLoadBalancingV2Client', 'ECRClient', 'CloudWatchClient', 'CloudWatchLogsClient'])).toEqual([]);
    expect(await rack.store.getDomains()).toEqual(before);
  });

  it('refuses a wildcard that covers a host another app claimed, and a host under another app’s wildcard', async () => {
    expect((await rack.deploy('owner', await manifest({ web: httpd('domain: [api.example.net, "*.docs.example.org"]') }))).status).toBe('SUCCEEDED');
    const wide = await rack.deploy('grabber', await manifest({ web: httpd('domain: "*.example.net"') }));
    expect([wide.error, wide.cause]).toEqual(['MANIFEST_DOMAIN_IN_USE', expect.stringContaining('*.example.net covers api.example.net, claimed by app owner (service web)')]);
    const under = await rack.deploy('grabber', await manifest({ web: httpd('domain: v2.docs.example.org') }), 'b.tar.gz');
    expect([under.error, under.cause]).toEqual(['MANIFEST_DOMAIN_IN_USE', expect.stringContaining('v2.docs.example.org is covered by *.docs.example.org')]);
    // the wildcard went onto the listener rule, and into its tag spelled the way ELBv2 takes it
    expect(await routedHosts()).toContain('*.docs.example.org');
  });

  it('a failed first deploy lets go of its host: rule gone, claim gone, another app can take it', async () => {
    rack.simulator.next('doomed', { outcome: 'fail' });
    const failed = await rack.deploy('doomed', await manifest({ web: httpd('domain: shared.example.com') }));
    expect(failed.status).toBe('FAILED');
    expect(await claimsOf('doomed')).toEqual([]);
    expect(await routedHosts()).not.toContain('shared.example.com');
    const taken = await rack.deploy('heir', await manifest({ web: httpd('domain: shared.example.com') }));
    expect(taken.status).toBe('SUCCEEDED');
    expect(await claimsOf('heir')).toEqual(['shared.example.com']);
  });

  it('a failed later deploy keeps the current release’s hosts and lets go of the new ones', async () => {
    expect((await rack.deploy('steady', await manifest({ web: httpd('domain: steady.example.com') }))).status).toBe('SUCCEEDED');
    rack.simulator.next('steady', { outcome: 'fail' });
    const failed = await rack.deploy('steady', await manifest({ web: httpd('domain: [steady.example.com, extra.example.com]') }), 'b.tar.gz');
    expect(failed.status).toBe('FAILED');
    expect(await claimsOf('steady')).toEqual(['steady.example.com']);
  });

  it('a retired service lets go of its hosts', async () => {
    const two = await manifest({ web: httpd('domain: keep.example.com'), admin: httpd('domain: gone.example.com') });
    expect((await rack.deploy('trim', two)).status).toBe('SUCCEEDED');
    expect(await claimsOf('trim')).toEqual(['gone.example.com', 'keep.example.com']);
    expect((await rack.deploy('trim', await manifest({ web: httpd('domain: keep.example.com') }), 'b.tar.gz')).status).toBe('SUCCEEDED');
    expect(await claimsOf('trim')).toEqual(['keep.example.com']);
    expect((await rack.deploy('newcomer', await manifest({ web: httpd('domain: gone.example.com') }))).status).toBe('SUCCEEDED');
  });
});

describe('quotas before any change', () => {
  it('a release that needs more listener rules than the load balancer has left fails in Prepare, nothing created', async () => {
    const hosts = Array.from({ length: 101 }, (_, i) => `h${i}.quota.example.com`);
    const before = await rack.store.getDomains();
    rack.calls.clear();
    const run = await rack.deploy('greedy', await manifest({ web: httpd(`domain: [${hosts.join(', ')}]`) }));
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('QUOTA_RULES');
    expect(run.cause).toMatch(/the release needs 101 more listener rules, and the load balancer has \d+ of 100 in use \(the account's quota/);
    expect(run.statesEntered).toEqual(['Queue', 'Prepare', 'Prepare failed', 'Notify', 'Outcome', 'Deploy failed']);
    expect(rack.calls.mutating(['ECSClient', 'ElasticLoadBalancingV2Client', 'ECRClient', 'CloudWatchClient', 'CloudWatchLogsClient'])).toEqual([]);
    expect(await rack.store.getDomains()).toEqual(before);
    expect(await routedHosts()).not.toContain('h0.quota.example.com');
  });
});
