import { describe, expect, it } from 'vitest';
import { ManifestInvalid } from '../../../shared/errors.js';
import { parseManifest } from '../../../shared/manifest/parse.js';
import type { ServiceSpec } from '../../../shared/manifest/types.js';
import { secretValueFrom, taskDefinitionFamily, taskDefinitionInput, type TaskDefinitionArgs } from '../../../shared/taskdef/task-definition.js';

const MANIFEST = `
environment: [NODE_ENV=production, DATABASE_URL]
services:
  web:
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:r7
    command: npm start
    port: 3000
    scale: {count: 2, cpu: 512, memory: 1024}
    environment: [ZETA=last, ALPHA=first, EQUATION=a=b]
    secrets:
      DB_PASSWORD: /rackless/prod/shop/db-password
      API_TOKEN: token
      STRIPE_KEY: arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe-AbCdEf
    health: {interval: 10, timeout: 5, grace: 600, unhealthy: 3, command: "curl -f http://localhost:3000/ || exit 1"}
  worker:
    image: busybox:1.36
`;

function services(): { web: ServiceSpec; worker: ServiceSpec } {
  const [web, worker] = parseManifest(MANIFEST, {
    app: 'shop',
    owner: { rack: 'prod', ecrPrefix: 'prod', secretsManager: true },
    rackDomain: 'rack.example.com',
    files: {},
    paths: [],
  }).services;
  return { web: web!, worker: worker! };
}

const args = (service: ServiceSpec, overrides: Partial<TaskDefinitionArgs> = {}): TaskDefinitionArgs => ({
  rack: 'prod',
  app: 'shop',
  service,
  image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:r7',
  releaseId: 'R0007',
  region: 'us-east-1',
  accountId: '123456789012',
  logGroup: '/rackless/prod/shop',
  executionRoleArn: 'arn:aws:iam::123456789012:role/prod-execution',
  taskRoleArn: 'arn:aws:iam::123456789012:role/prod-task',
  appConfig: { DATABASE_URL: 'postgres://db.internal/shop' },
  ...overrides,
});

describe('taskDefinitionFamily', () => {
  it('joins rack, app and service with --', () => {
    expect(taskDefinitionFamily('prod', 'shop', 'web')).toBe('prod--shop--web');
  });

  it.each([
    ['a dot in the rack', 'prod.eu', 'shop', 'web', /^TASK_FAMILY_INVALID: /],
    ['more than 255 characters', 'r'.repeat(250), 'shop', 'web', /^TASK_FAMILY_INVALID: /],
    ['a slash in the app', 'prod', 'shop/x', 'web', /^NAME_INVALID: app name "shop\/x"/],
    ['an app holding the separator', 'prod', 'shop--x', 'web', /^NAME_INVALID: app name "shop--x"/],
  ])('refuses a family with %s', (_, rack, app, service, message) => {
    expect(() => taskDefinitionFamily(rack, app, service)).toThrow(ManifestInvalid);
    expect(() => taskDefinitionFamily(rack, app, service)).toThrow(message);
  });
});

describe('secretValueFrom', () => {
  it.each([
    ['/rackless/shop/db', 'us-east-1', 'arn:aws:ssm:us-east-1:123456789012:parameter/rackless/shop/db'],
    ['token', 'us-east-1', 'arn:aws:ssm:us-east-1:123456789012:parameter/token'],
    ['/x', 'cn-north-1', 'arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x'],
    ['/x', 'us-gov-west-1', 'arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/x'],
    ['arn:aws:ssm:eu-west-1:210987654321:parameter/shared/key', 'us-east-1', 'arn:aws:ssm:eu-west-1:210987654321:parameter/shared/key'],
  ])('turns %s in %s into its ARN', (reference, region, arn) => {
    expect(secretValueFrom(reference, region, '123456789012')).toBe(arn);
  });
});

