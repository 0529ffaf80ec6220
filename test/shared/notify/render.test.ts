import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  formatTimings,
  LOG_LINE_MAX,
  parseCloudWatchAlarm,
  renderNotification,
  severityOf,
  SUBJECT_MAX,
  toAscii,
  toSnsAttributes,
} from '../../../shared/notify/render.js';
import type { Notification, Severity } from '../../../shared/notify/types.js';
import { loadEvent } from '../../support/fixtures.js';

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
const ATTRIBUTE_NAMES = ['kind', 'app', 'service', 'severity', 'status', 'release', 'step'];

function failedDeploy(overrides: Partial<Extract<Notification, { kind: 'deploy' }>> = {}): Extract<Notification, { kind: 'deploy' }> {
  return {
    kind: 'deploy',
    status: 'rolled-back',
    app: 'shop',
    releaseId: 'RBQXK4JZ7W2',
    releaseNumber: 4,
    source: 's3://rackless-demo-source/apps/shop/release-1.tar.gz',
    changes: [
      {
        service: 'web',
        image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/rackless-demo/shop:web.RBQXK4JZ7W2',
        taskDefinition: 'shop-web:4',
        previousTaskDefinition: 'shop-web:3',
        desiredCount: 2,
        endpoints: ['https://web.shop.rackless.example.com'],
      },
    ],
    timings: [
      { step: 'Prepare', durationMs: 2100 },
      { step: 'Build', durationMs: 64_000 },
      { step: 'Watch', durationMs: 192_000 },
    ],
    failure: {
      step: 'Watch',
      code: 'ROLLOUT_FAILED',
      message: 'ROLLOUT_FAILED: 3 tasks of web stopped: container web ran out of memory (exit 137)',
      service: 'web',
      stoppedReason: 'Essential container in task exited',
      exitCode: 137,
      oom: true,
      healthCheck: 'ELB health check of target group shop-web-fl46l67rt4od',
      logLines: ['\u001b[32minfo\u001b[0m listening on :3000', 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory'],
      link: 'https://console.aws.amazon.com/ecs/v2/clusters/rackless-demo/services/rackless-demo--shop--web',
    },
    ...overrides,
  };
}

const LONG = 'a-very-long-application-name-that-keeps-going-'.repeat(6);
const UNICODE = 'café—ünïcode “shop” 🚀 日本';

/** One of every kind, each with names and messages long and odd enough to stress the subject. */
const stressed: Notification[] = [
  failedDeploy({ app: LONG }),
  failedDeploy({ app: UNICODE, status: 'failed' }),
  { ...failedDeploy({ app: `${LONG}\nsecond line`, status: 'succeeded' }), failure: undefined },
  { ...failedDeploy({ status: 'superseded', supersededBy: `apps/shop/${LONG}.tar.gz` }), failure: undefined },
  { kind: 'crash-loop', app: LONG, service: UNICODE, stops: 5, windowSeconds: 600, cause: `container web ran out of memory ${LONG}`, evidence: { exitCode: 137, oom: true } },
  { kind: 'recovered', app: UNICODE, service: LONG, message: 'tasks are running again' },
  { kind: 'drain', status: 'timed-out', instanceId: 'i-0abc1234def567890', autoScalingGroup: LONG, tasksLeft: 2, waitedSeconds: 3600 },
  { kind: 'cloudwatch-alarm', alarmName: `${LONG}-unhealthy`, state: 'ALARM', reason: `Threshold Crossed\n${LONG}` },
  { kind: 'redeploy-rejected', app: UNICODE, reason: `release R1 does not exist\n${LONG}` },
];

describe('renderNotification', () => {
  describe('subject', () => {
    it.each(stressed.map((n) => [n.kind, n] as const))('stays under 100 printable ASCII characters for a stressed %s', (_kind, n) => {
      const { subject } = renderNotification(n);
      expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX);
      expect(subject).toMatch(PRINTABLE_ASCII);
      expect(subject).not.toMatch(/^\s|\s$/);
    });

    it('cuts a long app name before the outcome', () => {
      const { subject } = renderNotification(failedDeploy({ app: LONG, status: 'failed' }));
      expect(subject).toMatch(/^a-very-long-application-name.*\.\.\.: release RBQXK4JZ7W2 failed at Watch - web out of memory$/);
    });

    it('spells Unicode in ASCII', () => {
      expect(toAscii('café — “shop” → ok…')).toBe('cafe - "shop" -> ok...');
      expect(toAscii('line one\nline\ttwo 🚀')).toBe('line one line two ?');
    });

    it.each<[string, Notification, string]>([
      ['rolled back', failedDeploy(), 'shop: release RBQXK4JZ7W2 rolled back - web out of memory'],
      ['succeeded', { ...failedDeploy({ status: 'succeeded' }), failure: undefined }, 'shop: release RBQXK4JZ7W2 deployed'],
      [
        'failed without a release id',
        failedDeploy({
          status: 'failed',
          releaseId: undefined,
          releaseNumber: undefined,
          failure: { step: 'Prepare', code: 'TARBALL_PARENT_PATH', message: 'entry ../x leaves the root' },
        }),
        'shop: deploy failed at Prepare - TARBALL_PARENT_PATH',
      ],
      [
        'crash loop',
        { kind: 'crash-loop', app: 'shop', service: 'web', stops: 4, windowSeconds: 300, cause: 'exit 1', evidence: {} },
        'shop/web: crash loop, 4 stops in 5m00s - exit 1',
      ],
      ['drain', { kind: 'drain', status: 'drained', instanceId: 'i-0abc', autoScalingGroup: 'asg', tasksLeft: 0, waitedSeconds: 70 }, 'Instance i-0abc: drained'],
      ['alarm', { kind: 'cloudwatch-alarm', alarmName: 'rackless-demo--shop--web--unhealthy', state: 'OK', reason: 'fine' }, 'OK: rackless-demo--shop--web--unhealthy'],
    ])('reads well when %s', (_label, n, subject) => {
      expect(renderNotification(n).subject).toBe(subject);
    });
  });

  describe('attributes', () => {
    it.each(stressed.map((n) => [n.kind, n] as const))('are all non-empty known names for %s', (_kind, n) => {
      const { attributes } = renderNotification(n);
      for (const [name, value] of Object.entries(attributes)) {
        expect(ATTRIBUTE_NAMES).toContain(name);
        expect(value.trim()).not.toBe('');
        // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
        expect(value).not.toMatch(/[\u0000-\u001f]/);
      }
      expect(attributes.kind).toBe(n.kind);
      expect(attributes.severity).toBe(severityOf(n));
    });

    it('name the app, service, status, release and step of a failed deploy', () => {
      expect(renderNotification(failedDeploy()).attributes).toEqual({
        kind: 'deploy',
        severity: 'critical',
        app: 'shop',
        service: 'web',
        status: 'rolled-back',
        release: 'RBQXK4JZ7W2',
        step: 'Watch',
      });
    });

    it('leave out what is empty rather than sending an empty value', () => {
      const { attributes } = renderNotification({ kind: 'redeploy-rejected', app: 'shop', reason: 'no such release', releaseId: '' });
      expect(attributes).toEqual({ kind: 'redeploy-rejected', severity: 'warning', app: 'shop', status: 'rejected' });
    });
  });

  describe('body of a failed deploy', () => {
    const { message } = renderNotification(failedDeploy());
    const lines = message.split('\n');

    it('opens with the outcome in one sentence', () => {
      expect(lines[0]).toBe(
        'Deploy of shop release RBQXK4JZ7W2 (#4) failed in the Watch step on service web and was rolled back: 3 tasks of web stopped: container web ran out of memory (exit 137).',
      );
    });

    it('names the step, service, code, stopped reason, exit code, OOM, health check and link', () => {
      for (const line of [
        'Step: Watch',
        'Service: web',
        'Code: ROLLOUT_FAILED',
        'Stopped reason: Essential container in task exited',
        'Exit code: 137',
        'Out of memory: yes',
        'Health check: ELB health check of target group shop-web-fl46l67rt4od',
        'Link: https://console.aws.amazon.com/ecs/v2/clusters/rackless-demo/services/rackless-demo--shop--web',
      ]) {
        expect(lines).toContain(line);
      }
    });

    it('shows each service with its image, revision change, count and endpoints', () => {
      const row = lines.find((line) => line.trimStart().startsWith('web '));
      expect(row).toBeDefined();
      expect(row).toContain('rackless-demo/shop:web.RBQXK4JZ7W2');
      expect(row).toContain('shop-web:3 → shop-web:4');
      expect(row).toMatch(/\s2\s/);
      expect(row).toContain('https://web.shop.rackless.example.com');
    });

    it('lists the step timings', () => {
      expect(lines).toContain('Timings: Prepare 2.1s · Build 1m04s · Watch 3m12s');
    });

    it('ends with the log lines, without terminal colours', () => {
      const at = lines.indexOf('Last log lines of web:');
      expect(at).toBeGreaterThan(0);
      expect(lines.slice(at + 1)).toEqual(['  info listening on :3000', '  FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory']);
    });

    it('keeps only the last 20 log lines, each at most 300 characters', () => {
      const logLines = Array.from({ length: 25 }, (_, i) => `line ${i} ${'x'.repeat(i === 24 ? 1000 : 10)}`);
      const base = failedDeploy();
      const rendered = renderNotification({ ...base, failure: { ...base.failure!, logLines } }).message.split('\n');
      const at = rendered.indexOf('Last log lines of web, last 20 of 25:');
      const shown = rendered.slice(at + 1);
      expect(shown).toHaveLength(20);
      expect(shown[0]).toBe('  line 5 xxxxxxxxxx');
      expect(shown[19]!.trimStart()).toHaveLength(LOG_LINE_MAX);
      expect(shown[19]!.endsWith('…')).toBe(true);
    });
  });

  describe('other bodies', () => {
    it('marks a brand-new service and a succeeded release', () => {
      const n = failedDeploy({ status: 'succeeded', failure: undefined });
      n.changes = [{ ...n.changes[0]!, previousTaskDefinition: undefined, endpoints: [] }];
      const lines = renderNotification(n).message.split('\n');
      expect(lines[0]).toBe('Release RBQXK4JZ7W2 (#4) of shop is live on service web.');
      expect(lines.find((line) => line.includes('shop-web:4'))).toMatch(/shop-web:4 \(new\)\s+2\s+-$/);
      expect(lines.some((line) => line.startsWith('Step:'))).toBe(false);
    });

    it('spells out crash-loop evidence', () => {
      const { message } = renderNotification({
        kind: 'crash-loop',
        app: 'shop',
        service: 'web',
        releaseId: 'RBQXK4JZ7W2',
        stops: 3,
        windowSeconds: 120,
        cause: 'container web exited with code 1',
        evidence: { stoppedReason: 'Essential container in task exited', exitCode: 1, oom: false },
        logLines: ['Error: Cannot find module ./server.js'],
      });
      const lines = message.split('\n');
      expect(lines[0]).toBe('Service web of shop is crash-looping: 3 tasks stopped in 2m00s, container web exited with code 1.');
      expect(lines).toContain('Stopped reason: Essential container in task exited');
      expect(lines).toContain('Exit code: 1');
      expect(lines).toContain('Out of memory: no');
      expect(lines.at(-1)).toBe('  Error: Cannot find module ./server.js');
    });

    it('says how many tasks a timed-out drain left', () => {
      const { message } = renderNotification({
        kind: 'drain',
        status: 'timed-out',
        instanceId: 'i-0abc',
        autoScalingGroup: 'rackless-demo-instances',
        tasksLeft: 1,
        waitedSeconds: 3600,
      });
      expect(message.split('\n')[0]).toBe('Instance i-0abc of rackless-demo-instances did not finish draining within 1h00m: 1 task still running.');
    });
  });

  describe('the CloudWatch alarm sample', () => {
    const alarm = parseCloudWatchAlarm(loadEvent('sns-cloudwatch-alarm').Records[0].Sns.Message);

    it('recovers app and service from the alarm name', () => {
      expect(alarm).toEqual({
        kind: 'cloudwatch-alarm',
        alarmName: 'rackless-demo--shop--web--unhealthy',
        state: 'ALARM',
        previousState: 'OK',
        reason: expect.stringMatching(/^Threshold Crossed: 2 out of the last 2 datapoints/),
        metric: 'UnHealthyHostCount',
        time: '2026-03-02T14:09:40.321Z',
        app: 'shop',
        service: 'web',
      });
    });

    it('renders as a critical notification for the service', () => {
      const rendered = renderNotification(alarm);
      expect(rendered.subject).toBe('ALARM: rackless-demo--shop--web--unhealthy');
      expect(rendered.message.split('\n')[0]).toBe('Alarm rackless-demo--shop--web--unhealthy is ALARM (was OK) for service web of shop.');
      expect(rendered.message).toContain('Metric: UnHealthyHostCount');
      expect(rendered.attributes).toEqual({ kind: 'cloudwatch-alarm', severity: 'critical', app: 'shop', service: 'web', status: 'ALARM' });
    });
  });
});

