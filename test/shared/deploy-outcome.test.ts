import { describe, expect, it } from 'vitest';
import { appsUsingImage, redeployState } from '../../shared/deploy/redeploy.js';
import { buildFailure, outcomeOf, withWatchTiming } from '../../shared/deploy/notify.js';
import { newerWaiting } from '../../shared/queue/decide.js';
import { pickPriority } from '../../shared/aws/elb.js';
import { retiredServices } from '../../shared/deploy/retire.js';
import type { DeployState } from '../../shared/deploy/state.js';

const base: DeployState = { app: 'shop', trigger: 'upload', order: { time: '2026-01-01T00:00:00Z' }, execution: 'shop-x', startedAt: '2026-01-01T00:00:00Z', timings: [] };
const lambdaCause = (errorType: string, errorMessage: string) => ({ Error: errorType, Cause: JSON.stringify({ errorType, errorMessage }) });

describe('outcomeOf', () => {
  it.each([
    ['no failure', base, { status: 'succeeded' }],
    ['superseded in the queue', { ...base, failedStep: 'Queue', failure: lambdaCause('Superseded', 'SUPERSEDED: newer') }, { status: 'superseded', code: 'SUPERSEDED' }],
    [
      'rejected tarball',
      { ...base, failedStep: 'Prepare', failure: lambdaCause('TarballRejected', 'TARBALL_NOT_GZIP: no') },
      { status: 'failed', code: 'TARBALL_NOT_GZIP', message: 'no' },
    ],
    [
      'rolled back',
      { ...base, failedStep: 'Watch', failure: lambdaCause('RolloutFailed', 'ROLLOUT_FAILED: x'), rollback: { services: [] } },
      { status: 'rolled-back', code: 'ROLLOUT_FAILED' },
    ],
    [
      'one service could not be restored (the others were)',
      {
        ...base,
        failedStep: 'Watch',
        failure: lambdaCause('RolloutFailed', 'ROLLOUT_FAILED: x'),
        rollback: {
          services: [
            { service: 'api', action: 'failed', error: 'ClientException: boom' },
            { service: 'web', action: 'restored' },
          ],
        },
      },
      { status: 'failed', code: 'ROLLOUT_FAILED' },
    ],
    [
      'rollback itself failed',
      { ...base, failedStep: 'Watch', failure: lambdaCause('RolloutFailed', 'ROLLOUT_FAILED: x'), rollback: { services: [] }, rollbackFailure: {} },
      { status: 'failed' },
    ],
  ] as const)('%s', (_label, state, expected) => {
    expect(outcomeOf(state as DeployState)).toMatchObject(expected);
  });
});

describe('buildFailure', () => {
  it('reads the CodeBuild build from the .sync Cause', () => {
    const cause = JSON.stringify({
      Build: { Id: 'proj:1', BuildStatus: 'TIMED_OUT', Logs: { DeepLink: 'https://logs' }, Phases: [{ PhaseType: 'BUILD', PhaseStatus: 'TIMED_OUT' }] },
    });
    expect(buildFailure({ ...base, failedStep: 'Build', failure: { Error: 'States.TaskFailed', Cause: cause } })).toEqual({
      code: 'BUILD_FAILED',
      message: 'build proj:1 ended TIMED_OUT in phase BUILD',
      link: 'https://logs',
      id: 'proj:1',
    });
  });
});

describe('redeployState', () => {
  const app = { app: 'shop', currentRelease: 'R2', lastSource: { bucket: 'b', key: 'apps/shop/x.tgz' } };
  const request = { app: 'shop', trigger: 'redeploy' as const, requestId: 'evt-1', time: '2026-01-01T00:00:00Z' };
  it.each([
    ['current release', request, app, { accept: true, state: { redeployRelease: 'R2', trigger: 'redeploy' } }],
    ['named release', { ...request, release: 'R1' }, app, { accept: true, state: { redeployRelease: 'R1' } }],
    ['rebuild', { ...request, rebuild: true, trigger: 'rebuild' as const }, app, { accept: true, state: { trigger: 'rebuild', source: app.lastSource } }],
    ['unknown app', request, undefined, { accept: false, reason: expect.stringMatching(/does not exist/) }],
    ['no release yet', request, { app: 'shop' }, { accept: false, reason: expect.stringMatching(/no current release/) }],
    ['bad name', { ...request, app: 'Bad!' }, undefined, { accept: false, reason: expect.stringMatching(/not a valid app name/) }],
    [
      'no app at all (a schedule without input)',
      { ...request, app: undefined as unknown as string },
      undefined,
      { accept: false, reason: expect.stringMatching(/must name an app/) },
    ],
  ] as const)('%s', (_label, req, record, expected) => {
    expect(redeployState(req, record as never)).toMatchObject(expected);
  });
});

