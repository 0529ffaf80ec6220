import { describe, expect, it } from 'vitest';
import { deadlineVerdict, observeDeployment, rolloutVerdict, type WatchedDeployment } from '../../shared/rollout/verdict.js';

const web: WatchedDeployment = { service: 'web', serviceName: 'r-shop-web', deploymentId: 'ecs-svc/1', taskDefinitionArn: 'arn:td/r-shop-web:2', desiredCount: 2 };
const worker: WatchedDeployment = { service: 'worker', serviceName: 'r-shop-worker', deploymentId: 'ecs-svc/2', taskDefinitionArn: 'arn:td/r-shop-worker:2', desiredCount: 1 };
const stop = { taskArn: 't1', cause: 'exit', summary: 'container web exited with code 1', exitCode: 1 };

describe('rolloutVerdict', () => {
  it.each([
    ['nothing seen yet', {}, {}, { status: 'waiting', pending: ['web', 'worker'] }],
    ['one completed', { 'ecs-svc/1': { outcome: 'completed' } }, {}, { status: 'waiting', pending: ['worker'] }],
    ['all completed', { 'ecs-svc/1': { outcome: 'completed' }, 'ecs-svc/2': { outcome: 'completed' } }, {}, { status: 'completed' }],
    [
      'a deployment failed',
      { 'ecs-svc/1': { outcome: 'completed' }, 'ecs-svc/2': { outcome: 'failed', reason: 'circuit breaker' } },
      {},
      { status: 'failed', code: 'ROLLOUT_FAILED', service: 'worker' },
    ],
    ['two stops: below the limit', {}, { 'arn:td/r-shop-web:2': { count: 2, last: stop } }, { status: 'waiting' }],
    ['three stops: fail fast', {}, { 'arn:td/r-shop-web:2': { count: 3, last: stop } }, { status: 'failed', code: 'TOO_MANY_FAILED_TASKS', service: 'web', stop }],
    [
      'fail fast beats a completed event',
      { 'ecs-svc/1': { outcome: 'completed' }, 'ecs-svc/2': { outcome: 'completed' } },
      { 'arn:td/r-shop-worker:2': { count: 5 } },
      { status: 'failed', code: 'TOO_MANY_FAILED_TASKS', service: 'worker' },
    ],
  ] as const)('%s', (_label, observations, stops, expected) => {
    expect(rolloutVerdict([web, worker], observations as never, stops as never, 3)).toMatchObject(expected);
  });
});

describe('deadlineVerdict', () => {
  it('fails what is still in progress, naming the service and its counts', () => {
    const verdict = deadlineVerdict([web], { 'ecs-svc/1': { outcome: 'in-progress', runningCount: 1, failedTasks: 0 } }, {}, 3, 600);
    expect(verdict).toMatchObject({ status: 'failed', code: 'ROLLOUT_DEADLINE', service: 'web' });
    expect(verdict.status === 'failed' && verdict.reason).toMatch(/within 600s.*1\/2 running/);
  });

  it('says how the deadline was reached, so the user knows which manifest setting sets it', () => {
    const verdict = deadlineVerdict([web], {}, {}, 3, 240, 'web: 2 × 1 batch × (…) = 240 s');
    expect(verdict.status === 'failed' && verdict.reason).toMatch(
      /within 240s \(not found\); the deadline is the manifest's longest healthy rollout, web: 2 × 1 batch × \(…\) = 240 s$/,
    );
  });

  it('passes a rollout DescribeServices reports completed', () => {
    expect(deadlineVerdict([web], { 'ecs-svc/1': { outcome: 'completed' } }, {}, 3, 600).status).toBe('completed');
  });
});

describe('observeDeployment', () => {
  const service = (deployments: object[]) => ({ deployments }) as never;
  it.each([
    ['COMPLETED', [{ id: 'ecs-svc/1', rolloutState: 'COMPLETED' }], 'completed'],
    ['FAILED', [{ id: 'ecs-svc/1', rolloutState: 'FAILED', rolloutStateReason: 'tasks failed to start' }], 'failed'],
    ['IN_PROGRESS', [{ id: 'ecs-svc/1', rolloutState: 'IN_PROGRESS' }], 'in-progress'],
    // the waiter's trap: the service is stable again, but on the old deployment after a rollback
    ['replaced by a circuit-breaker rollback', [{ id: 'ecs-svc/0', status: 'PRIMARY', rolloutState: 'COMPLETED' }], 'failed'],
  ])('%s', (_label, deployments, outcome) => {
    expect(observeDeployment(service(deployments), 'ecs-svc/1')?.outcome).toBe(outcome);
  });

  it('knows nothing about a service that is not there', () => {
    expect(observeDeployment(undefined, 'ecs-svc/1')).toBeUndefined();
  });
});
