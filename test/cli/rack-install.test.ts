import { ListRolesCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployCommand, installSummary, parseParameters, stageOf } from '../../cli/install.js';
import { bufferIo } from '../../cli/io.js';
import { run } from '../../cli/main.js';
import { TEST_RACK, TEST_STAGE } from '../support/stage.js';
import { type Harness, startHarness } from './harness.js';

/**
 * `rackless rack install` runs `serverless deploy`, which cannot run here (no AWS): the runner is
 * injected, and what is tested is the command line built, the checks before it runs, and what is
 * printed from the stack's outputs afterwards — read from the local rack's stack in moto, which
 * stands for the stack serverless would have made.
 */
const DECLARED = { vpcId: '', subnetIds: '', rackDomain: '', certificateArn: '', minSize: '1' };

describe('the serverless command line', () => {
  it('passes stage, region, profile and each parameter as --param=name=value', () => {
    expect(
      deployCommand({
        checkout: '/src/rackless',
        stage: 'prod',
        region: 'eu-west-1',
        profile: 'ops',
        parameters: parseParameters(['rackDomain=apps.example.com', 'certificateArn=arn:aws:acm:eu-west-1:1:certificate/x=y'], DECLARED),
      }),
    ).toEqual({
      command: '/src/rackless/node_modules/.bin/serverless',
      args: [
        'deploy',
        '--stage',
        'prod',
        '--region',
        'eu-west-1',
        '--aws-profile',
        'ops',
        '--param=rackDomain=apps.example.com',
        '--param=certificateArn=arn:aws:acm:eu-west-1:1:certificate/x=y',
      ],
    });
  });

  it.each([
    [['rackDomain'], '--param "rackDomain" is not NAME=VALUE'],
    [['=x'], '--param "=x" is not NAME=VALUE'],
    [['domain=x'], '--param domain: serverless.yml declares no parameter domain'],
    [['minSize=1', 'minSize=2'], '--param minSize is given twice'],
  ])('refuses %o: %s', (pairs, message) => {
    expect(() => parseParameters(pairs, DECLARED)).toThrow(message);
  });

  it.each([
    ['prod', 'prod'],
    ['rackless-prod', 'prod'],
    ['eu-1', 'eu-1'],
  ])('stage of rack %s is %s', (rack, stage) => {
    expect(stageOf(rack)).toBe(stage);
  });

  it.each([['Prod'], ['a--b'], ['x'], ['prod-'], ['1prod']])('refuses rack name %s', (rack) => {
    expect(() => stageOf(rack)).toThrow(`rack name "${rack}" is not a valid stage`);
  });

  it('renders the outputs and what to do next', () => {
    expect(
      installSummary({
        rack: 'rackless-prod',
        region: 'eu-west-1',
        rackDomain: 'apps.example.com',
        outputs: { SourceBucket: 'b-1', NotificationTopicArn: 'arn:sns:t', LoadBalancerDnsName: 'lb-1.elb.amazonaws.com' },
      }),
    ).toBe(
      [
        'Rack rackless-prod is installed in eu-west-1.',
        '',
        'Outputs:',
        '  LoadBalancerDnsName   lb-1.elb.amazonaws.com',
        '  NotificationTopicArn  arn:sns:t',
        '  SourceBucket          b-1',
        '',
        'Next:',
        '  1. Hear about deploys: aws sns subscribe --topic-arn arn:sns:t --protocol email --notification-endpoint you@example.com',
        "  2. Route the apps' hosts: *.apps.example.com → CNAME lb-1.elb.amazonaws.com",
        '  3. Deploy an app: rackless deploy ./app --app shop --rack prod',
        '     (or: aws s3 cp app.tar.gz s3://b-1/apps/shop/v1.tar.gz)',
        '  Remove it all later with: rackless rack uninstall --rack prod',
        '',
      ].join('\n'),
    );
  });
});

describe('rackless rack install', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  const install = async (args: string[], exitCode = 0) => {
    const calls: Array<{ command: string; args: string[]; cwd: string; telemetry?: string }> = [];
    const io = bufferIo();
    const code = await run(['--endpoint-url', h.bridge.url, '--rack', TEST_STAGE, 'rack', 'install', ...args], io, {
      install: {
        runner: async (command, argv, options) => {
          calls.push({ command, args: argv, cwd: options.cwd, ...(options.env.SLS_TELEMETRY_DISABLED ? { telemetry: options.env.SLS_TELEMETRY_DISABLED } : {}) });
          return exitCode;
        },
      },
    });
    return { code, calls, stdout: io.stdout(), stderr: io.stderr() };
  };

  it('creates the ECS service-linked role when missing, runs serverless deploy from the checkout, prints the outputs', async () => {
    const result = await install(['--param', 'rackDomain=apps.example.com', '--param', 'minSize=2']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([
      {
        command: `${process.cwd()}/node_modules/.bin/serverless`,
        args: ['deploy', '--stage', TEST_STAGE, '--region', 'us-east-1', '--param=rackDomain=apps.example.com', '--param=minSize=2'],
        cwd: process.cwd(),
        telemetry: '1',
      },
    ]);
    expect(result.stdout).toContain('ECS service-linked role AWSServiceRoleForECS: created\n');
    const linked = await h.rack.aws.iam.send(new ListRolesCommand({ PathPrefix: '/aws-service-role/ecs.amazonaws.com/' }));
    expect(linked.Roles).toHaveLength(1);
    expect(result.stdout).toContain(`Rack ${TEST_RACK} is installed in us-east-1.`);
    expect(result.stdout).toMatch(new RegExp(`\n  SourceBucket +${h.rack.resources.bucket}\n`));
    expect(result.stdout).toContain(`*.apps.example.com → CNAME ${h.rack.resources.loadBalancerDns}`);
    expect((await install([])).stdout).toContain('ECS service-linked role AWSServiceRoleForECS: present\n');
  });

  it('says serverless failed, with its exit code', async () => {
    const result = await install([], 1);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: serverless deploy exited with code 1: the rack is not installed (or not updated)');
  });

  it('checks the parameters against serverless.yml before anything runs', async () => {
    const result = await install(['--param', 'instanceSize=large']);
    expect(result.code).toBe(1);
    expect(result.calls).toEqual([]);
    expect(result.stderr).toContain('error: --param instanceSize: serverless.yml declares no parameter instanceSize\nhint: the parameters are: vpcId, subnetIds, ');
  });
});
