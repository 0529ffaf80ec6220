import { describe, expect, it } from 'vitest';
import { isAppItem } from '../../shared/aws/dynamo-store.js';
import {
  appsNamed,
  batches,
  deleteFailures,
  foreignAt,
  inventoryLines,
  retainedAdvice,
  retainedResources,
  scheduleChanges,
  serviceUnits,
  targetApp,
} from '../../shared/uninstall/plan.js';

const RACK = 'rackless-prod';
const FN = 'arn:aws:lambda:eu-west-1:123456789012:function:rackless-prod-redeploy';

describe('serviceUnits', () => {
  it('joins ECS services, tagged target groups, alarms and declared services into one unit per service', () => {
    const units = serviceUnits({
      rack: RACK,
      app: 'shop',
      ecs: [
        { serviceName: `${RACK}--shop--web`, status: 'ACTIVE', deploymentIds: ['ecs-svc/1'] },
        { serviceName: `${RACK}--shop--worker`, status: 'DRAINING', deploymentIds: [] },
        // another app's, and another rack's: never the app's
        { serviceName: `${RACK}--shop-two--web`, status: 'ACTIVE', deploymentIds: ['ecs-svc/9'] },
        { serviceName: `rackless-dev--shop--web`, status: 'ACTIVE', deploymentIds: ['ecs-svc/8'] },
      ],
      targetGroups: [{ arn: 'arn:tg/web', service: 'web' }],
      alarms: [`${RACK}--shop--web--cpu`, `${RACK}--shop--old--5xx`, `${RACK}--shop-two--web--cpu`],
      declared: ['web', 'cron'],
    });
    expect(units).toEqual([
      { service: 'cron', serviceName: `${RACK}--shop--cron`, alarmNames: [], deploymentIds: [] },
      { service: 'old', serviceName: `${RACK}--shop--old`, alarmNames: [`${RACK}--shop--old--5xx`], deploymentIds: [] },
      { service: 'web', serviceName: `${RACK}--shop--web`, status: 'ACTIVE', targetGroupArn: 'arn:tg/web', alarmNames: [`${RACK}--shop--web--cpu`], deploymentIds: ['ecs-svc/1'] },
      { service: 'worker', serviceName: `${RACK}--shop--worker`, status: 'DRAINING', alarmNames: [], deploymentIds: [] },
    ]);
  });
});

describe('targetApp', () => {
  it.each([
    ['{"app":"shop","rebuild":true}', 'shop'],
    ['{"app":"shop"}', 'shop'],
    ['{"app":7}', undefined],
    ['["shop"]', undefined],
    ['not json', undefined],
    [undefined, undefined],
  ])('%s → %s', (input, app) => {
    expect(targetApp(input)).toBe(app);
  });
});

describe('scheduleChanges', () => {
  const rules = [
    { rule: 'shop-nightly', targets: [{ id: 'a', arn: FN, input: '{"app":"shop","rebuild":true}' }] },
    {
      rule: 'weekly',
      targets: [
        { id: 'shop', arn: `${FN}:live`, input: '{"app":"shop"}' },
        { id: 'blog', arn: FN, input: '{"app":"blog"}' },
      ],
    },
    // the same input on another function is not a redeploy schedule
    { rule: 'other', targets: [{ id: 'x', arn: `${FN}-other`, input: '{"app":"shop"}' }] },
    { rule: 'blog-only', targets: [{ id: 'b', arn: FN, input: '{"app":"blog"}' }] },
    { rule: 'in-stack', targets: [{ id: 's', arn: FN, input: '{"app":"shop"}' }] },
  ];

  it('removes the app’s targets, the rule only when nothing else is on it, and leaves the stack’s rules', () => {
    expect(scheduleChanges(rules, FN, 'shop', new Set(['in-stack']))).toEqual({
      changes: [
        { rule: 'shop-nightly', targetIds: ['a'], deleteRule: true },
        { rule: 'weekly', targetIds: ['shop'], deleteRule: false },
      ],
      stackSchedules: ['in-stack'],
    });
  });

  it('finds nothing for an app no rule names', () => {
    expect(scheduleChanges(rules, FN, 'cart', new Set())).toEqual({ changes: [], stackSchedules: [] });
  });
});

