import { CreateServiceCommand, DescribeServicesCommand, DescribeTaskDefinitionCommand, ListTagsForResourceCommand as ListEcsTags } from '@aws-sdk/client-ecs';
import { GetRoleCommand, GetRolePolicyCommand, ListAttachedRolePoliciesCommand } from '@aws-sdk/client-iam';
import { DescribeRulesCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { appNames, serviceNames } from '../../shared/names.js';
import type { Store } from '../../shared/aws/store.js';
import { loadEvent } from '../support/fixtures.js';
import { GatedStore } from '../support/gated-store.js';
import { localRack } from '../support/local-rack.js';
import { TEST_RACK, ecsService } from '../support/stage.js';
import { manifestTarball } from '../support/tarballs.js';

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

const manifest = manifestTarball;
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
    expect(lost.statesEntered).toEqual(['Queue', 'Prepare', 'Prepare failed', 'Notify', 'Hand over', 'Outcome', 'Deploy failed']);
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
    // 11 services of 10 hosts: within the manifest's limits (20 services, 10 domains each), over the listener's 100 rules
    const services = Object.fromEntries(
      Array.from({ length: 11 }, (_, s) => [`s${s}`, httpd(`domain: [${Array.from({ length: 10 }, (_, i) => `h${i}.s${s}.quota.example.com`).join(', ')}]`)]),
    );
    const before = await rack.store.getDomains();
    rack.calls.clear();
    const run = await rack.deploy('greedy', await manifest(services));
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('QUOTA_RULES');
    expect(run.cause).toMatch(/the release needs 110 more listener rules, and the load balancer has \d+ of 100 in use \(the account's quota/);
    expect(run.statesEntered).toEqual(['Queue', 'Prepare', 'Prepare failed', 'Notify', 'Hand over', 'Outcome', 'Deploy failed']);
    expect(rack.calls.mutating(['ECSClient', 'ElasticLoadBalancingV2Client', 'ECRClient', 'CloudWatchClient', 'CloudWatchLogsClient'])).toEqual([]);
    expect(await rack.store.getDomains()).toEqual(before);
    expect(await routedHosts()).not.toContain('h0.quota.example.com');
  });
});

describe('per-app identity', () => {
  it("runs each app's tasks with its own execution and task role, under the rack's path with the rack's boundary", async () => {
    const tarball = await manifest({ web: httpd('secrets: {DB_PASSWORD: db-password}\npolicies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]') });
    expect((await rack.deploy('vault', tarball)).status).toBe('SUCCEEDED');
    const td = (await rack.aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: (await describe_('vault', 'web'))!.taskDefinition }))).taskDefinition!;
    const names = appNames({ name: TEST_RACK, ecrPrefix: TEST_RACK, logGroupPrefix: `/rackless/${TEST_RACK}` }, 'vault');
    expect(td.executionRoleArn).toMatch(new RegExp(`:role/rackless/${TEST_RACK}/${names.executionRole}$`));
    expect(td.taskRoleArn).toMatch(new RegExp(`:role/rackless/${TEST_RACK}/${names.taskRole}$`));
    expect(td.containerDefinitions?.[0]?.secrets).toEqual([
      { name: 'DB_PASSWORD', valueFrom: expect.stringMatching(new RegExp(`:parameter/rackless/${TEST_RACK}/vault/db-password$`)) },
    ]);
    const boundary = rack.stack.physical.AppBoundary!;
    for (const name of [names.executionRole, names.taskRole]) {
      const role = (await rack.aws.iam.send(new GetRoleCommand({ RoleName: name }))).Role!;
      expect(role.Path).toBe(`/rackless/${TEST_RACK}/`);
      expect(role.PermissionsBoundary?.PermissionsBoundaryArn).toBe(boundary);
      expect(role.Tags).toEqual(
        expect.arrayContaining([
          { Key: 'rackless:app', Value: 'vault' },
          { Key: 'rackless:rack', Value: TEST_RACK },
        ]),
      );
    }
    const inline = await rack.aws.iam.send(new GetRolePolicyCommand({ RoleName: names.executionRole, PolicyName: 'app' }));
    const document = JSON.parse(decodeURIComponent(inline.PolicyDocument!));
    expect(document.Statement.find((s: { Sid: string }) => s.Sid === 'Parameters').Resource).toMatch(new RegExp(`:parameter/rackless/${TEST_RACK}/vault/\\*$`));
    const attached = await rack.aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: names.taskRole }));
    expect(attached.AttachedPolicies?.map((p) => p.PolicyArn)).toEqual(['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess']);
    // another app gets roles of its own
    expect((await rack.deploy('vault-two', await manifest({ worker: 'image: httpd:2.4\n' }))).status).toBe('SUCCEEDED');
    const other = (await rack.aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: (await describe_('vault-two', 'worker'))!.taskDefinition }))).taskDefinition!;
    expect(other.executionRoleArn).not.toBe(td.executionRoleArn);
  });

  it.each([
    ["another app's parameter", 'secrets: {DB: /rackless/rackless-demo/shop/db}', 'MANIFEST_SECRET', "is app shop's parameter"],
    [
      "another account's parameter",
      'secrets: {DB: "arn:aws:ssm:us-east-1:999999999999:parameter/rackless/rackless-demo/thief/db"}',
      'MANIFEST_SECRET',
      'is a parameter of account 999999999999',
    ],
    [
      'a Secrets Manager secret on a rack that does not allow them',
      'secrets: {DB: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}',
      'MANIFEST_SECRET',
      'this rack does not let apps read them',
    ],
    ["another app's repository as an image", null, 'MANIFEST_IMAGE', "is app shop's repository"],
    [
      'a task role policy that does not exist',
      'policies: [arn:aws:iam::123456789012:policy/missing]',
      'MANIFEST_POLICY',
      'policies: arn:aws:iam::123456789012:policy/missing does not exist',
    ],
  ])('refuses %s before any change', async (_label, extra, code, message) => {
    const body = extra === null ? `image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/${TEST_RACK}/shop:web-1\nport: 80\n` : httpd(extra);
    rack.calls.clear();
    const run = await rack.deploy('thief', await manifest({ web: body }));
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe(code);
    expect(run.cause).toContain(message);
    expect(run.statesEntered).toEqual(['Queue', 'Prepare', 'Prepare failed', 'Notify', 'Hand over', 'Outcome', 'Deploy failed']);
    expect(rack.calls.mutating(['ECSClient', 'ElasticLoadBalancingV2Client', 'ECRClient', 'CloudWatchClient', 'CloudWatchLogsClient', 'IAMClient'])).toEqual([]);
    expect(await claimsOf('thief')).toEqual([]);
  });
});