describe('appsUsingImage', () => {
  const apps = [
    { app: 'a', baseImages: ['123456789012.dkr.ecr.us-east-1.amazonaws.com/base/node:20'] },
    { app: 'b', baseImages: ['base/node:18'] },
    { app: 'c', baseImages: ['node:20'] },
    { app: 'd', baseImages: ['base/node'] },
  ];
  it.each([
    [{ 'repository-name': 'base/node', 'image-tag': '20' }, ['a']],
    [{ 'repository-name': 'base/node', 'image-tag': '18' }, ['b']],
    [{ 'repository-name': 'base/node' }, ['d']],
  ])('%j', (push, expected) => {
    expect(appsUsingImage(apps, push)).toEqual(expected);
  });
});

describe('newerWaiting', () => {
  const item = (execution: string, sequencer: string, status: 'waiting' | 'running' | 'done' = 'waiting') => ({ execution, token: 't', order: { time: 't', sequencer }, status });
  it('finds the newest waiting deploy behind this one', () => {
    const me = { execution: 'b', order: { time: 't', sequencer: '02' } };
    expect(newerWaiting([item('a', '01'), item('b', '02', 'running'), item('c', '03'), item('d', '04'), item('e', '05', 'done')], me)?.execution).toBe('d');
    expect(newerWaiting([item('a', '01'), item('b', '02', 'running')], me)).toBeUndefined();
  });
});

describe('pickPriority', () => {
  it('spreads hosts, keeps wildcards after exact hosts, and skips taken priorities', () => {
    const a = pickPriority('a.example.com', new Set());
    expect(a).toBeGreaterThanOrEqual(1);
    expect(a).toBeLessThan(40_000);
    expect(pickPriority('*.example.com', new Set())).toBeGreaterThanOrEqual(40_000);
    expect(pickPriority('a.example.com', new Set([a]))).toBe(a + 1 === 40_000 ? 1 : a + 1);
    expect(pickPriority('a.example.com', new Set(), 1)).not.toBe(a);
  });
});

describe('withWatchTiming', () => {
  const t = (step: string, startedAt: string, durationMs: number) => ({ step, startedAt, durationMs });
  it('adds the rollout wait between Promote and the next step', () => {
    const timings = [t('Prepare', '2026-01-01T00:00:00.000Z', 500), t('Promote', '2026-01-01T00:00:01.000Z', 1000), t('Rollback', '2026-01-01T00:01:02.000Z', 300)];
    expect(withWatchTiming(timings).map((x) => [x.step, x.durationMs])).toEqual([
      ['Prepare', 500],
      ['Promote', 1000],
      ['Watch', 60_000],
      ['Rollback', 300],
    ]);
  });

  it('ends an unfinished Watch now, and leaves a deploy that never promoted alone', () => {
    const promoted = [t('Promote', '2026-01-01T00:00:00.000Z', 1000)];
    expect(withWatchTiming(promoted, Date.parse('2026-01-01T00:00:31.000Z')).at(-1)).toMatchObject({ step: 'Watch', durationMs: 30_000 });
    expect(withWatchTiming([t('Prepare', '2026-01-01T00:00:00.000Z', 5)])).toHaveLength(1);
  });
});

describe('retiredServices', () => {
  const manifest = (...names: string[]) => ({ services: names.map((name) => ({ name })) }) as never;
  it.each([
    [manifest('web', 'admin'), manifest('web'), ['admin']],
    [manifest('web'), manifest('web', 'worker'), []],
    [undefined, manifest('web'), []],
  ])('%#', (previous, current, expected) => {
    expect(retiredServices(previous, current)).toEqual(expected);
  });
});