describe('taskDefinitionInput', () => {
  it('describes an EC2 task in bridge mode with task-level cpu and memory', () => {
    const input = taskDefinitionInput(args(services().web));

    expect(input).toMatchObject({
      family: 'prod--shop--web',
      networkMode: 'bridge',
      requiresCompatibilities: ['EC2'],
      cpu: '512',
      memory: '1024',
      executionRoleArn: 'arn:aws:iam::123456789012:role/prod-execution',
      taskRoleArn: 'arn:aws:iam::123456789012:role/prod-task',
    });
    expect(input.tags).toEqual([
      { key: 'rackless:rack', value: 'prod' },
      { key: 'rackless:app', value: 'shop' },
      { key: 'rackless:service', value: 'web' },
      { key: 'rackless:release', value: 'R0007' },
    ]);
  });

  it('runs one essential container named after the service on a dynamic host port', () => {
    const [container, ...others] = taskDefinitionInput(args(services().web)).containerDefinitions!;

    expect(others).toEqual([]);
    expect(container).toMatchObject({
      name: 'web',
      image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:r7',
      essential: true,
      command: ['sh', '-c', 'npm start'],
      memoryReservation: 1024,
      portMappings: [{ containerPort: 3000, hostPort: 0, protocol: 'tcp' }],
      logConfiguration: {
        logDriver: 'awslogs',
        options: { 'awslogs-group': '/rackless/prod/shop', 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'web' },
      },
    });
  });

  it.each([
    ['the default termination grace', {}, 10],
    ['the manifest termination grace', { stopTimeout: 45 }, 45],
  ] as const)('gives the container %s as its stopTimeout', (_, change, stopTimeout) => {
    const [container] = taskDefinitionInput(args({ ...services().web, ...change })).containerDefinitions!;

    expect(container?.stopTimeout).toBe(stopTimeout);
  });

  it('leaves stopTimeout to ECS for a release recorded before the manifest had termination.grace', () => {
    const { stopTimeout: _, ...recorded } = services().web;

    const [container] = taskDefinitionInput(args(recorded as ServiceSpec)).containerDefinitions!;

    expect(container).not.toHaveProperty('stopTimeout');
  });

  it('sorts the environment, fills bare names from app config and adds the rack names', () => {
    const [container] = taskDefinitionInput(args(services().web)).containerDefinitions!;

    expect(container?.environment).toEqual([
      { name: 'ALPHA', value: 'first' },
      { name: 'DATABASE_URL', value: 'postgres://db.internal/shop' },
      { name: 'EQUATION', value: 'a=b' },
      { name: 'NODE_ENV', value: 'production' },
      { name: 'PORT', value: '3000' },
      { name: 'RACKLESS_APP', value: 'shop' },
      { name: 'RACKLESS_RELEASE', value: 'R0007' },
      { name: 'RACKLESS_SERVICE', value: 'web' },
      { name: 'ZETA', value: 'last' },
    ]);
  });

  it('keeps an explicit PORT', () => {
    const web = { ...services().web, environment: ['PORT=8080'] };

    const [container] = taskDefinitionInput(args(web)).containerDefinitions!;

    expect(container?.environment).toContainEqual({ name: 'PORT', value: '8080' });
    expect(container?.environment?.filter((e) => e.name === 'PORT')).toHaveLength(1);
  });

  it('turns secrets into sorted SSM ARNs without a double slash and passes ARNs through', () => {
    const [container] = taskDefinitionInput(args(services().web)).containerDefinitions!;

    expect(container?.secrets).toEqual([
      { name: 'API_TOKEN', valueFrom: 'arn:aws:ssm:us-east-1:123456789012:parameter/rackless/prod/shop/token' },
      { name: 'DB_PASSWORD', valueFrom: 'arn:aws:ssm:us-east-1:123456789012:parameter/rackless/prod/shop/db-password' },
      { name: 'STRIPE_KEY', valueFrom: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe-AbCdEf' },
    ]);
  });

  it('adds a container health check from health.command, start period capped at 300 s', () => {
    const [container] = taskDefinitionInput(args(services().web)).containerDefinitions!;

    expect(container?.healthCheck).toEqual({
      command: ['CMD-SHELL', 'curl -f http://localhost:3000/ || exit 1'],
      interval: 10,
      timeout: 5,
      retries: 3,
      startPeriod: 300,
    });
  });

  it('leaves out ports, command, secrets, health check and task role when a worker has none', () => {
    const input = taskDefinitionInput(args(services().worker, { image: 'busybox:1.36', taskRoleArn: undefined }));
    const [container] = input.containerDefinitions!;

    expect(input.family).toBe('prod--shop--worker');
    expect(input).not.toHaveProperty('taskRoleArn');
    expect(container).not.toHaveProperty('portMappings');
    expect(container).not.toHaveProperty('command');
    expect(container).not.toHaveProperty('secrets');
    expect(container).not.toHaveProperty('healthCheck');
    expect(container?.environment?.map((e) => e.name)).toEqual(['DATABASE_URL', 'NODE_ENV', 'RACKLESS_APP', 'RACKLESS_RELEASE', 'RACKLESS_SERVICE']);
  });

  it('fails with ENV_MISSING naming each bare name the app config lacks', () => {
    const web = { ...services().web, environment: ['DATABASE_URL', 'REDIS_URL', 'SENTRY_DSN', 'A=1'] };

    const run = () => taskDefinitionInput(args(web, { appConfig: { DATABASE_URL: 'x' } }));

    expect(run).toThrow(ManifestInvalid);
    expect(run).toThrow('ENV_MISSING: services.web.environment: REDIS_URL, SENTRY_DSN have no value in the config of app shop');
  });

  it('is deterministic: the same arguments give the same JSON whatever the input order', () => {
    const web = services().web;
    const shuffled = {
      ...web,
      environment: [...web.environment].reverse(),
      secrets: Object.fromEntries(Object.entries(web.secrets).reverse()),
    };

    const first = JSON.stringify(taskDefinitionInput(args(web)));
    const second = JSON.stringify(taskDefinitionInput(args(shuffled)));

    expect(second).toBe(first);
  });

  it('does not share arrays with the manifest it was built from', () => {
    const web = services().web;

    const [container] = taskDefinitionInput(args(web)).containerDefinitions!;
    container?.command?.push('--mutated');

    expect(web.command).toEqual(['sh', '-c', 'npm start']);
  });
});

describe('taskDefinitionInput: app-level secrets', () => {
  it('turns a bare name whose config value is an SSM reference into valueFrom, never plaintext', () => {
    const manifest = parseManifest('environment: [DB_PASSWORD, MODE]\nservices:\n  web:\n    image: httpd:2.4\n', {
      app: 'shop',
      owner: { rack: 'prod', ecrPrefix: 'prod' },
      rackDomain: 'r.example.com',
      files: {},
      paths: [],
    });
    const input = taskDefinitionInput({
      rack: 'r',
      app: 'shop',
      service: manifest.services[0]!,
      image: 'httpd:2.4',
      releaseId: 'R1',
      region: 'us-east-1',
      accountId: '123456789012',
      logGroup: '/rackless/r/shop',
      executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
      appConfig: { DB_PASSWORD: '{{resolve:ssm-secure:/rackless/r/shop/DB_PASSWORD}}', MODE: 'prod' },
    });
    const container = input.containerDefinitions![0]!;
    expect(container.secrets).toEqual([{ name: 'DB_PASSWORD', valueFrom: 'arn:aws:ssm:us-east-1:123456789012:parameter/rackless/r/shop/DB_PASSWORD' }]);
    expect(container.environment?.map((e) => e.name)).not.toContain('DB_PASSWORD');
    expect(JSON.stringify(input)).not.toContain('resolve:ssm-secure');
  });
});