describe('appsNamed', () => {
  it('finds apps by every kind of name the rack gives them, and only the rack’s', () => {
    expect(
      appsNamed({
        rack: RACK,
        recorded: ['shop'],
        services: [`${RACK}--blog--web`, `rackless-dev--other--web`, 'unrelated'],
        repositories: [`${RACK}/cart`, `${RACK}-x/nope`, 'elsewhere/app'],
        ecrPrefix: RACK,
        logGroups: [`/rackless/${RACK}/logs-only`, `/rackless/${RACK}-2/no`],
        logGroupPrefix: `/rackless/${RACK}`,
        parameterPaths: [`/rackless/${RACK}/vault/DB_PASSWORD`, '/rackless/other/x/Y'],
        roles: [
          { name: `${RACK}--roles--task`, tags: { 'rackless:rack': RACK, 'rackless:app': 'roles' } },
          { name: 'foreign', tags: { 'rackless:rack': 'rackless-dev', 'rackless:app': 'spy' } },
        ],
        tagged: [{ 'rackless:rack': RACK, 'rackless:app': 'tg' }, { 'rackless:rack': RACK }],
      }),
    ).toEqual(['blog', 'cart', 'logs-only', 'roles', 'shop', 'tg', 'vault']);
  });
});

describe('foreignAt', () => {
  it.each([
    [{}, undefined],
    [{ 'rackless:rack': RACK, 'rackless:app': 'shop' }, undefined],
    [{ 'rackless:rack': RACK, 'rackless:app': 'blog' }, 'it belongs to app blog'],
    [{ 'rackless:rack': 'rackless-dev', 'rackless:app': 'shop' }, 'it belongs to rack rackless-dev'],
  ])('%o → %s', (tags, reason) => {
    expect(foreignAt('log group', 'g', tags, RACK, 'shop')?.reason).toBe(reason);
  });
});

describe('batches', () => {
  it.each([
    [0, 1000, []],
    [1000, 1000, [1000]],
    [2501, 1000, [1000, 1000, 501]],
    [11, 10, [10, 1]],
  ])('%i items by %i → %o', (count, size, sizes) => {
    expect(
      batches(
        Array.from({ length: count }, (_, i) => i),
        size,
      ).map((b) => b.length),
    ).toEqual(sizes);
  });
});

describe('deleteFailures', () => {
  it('names each resource that failed once, newest reason first, nothing for other statuses', () => {
    expect(
      deleteFailures([
        { logicalId: 'Cluster', type: 'AWS::ECS::Cluster', status: 'DELETE_FAILED', reason: 'The Cluster cannot be deleted while Container Instances are active or draining.' },
        { logicalId: 'Cluster', type: 'AWS::ECS::Cluster', status: 'DELETE_FAILED', reason: 'older' },
        { logicalId: 'Bucket', type: 'AWS::S3::Bucket', status: 'DELETE_COMPLETE' },
        { logicalId: 'Vpc', type: 'AWS::EC2::VPC', status: 'DELETE_FAILED' },
      ]),
    ).toEqual([
      { logicalId: 'Cluster', type: 'AWS::ECS::Cluster', reason: 'The Cluster cannot be deleted while Container Instances are active or draining.' },
      { logicalId: 'Vpc', type: 'AWS::EC2::VPC', reason: 'no reason given' },
    ]);
  });
});

describe('retainedResources', () => {
  it('lists Retain and RetainExceptOnCreate, not Delete or Snapshot', () => {
    expect(
      retainedResources({
        Resources: {
          Table: { Type: 'AWS::DynamoDB::Table', DeletionPolicy: 'Retain' },
          Logs: { Type: 'AWS::Logs::LogGroup', DeletionPolicy: 'RetainExceptOnCreate' },
          Bucket: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Delete' },
          Volume: { Type: 'AWS::EC2::Volume', DeletionPolicy: 'Snapshot' },
          Topic: { Type: 'AWS::SNS::Topic' },
        },
      }),
    ).toEqual([
      { logicalId: 'Logs', type: 'AWS::Logs::LogGroup' },
      { logicalId: 'Table', type: 'AWS::DynamoDB::Table' },
    ]);
  });
});

