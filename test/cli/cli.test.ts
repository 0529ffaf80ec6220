import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUTATING } from '../../local/plugins.js';
import { TEST_RACK, TEST_STAGE, ecsService } from '../support/stage.js';
import { type Harness, startHarness } from './harness.js';

const RACK = TEST_RACK;
let h: Harness;
const dirs: string[] = [];

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A directory to deploy: an httpd Dockerfile and, when given, a rackless.yml. */
async function appDir(manifest?: string, page = 'hello'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rackless-cli-'));
  dirs.push(dir);
  await writeFile(join(dir, 'Dockerfile'), 'FROM httpd:2.4\nCOPY index.html /usr/local/apache2/htdocs/\nEXPOSE 80\n');
  await writeFile(join(dir, 'index.html'), `<h1>${page}</h1>\n`);
  if (manifest) await writeFile(join(dir, 'rackless.yml'), manifest);
  return dir;
}

async function liveTaskDefinition(app: string, service = 'web') {
  const described = await h.rack.aws.ecs.send(new DescribeServicesCommand({ cluster: h.rack.resources.cluster, services: [`${ecsService(app, service)}`] }));
  const arn = described.services![0]!.taskDefinition!;
  return (await h.rack.aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).taskDefinition!;
}

describe('rackless deploy', () => {
  it('follows a deploy to success: steps with durations, the release, rollout lines, endpoints; exit 0', async () => {
    const dir = await appDir();
    const result = await h.cli(['deploy', dir, '--app', 'shop']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Packing source\.\.\. OK \(2 files, \d+ B\)/);
    expect(result.stdout).toMatch(/Preparing \(tarball, manifest\)\.\.\. OK \(\d+(\.\d)?m?s\)/);
    expect(result.stdout).toMatch(/Release: (R[0-9A-Z]+) \(#1\)/);
    // the deadline Prepare derived from the implied manifest: 2 × (60 s start + 40 s to healthy + 20 s to drain)
    expect(result.stdout).toMatch(/Rolling out \(deadline 4m00s\)\.\.\. OK/);
    expect(result.stdout).toMatch(/web +desired 1 +running 1 +failed 0 +COMPLETED/);
    expect(result.stdout).toContain(`Endpoints:\n  web          http://web.shop.${RACK}.internal`);
    const release = await h.store.currentRelease('shop');
    expect(result.stdout).toContain(`Release ${release!.id} (#1) of shop is live`);
  });

  it('fails a crash-looping release with a non-zero exit and the notification’s own words', async () => {
    await h.rack.notifications();
    h.rack.simulator.next('shop', { outcome: 'crash-loop', crashes: 3, exitCode: 3, logLines: ['boot: DATABASE_URL is not set'] });
    const result = await h.cli(['deploy', await appDir(undefined, 'broken'), '--app', 'shop']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Rolling out \(deadline 4m00s\)\.\.\. FAILED/);
    expect(result.stdout).toMatch(/Rolling back\.\.\. OK/);
    const sns = (await h.rack.notifications()).filter((n) => n.attributes.kind === 'deploy').at(-1)!;
    expect(sns.attributes.status).toBe('rolled-back');
    // every line the SNS message has, the CLI printed (timings aside: the CLI printed its own per step)
    for (const line of sns.message.split('\n').filter((l) => l && !l.startsWith('Timings:'))) expect(result.stdout).toContain(line);
    expect(result.stdout).toContain('Exit code: 3');
    expect(result.stdout).toContain('boot: DATABASE_URL is not set');
  });

  it('shows a dry run against what runs now and changes nothing', async () => {
    const dir = await appDir('services:\n  web:\n    build: .\n    port: 80\n    scale: {count: 3, cpu: 512}\n    environment: [MODE=dry]\n    termination: {grace: 20}\n');
    const before = h.bridge.requests.length;
    const result = await h.cli(['deploy', dir, '--app', 'shop', '--dry-run']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // what the CLI asked the rack for, as the rack's front saw it
    const requests = h.bridge.requests.slice(before);
    expect(requests.filter((r) => MUTATING.test(r.operation) || r.operation.startsWith('S3P'))).toEqual([]);
    expect(requests.filter((r) => r.operation === 'DescribeTaskDefinition').length).toBeGreaterThan(0);
    expect(result.stdout).toContain(`task definition ${ecsService('shop', 'web')}:1 → ${ecsService('shop', 'web')}:3`);
    expect(result.stdout).toContain('~ cpu: 256 → 512');
    expect(result.stdout).toContain('+ env MODE: dry');
    expect(result.stdout).toContain('~ stop timeout: 10 s → 20 s');
    expect(result.stdout).toContain('~ desired count: 1 → 3');
    expect((await h.store.listReleases('shop')).length).toBe(2);
  });
});

describe('read commands', () => {
  it('print JSON that parses for apps, releases and ps', async () => {
    const apps = await h.cli(['apps', '--json']);
    expect(apps.code).toBe(0);
    expect(JSON.parse(apps.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ app: 'shop', status: 'running', releaseNumber: 1 })]));
    const releases = await h.cli(['releases', '--app', 'shop', '--json']);
    expect(JSON.parse(releases.stdout).map((r: { number: number; status: string; current: boolean }) => [r.number, r.status, r.current])).toEqual([
      [2, 'failed', false],
      [1, 'active', true],
    ]);
    const ps = await h.cli(['ps', '--app', 'shop', '--json']);
    expect(ps.code).toBe(0);
    expect(Array.isArray(JSON.parse(ps.stdout))).toBe(true);
  });

  it('resolves --rack by stage name through the rackless-<stage> stack', async () => {
    const io = await h.cli(['apps', 'info', 'shop', '--json', '--rack', TEST_STAGE]);
    expect(io.code).toBe(0);
    expect(JSON.parse(io.stdout)).toMatchObject({ app: 'shop', release: { number: 1 }, services: [{ service: 'web', desired: 1 }] });
  });

  it('reads the app’s CloudWatch Logs', async () => {
    const text = await h.cli(['logs', '--app', 'shop', 'web', '--since', '1h']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Z web\/[0-9a-f]{12} boot: DATABASE_URL is not set/);
    const lines = (await h.cli(['logs', '--app', 'shop', '--json'])).stdout.trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).message)).toContain('boot: DATABASE_URL is not set');
  });

  it('says what went wrong in one line and a hint, without a stack trace', async () => {
    const result = await h.cli(['apps', '--rack', 'nope']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: no rack nope in us-east-1: no stack named nope or rackless-nope\nhint: is \`rackless local up\` running, and is this its --endpoint-url?\n`);
  });
});

