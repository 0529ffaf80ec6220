import { LOCAL_ACCOUNT } from '../../local/rack.js';
import { DescribeImagesCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, DescribeTargetGroupAttributesCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { localRack } from '../support/local-rack.js';
import { TEST_RACK, ecsService } from '../support/stage.js';
import { buildTarball } from '../support/tarballs.js';

const TWO_SERVICES = `
services:
  web:
    build: .
    port: 3000
    domain: shop.example.com
    health: /healthz
    scale: {count: 2}
  worker:
    build: .
    command: node worker.js
`;

let rack: LocalRack;

beforeAll(async () => {
  rack = await localRack({ https: true });
});

const app = (manifest: string) =>
  buildTarball([
    { name: 'Dockerfile', body: 'FROM node:20-alpine\nCOPY . /app\nEXPOSE 3000\nCMD ["node", "/app/server.js"]\n' },
    { name: 'rackless.yml', body: manifest },
    { name: 'server.js', body: 'require("http").createServer((q, s) => s.end("ok")).listen(3000)\n' },
  ]);

describe('deploy pipeline', () => {
  it('deploys a two-service app: task definitions, services, target group, host rule, release, notification', async () => {
    const run = await rack.deploy('shop', await app(TWO_SERVICES));
    expect(run.cause ?? '').toBe('');
    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered).toEqual(['Queue', 'Prepare', 'Needs build?', 'Build', 'Release', 'Promote', 'Watch', 'Retire', 'Notify', 'Hand over', 'Outcome', 'Deployed']);

    const { ecs, elb } = rack.aws;
    const services = await ecs.send(
      new DescribeServicesCommand({ cluster: rack.resources.cluster, services: [`${ecsService('shop', 'web')}`, `${ecsService('shop', 'worker')}`] }),
    );
    expect(services.services?.map((s) => [s.serviceName, s.desiredCount, s.taskDefinition?.split('/').pop()])).toEqual([
      [`${ecsService('shop', 'web')}`, 2, `${ecsService('shop', 'web')}:1`],
      [`${ecsService('shop', 'worker')}`, 1, `${ecsService('shop', 'worker')}:1`],
    ]);
    const web = services.services![0]!;
    // moto does not keep deploymentConfiguration or placement: read them from the request
    const createWeb = rack.calls.named('CreateService').find((c) => c.input.serviceName === `${ecsService('shop', 'web')}`)!.input;
    expect(createWeb.deploymentConfiguration).toEqual({ minimumHealthyPercent: 50, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: false } });
    expect(createWeb.placementStrategy).toEqual([
      { type: 'spread', field: 'attribute:ecs.availability-zone' },
      { type: 'spread', field: 'instanceId' },
    ]);
    expect(createWeb.healthCheckGracePeriodSeconds).toBe(30);
    expect(web.loadBalancers?.[0]).toMatchObject({ containerName: 'web', containerPort: 3000 });

    const td = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: `${ecsService('shop', 'worker')}:1` }));
    expect(td.taskDefinition?.containerDefinitions?.[0]?.command).toEqual(['sh', '-c', 'node worker.js']);
    expect(td.taskDefinition?.containerDefinitions?.[0]?.stopTimeout).toBe(10);
    // Watch's deadline follows the slowest service's rollout (web: 2 tasks behind the ALB; the worker's is 220 s)
    expect(run.output.watch).toEqual({
      deadlineSeconds: 240,
      deadline: 'web: 2 × 1 batch × (60 s start + 40 s to healthy [grace 30 + interval 5 × healthy 2] + 20 s to drain [deregistrationDelay 10 + stop timeout 10]) = 240 s',
      failFastStops: 3,
    });
    // pinned by the digest the build pushed under its (immutable) tag
    const pushed = await rack.aws.ecr.send(new DescribeImagesCommand({ repositoryName: `${TEST_RACK}/shop` }));
    const worker = pushed.imageDetails!.find((image) => image.imageTags?.some((tag) => tag.startsWith('worker-shop-')))!;
    expect(td.taskDefinition?.containerDefinitions?.[0]?.image).toBe(`${LOCAL_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/${TEST_RACK}/shop@${worker.imageDigest}`);
    const repository = await rack.aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [`${TEST_RACK}/shop`] }));
    expect(repository.repositories?.[0]?.imageTagMutability).toBe('IMMUTABLE');

    const tgs = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [web.loadBalancers![0]!.targetGroupArn!] }));
    expect(tgs.TargetGroups?.[0]).toMatchObject({ HealthCheckPath: '/healthz', Matcher: { HttpCode: '200-399' } });
    const attributes = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tgs.TargetGroups![0]!.TargetGroupArn }));
    // the rack's default (serverless.yml deregistrationDelay), not AWS's 300 s
    expect(attributes.Attributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value).toBe('10');
    const rules = await elb.send(new DescribeRulesCommand({ ListenerArn: rack.resources.listenerArn }));
    const hostRule = rules.Rules?.find((r) => !r.IsDefault);
    expect(hostRule?.Conditions?.[0]?.HostHeaderConfig?.Values ?? hostRule?.Conditions?.[0]?.Values).toEqual(['shop.example.com']);
    // a rack with a certificate routes the same hosts on its HTTPS listener
    const httpsRules = await elb.send(new DescribeRulesCommand({ ListenerArn: rack.resources.httpsListenerArn }));
    expect(httpsRules.Rules?.filter((r) => !r.IsDefault).map((r) => r.Actions?.[0]?.TargetGroupArn)).toEqual([tgs.TargetGroups![0]!.TargetGroupArn]);

    const notes = await rack.notifications();
    expect(notes).toHaveLength(1);
    expect(notes[0]!.attributes).toMatchObject({ kind: 'deploy', app: 'shop', status: 'succeeded' });
    expect(notes[0]!.message).toContain('shop.example.com');
  });

  it('ends the rollout on the COMPLETED event through the packaged rule, long before the deadline', async () => {
    const jumps = rack.scheduler.jumps.length;
    const run = await rack.deploy('quick', await buildTarball([{ name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' }]));
    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered).not.toContain('Verify');
    // the events reached task-events through the template's ecs-events rule, delivered by moto's EventBridge
    const delivered = rack.events.delivered.filter(([rule, e]) => rule === `${TEST_RACK}-ecs-events` && e['detail-type'] === 'ECS Deployment State Change');
    expect(delivered.map(([, e]) => e.detail.eventName)).toContain('SERVICE_DEPLOYMENT_COMPLETED');
    expect((await rack.store.getWatch(run.execution))?.verdict).toMatchObject({ status: 'completed' });
    // the clock moved only for the simulated task starts (2 s each), never to the 240 s deadline
    expect(rack.scheduler.jumps.slice(jumps).every((ms) => ms <= 2_000)).toBe(true);
  });
});