describe('isAppItem', () => {
  const scope = {
    servicePrefix: `${RACK}--shop--`,
    deploymentIds: new Set(['ecs-svc/1']),
    taskDefinitionArns: new Set(['arn:aws:ecs:eu-west-1:1:task-definition/legacy:3']),
    watches: new Set(['WATCH#exec-1']),
  };
  it.each([
    [{ pk: 'APP#shop', sk: 'RELEASE#R1' }, true],
    [{ pk: 'APP#shop-two', sk: 'APP' }, false],
    [{ pk: 'WATCH#exec-1', sk: 'WATCH', app: 'shop' }, true],
    [{ pk: 'WATCH#exec-1', sk: 'DEPLOYMENTS' }, true],
    [{ pk: 'WATCH#exec-2', sk: 'WATCH', app: 'blog' }, false],
    [{ pk: 'DEPLOYMENT#ecs-svc/7', sk: 'WATCH', execution: 'exec-1' }, true],
    [{ pk: 'TASKDEF#arn:aws:ecs:eu-west-1:1:task-definition/old:1', sk: 'WATCH', execution: 'exec-1' }, true],
    [{ pk: 'DEPLOYMENT#ecs-svc/8', sk: 'WATCH', execution: 'exec-2' }, false],
    [{ pk: `ALARM#${RACK}--shop--web`, sk: 'STATE' }, true],
    [{ pk: `ALARM#${RACK}--shop-two--web`, sk: 'STATE' }, false],
    [{ pk: `TASKDEF#arn:aws:ecs:eu-west-1:1:task-definition/${RACK}--shop--web:2`, sk: 'WATCH' }, true],
    [{ pk: 'TASKDEF#arn:aws:ecs:eu-west-1:1:task-definition/legacy:3', sk: 'WATCH' }, true],
    [{ pk: `TASKDEF#arn:aws:ecs:eu-west-1:1:task-definition/${RACK}--blog--web:2`, sk: 'WATCH' }, false],
    [{ pk: 'DEPLOYMENT#ecs-svc/1', sk: 'WATCH' }, true],
    [{ pk: 'DEPLOYMENT#ecs-svc/2', sk: 'WATCH' }, false],
    [{ pk: 'RACK', sk: 'DOMAINS' }, false],
    [{ pk: 'SEEN#alarm#arn:task', sk: 'SEEN' }, false],
  ])('%o → %s', (item, own) => {
    expect(isAppItem(item, 'shop', scope)).toBe(own);
  });
});

describe('inventoryLines', () => {
  it('says per resource type what goes, leaving out the types with none', () => {
    expect(
      inventoryLines({
        app: 'shop',
        services: [{ service: 'web', serviceName: `${RACK}--shop--web`, status: 'ACTIVE', alarmNames: [`${RACK}--shop--web--cpu`], deploymentIds: [] }],
        scalableTargets: [],
        schedules: [{ rule: 'weekly', targetIds: ['shop'], deleteRule: false }],
        stackSchedules: [],
        taskDefinitions: { active: [`arn:aws:ecs:eu-west-1:1:task-definition/${RACK}--shop--web:2`], inactive: [] },
        repository: `${RACK}/shop`,
        parameters: [],
        roles: [],
        objects: [{ key: 'apps/shop/a.tar.gz', versionId: 'v1' }],
        domains: [],
        recorded: false,
        skipped: [],
      }),
    ).toEqual([
      `ECS services (1): ${RACK}--shop--web`,
      `CloudWatch alarms (1): ${RACK}--shop--web--cpu`,
      'redeploy schedules (EventBridge rule targets) (1): weekly (targets shop only)',
      `task definitions (1): ${RACK}--shop--web:2`,
      `ECR repository (with its images) (1): ${RACK}/shop`,
      'source bucket objects: 1 versions and delete markers under apps/shop/ and builds/shop/',
    ]);
  });
});

describe('retainedAdvice', () => {
  it.each([
    ['AWS::DynamoDB::Table', 't-1', 'aws dynamodb delete-table --table-name t-1'],
    ['AWS::S3::Bucket', 'b-1', 'aws s3 rb s3://b-1 --force'],
    ['AWS::Logs::LogGroup', '/g', 'aws logs delete-log-group --log-group-name /g'],
    ['AWS::SNS::Topic', 'arn:t', 'delete it yourself when it is no longer needed'],
  ])('%s: says why it is kept and how it goes', (type, id, how) => {
    const advice = retainedAdvice(type, id);
    expect(advice).toContain('DeletionPolicy Retain');
    expect(advice).toContain(how);
  });
});