describe('releases rollback', () => {
  it('returns the service to the previous release’s task definition', async () => {
    const one = await h.cli(['deploy', await appDir(undefined, 'one'), '--app', 'blog']);
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    expect((await h.cli(['deploy', await appDir(undefined, 'two'), '--app', 'blog'])).code).toBe(0);
    const [second, first] = await h.store.listReleases('blog');
    expect((await liveTaskDefinition('blog')).revision).toBe(2);
    const result = await h.cli(['releases', 'rollback', '--app', 'blog']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Rolling back blog to ${first!.id} (#1)`);
    expect((await liveTaskDefinition('blog')).revision).toBe(1);
    const current = await h.store.currentRelease('blog');
    expect(current).toMatchObject({ number: 3, basedOn: first!.id, trigger: 'redeploy', previousReleaseId: second!.id });
  });
});

describe('rackless env', () => {
  it('sets config before the first deploy, releases again on change, and keeps secrets in SSM as valueFrom', async () => {
    const parameter = `/rackless/${RACK}/cfg/DB_PASSWORD`;
    expect((await h.cli(['env', 'set', 'GREETING=hello', '--app', 'cfg'])).code).toBe(0);
    const manifest = `services:\n  web:\n    build: .\n    port: 80\n    environment: [GREETING]\n    secrets: {DB_PASSWORD: ${parameter}}\n`;
    expect((await h.cli(['deploy', await appDir(manifest), '--app', 'cfg'])).code).toBe(0);
    const env = (td: Awaited<ReturnType<typeof liveTaskDefinition>>) => Object.fromEntries((td.containerDefinitions![0]!.environment ?? []).map((e) => [e.name, e.value]));
    expect(env(await liveTaskDefinition('cfg')).GREETING).toBe('hello');

    const changed = await h.cli(['env', 'set', 'GREETING=bye', '--app', 'cfg']);
    expect(changed.code).toBe(0);
    const afterChange = await liveTaskDefinition('cfg');
    expect([afterChange.revision, env(afterChange).GREETING]).toEqual([2, 'bye']);
    expect(await h.store.currentRelease('cfg')).toMatchObject({ number: 2, trigger: 'config' });

    const secret = await h.cli(['env', 'set', 'DB_PASSWORD=hunter2', '--secret', '--app', 'cfg']);
    expect(secret.code).toBe(0);
    expect(secret.stderr).toBe('');
    const withSecret = await liveTaskDefinition('cfg');
    expect(withSecret.revision).toBe(3);
    expect(withSecret.containerDefinitions![0]!.secrets).toEqual([{ name: 'DB_PASSWORD', valueFrom: `arn:aws:ssm:us-east-1:123456789012:parameter${parameter}` }]);
    expect(JSON.stringify(withSecret)).not.toContain('hunter2');
    const stored = await h.rack.aws.ssm.send(new GetParameterCommand({ Name: parameter, WithDecryption: true }));
    expect([stored.Parameter?.Type, stored.Parameter?.Value]).toEqual(['SecureString', 'hunter2']);
    const listed = JSON.parse((await h.cli(['env', '--app', 'cfg', '--json'])).stdout);
    expect(listed).toEqual([
      { key: 'DB_PASSWORD', secret: true, parameter },
      { key: 'GREETING', secret: false, value: 'bye' },
    ]);
  });

  it('gives a secret to the tasks of a service that lists it as a bare environment name', async () => {
    expect((await h.cli(['deploy', await appDir('services:\n  web:\n    build: .\n    environment: [API_TOKEN]\n'), '--app', 'tok'])).code).toBe(1);
    // no release yet (the first deploy lacked API_TOKEN): set it, then deploy
    expect((await h.cli(['env', 'set', 'API_TOKEN=s3cr3t', '--secret', '--app', 'tok'])).code).toBe(0);
    expect((await h.cli(['deploy', await appDir('services:\n  web:\n    build: .\n    environment: [API_TOKEN]\n'), '--app', 'tok'])).code).toBe(0);
    const td = await liveTaskDefinition('tok');
    expect(td.containerDefinitions![0]!.secrets).toEqual([{ name: 'API_TOKEN', valueFrom: `arn:aws:ssm:us-east-1:123456789012:parameter/rackless/${RACK}/tok/API_TOKEN` }]);
    expect(JSON.stringify(td)).not.toContain('s3cr3t');
  });

  it('refuses to unset a variable the manifest needs: the release fails before any ECS change', async () => {
    const result = await h.cli(['env', 'unset', 'GREETING', '--app', 'cfg']);
    // the manifest still names GREETING: the release fails before any ECS change, with the reason
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('ENV_MISSING');
    expect((await liveTaskDefinition('cfg')).revision).toBe(3);
  });
});

describe('rackless run', () => {
  it('starts a one-off task with the service’s task definition and passes its exit code through', async () => {
    const result = await h.cli(['run', '--app', 'shop', 'web', '--', 'echo', 'hi']);
    expect(result.stderr).toContain('Running echo hi on web');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('would run: echo hi');
    const arns = (await h.rack.aws.ecs.send(new ListTasksCommand({ cluster: h.rack.resources.cluster, startedBy: 'rackless-run', desiredStatus: 'STOPPED' }))).taskArns ?? [];
    const tasks = (await h.rack.aws.ecs.send(new DescribeTasksCommand({ cluster: h.rack.resources.cluster, tasks: arns }))).tasks ?? [];
    expect(tasks.map((t) => [t.taskDefinitionArn?.split('/').pop(), t.overrides?.containerOverrides?.[0]?.command])).toEqual([[`${ecsService('shop', 'web')}:1`, ['echo', 'hi']]]);
  });
});

describe('a scale-in through the rack’s front', () => {
  it('drains the instance before Auto Scaling lets it go, as on AWS', async () => {
    const { AutoScalingClient, DescribeAutoScalingGroupsCommand, TerminateInstanceInAutoScalingGroupCommand } = await import('@aws-sdk/client-auto-scaling');
    // what `aws autoscaling terminate-instance-in-auto-scaling-group --endpoint-url <front>` sends
    const asg = new AutoScalingClient({ endpoint: h.bridge.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const group = (await h.rack.aws.asg.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups![0]!;
    const instance = group.Instances![0]!.InstanceId!;
    const answer = await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instance, ShouldDecrementDesiredCapacity: true }));
    expect(answer.Activity?.StatusCode).toBe('MidLifecycleAction');
    await h.rack.settled();
    const drain = h.rack.stepFunctions.all.find((e) => e.stateMachineArn === h.rack.resources.drainStateMachineArn);
    expect(drain).toBeDefined();
    expect((await h.rack.finish(drain!.name)).status).toBe('SUCCEEDED');
    expect(h.rack.autoscaling.completed.map((c) => [c.instanceId, c.result])).toEqual([[instance, 'CONTINUE']]);
    const after = (await h.rack.aws.asg.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups![0]!;
    expect(after.Instances!.map((i) => i.InstanceId)).not.toContain(instance);
  });
});