describe('immutable images', () => {
  const imageOf = async (app: string, service = 'web') =>
    (await rack.aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: (await describe_(app, service))!.taskDefinition }))).taskDefinition!.containerDefinitions![0]!
      .image!;

  it('an image: tag is pinned at deploy time; moving the tag later changes nothing until the next deploy', async () => {
    expect((await rack.deploy('pinned', await manifest({ web: httpd() }))).status).toBe('SUCCEEDED');
    const first = await imageOf('pinned');
    expect(first).toMatch(/^httpd@sha256:[0-9a-f]{64}$/);
    const release = (await rack.store.currentRelease('pinned'))!;
    expect(release.images.web).toBe(first);
    // someone pushes new bytes under httpd:2.4
    rack.registry.move('library/httpd:2.4');
    // promoting the release again runs what it ran
    const event = { ...loadEvent('rackless-redeploy-requested'), id: 'pin-1', detail: { app: 'pinned', release: release.id } };
    const [redeploy] = await rack.started(() => rack.sendEvent(event));
    expect((await rack.finish(redeploy!.name)).status).toBe('SUCCEEDED');
    expect(await imageOf('pinned')).toBe(first);
    // a new upload pins what the tag names now
    expect((await rack.deploy('pinned', await manifest({ web: httpd() }), 'b.tar.gz')).status).toBe('SUCCEEDED');
    const second = await imageOf('pinned');
    expect(second).toMatch(/^httpd@sha256:[0-9a-f]{64}$/);
    expect(second).not.toBe(first);
  });

  it('an image whose tag the registry does not have fails in Prepare, nothing created', async () => {
    rack.registry.remove('library/httpd:9.9');
    rack.calls.clear();
    const run = await rack.deploy('typo', await manifest({ web: 'image: httpd:9.9\nport: 80\n' }));
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('MANIFEST_IMAGE');
    expect(run.cause).toContain('image httpd:9.9 cannot be pinned to a digest: registry-1.docker.io answered 404');
    expect(rack.calls.mutating(['ECSClient', 'ElasticLoadBalancingV2Client', 'ECRClient', 'IAMClient'])).toEqual([]);
  });
});

describe('task definition size', () => {
  it('a task definition over ECS’s 64 KiB fails in Prepare with its own code, nothing created', async () => {
    // a command is not environment: within the environment's 32 KiB, over the task definition's 64 KiB
    rack.calls.clear();
    const run = await rack.deploy('bloated', await manifest({ web: httpd(`command: "echo ${'x'.repeat(70_000)}"`) }));
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('TASK_DEFINITION_TOO_LARGE');
    expect(run.cause).toMatch(/services\.web: its task definition would be 7\d,\d{3} bytes, and ECS takes at most 65,536 \(64 KiB\)/);
    expect(rack.calls.mutating(['ECSClient', 'ElasticLoadBalancingV2Client', 'ECRClient', 'IAMClient', 'CloudWatchLogsClient'])).toEqual([]);
  });
});