describe('renderNotification: what Rollback did', () => {
  it('names each service it restored or removed, and each it could not restore with why', () => {
    const { message } = renderNotification(
      failedDeploy({
        status: 'failed',
        rollback: [
          { service: 'web', action: 'restored', reregistered: true },
          { service: 'worker', action: 'removed' },
          { service: 'api', action: 'failed', error: 'ClientException: TaskDefinition not found' },
        ],
      }),
    );
    expect(message).toContain('Rolled back: web restored (its deregistered task definition registered again); worker removed (created by this deploy)');
    expect(message).toContain('Rollback failed: api (ClientException: TaskDefinition not found): still on the failed release');
  });
});

describe('severityOf', () => {
  const deploy = (status: 'succeeded' | 'failed' | 'rolled-back' | 'superseded'): Notification => ({ ...failedDeploy({ status }) });
  const drain = (status: 'drained' | 'timed-out' | 'no-instance' | 'failed'): Notification => ({
    kind: 'drain',
    status,
    instanceId: 'i-1',
    autoScalingGroup: 'g',
    tasksLeft: 0,
    waitedSeconds: 1,
  });
  const alarm = (state: string): Notification => ({ kind: 'cloudwatch-alarm', alarmName: 'a', state, reason: 'r' });

  it.each<[string, Notification, Severity]>([
    ['deploy succeeded', deploy('succeeded'), 'info'],
    ['deploy failed', deploy('failed'), 'critical'],
    ['deploy rolled back', deploy('rolled-back'), 'critical'],
    ['deploy superseded', deploy('superseded'), 'info'],
    ['crash loop', { kind: 'crash-loop', app: 'a', service: 's', stops: 3, windowSeconds: 60, cause: 'c', evidence: {} }, 'critical'],
    ['recovered', { kind: 'recovered', app: 'a', service: 's', message: 'm' }, 'info'],
    ['drain timed out', drain('timed-out'), 'warning'],
    ['drain failed (instance released anyway)', drain('failed'), 'warning'],
    ['drained', drain('drained'), 'info'],
    ['drain without instance', drain('no-instance'), 'info'],
    ['alarm ALARM', alarm('ALARM'), 'critical'],
    ['alarm OK', alarm('OK'), 'info'],
    ['alarm INSUFFICIENT_DATA', alarm('INSUFFICIENT_DATA'), 'warning'],
    ['redeploy rejected', { kind: 'redeploy-rejected', app: 'a', reason: 'r' }, 'warning'],
  ])('%s → %s', (_label, n, severity) => {
    expect(severityOf(n)).toBe(severity);
    expect(renderNotification(n).attributes.severity).toBe(severity);
  });
});

describe('formatDuration', () => {
  it.each([
    [350, '350ms'],
    [2100, '2.1s'],
    [9949, '9.9s'],
    [9960, '10s'],
    [45_400, '45s'],
    [59_600, '1m00s'],
    [64_000, '1m04s'],
    [3_599_000, '59m59s'],
    [7_500_000, '2h05m'],
    [-5, '0s'],
  ])('%i ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('joins step timings with a middle dot', () => {
    expect(
      formatTimings([
        { step: 'Prepare', durationMs: 2100 },
        { step: 'Build', durationMs: 64_000 },
      ]),
    ).toBe('Prepare 2.1s · Build 1m04s');
  });
});

describe('toSnsAttributes', () => {
  it('types every value as a String and drops empty ones', () => {
    expect(toSnsAttributes({ kind: 'deploy', app: 'shop', step: '', service: '  ' })).toEqual({
      kind: { DataType: 'String', StringValue: 'deploy' },
      app: { DataType: 'String', StringValue: 'shop' },
    });
  });
});
