import { describe, expect, it } from 'vitest';
import { ManifestInvalid } from '../../shared/errors.js';
import { parseManifest } from '../../shared/manifest/parse.js';
import type { Manifest } from '../../shared/manifest/types.js';
import { deployDeadline, rolloutBatches, rolloutDeadline, rolloutSettings, serviceRolloutBound } from '../../shared/rollout/deadline.js';

const CAP = 1800;

/** A manifest as Prepare reads it: every default filled in. */
function manifest(yaml: string): Manifest {
  return parseManifest(yaml, {
    app: 'shop',
    owner: { rack: 'prod', ecrPrefix: 'prod' },
    rackDomain: 'rack.example.com',
    files: {},
    paths: [],
  });
}

/** One service `web` from `image: httpd:2.4` plus these lines. */
const web = (...lines: string[]) => manifest(`services:\n  web:\n    image: httpd:2.4\n${lines.map((l) => `    ${l}\n`).join('')}`);

function refusal(m: Manifest, cap = CAP): ManifestInvalid {
  try {
    deployDeadline(m, cap);
  } catch (error) {
    if (error instanceof ManifestInvalid) return error;
    throw error;
  }
  throw new Error('expected deployDeadline to refuse the manifest');
}

describe('rolloutBatches', () => {
  it.each([
    // desired, minimum %, maximum % → batches (ECS: minimum rounded up, maximum rounded down)
    ['two tasks at Rackless’s 50/200', 2, 50, 200, 1],
    ['two tasks at ECS’s 100/200', 2, 100, 200, 1],
    ['four tasks at 50/200: ECS may stop two before starting two (its own example)', 4, 50, 200, 1],
    ['four tasks at 50/100: two at a time', 4, 50, 100, 2],
    ['ten tasks at 100/150: five at a time', 10, 100, 150, 2],
    ['a hundred tasks at 100/101: one at a time', 100, 100, 101, 100],
    ['one task at 0/100: stop it, start the new one', 1, 0, 100, 1],
    ['three tasks at 50/150: 2 must run, 4 may, so two at a time', 3, 50, 150, 2],
    ['no tasks', 0, 50, 200, 0],
  ] as const)('%s', (_, desired, minimum, maximum, batches) => {
    expect(rolloutBatches(desired, minimum, maximum)).toMatchObject({ stuck: false, batches });
  });

  it.each([
    ['one task at 50/150: 1 must run and 1 may', 1, 50, 150, 1, 1],
    ['two tasks at 75/100 (ECS: "the scheduler can’t stop any tasks")', 2, 75, 100, 2, 2],
    ['three tasks at 100/125 (ECS: "the scheduler can’t start any tasks")', 3, 100, 125, 3, 3],
  ] as const)('is stuck with %s', (_, desired, minimum, maximum, minimumHealthy, maximumTasks) => {
    expect(rolloutBatches(desired, minimum, maximum)).toEqual({ stuck: true, minimumHealthy, maximumTasks });
  });
});

describe('serviceRolloutBound', () => {
  it.each([
    [
      'a web service at the defaults',
      web('port: 80', 'scale: {count: 2}'),
      { batches: 1, start: 60, healthy: 30 + 5 * 2, drain: 10 + 10, seconds: 120 },
      '1 batch × (60 s start + 40 s to healthy [grace 30 + interval 5 × healthy 2] + 20 s to drain [deregistrationDelay 10 + stop timeout 10])',
    ],
    [
      'a worker (no port, no health check): ECS’s 40 s, no target to drain',
      web('scale: {count: 1}'),
      { batches: 1, start: 60, healthy: 40, drain: 10, seconds: 110 },
      "1 batch × (60 s start + 40 s to healthy [ECS's 40 s for a task with no health check] + 10 s to drain [stop timeout 10])",
    ],
    [
      'a worker with a container health check',
      web('health: {interval: 10, timeout: 5, grace: 60, command: "true"}', 'termination: {grace: 30}'),
      { batches: 1, start: 60, healthy: 70, drain: 30, seconds: 160 },
      '1 batch × (60 s start + 70 s to healthy [grace 60 + interval 10 of the container check] + 30 s to drain [stop timeout 30])',
    ],
    [
      'AWS’s target group defaults (interval 30, healthy 5, delay 300), ECS’s stop timeout and 100/200',
      web(
        'port: 80',
        'scale: {count: 2}',
        'health: {interval: 30, timeout: 5, grace: 0, healthy: 5}',
        'deregistrationDelay: 300',
        'termination: {grace: 30}',
        'deployment: {minimum: 100, maximum: 200}',
      ),
      { batches: 1, start: 60, healthy: 150, drain: 330, seconds: 540 },
      '1 batch × (60 s start + 150 s to healthy [grace 0 + interval 30 × healthy 5] + 330 s to drain [deregistrationDelay 300 + stop timeout 30])',
    ],
    [
      'ten tasks replaced five at a time',
      web('port: 80', 'scale: {count: 10}', 'deployment: {minimum: 100, maximum: 150}'),
      { batches: 2, seconds: 240 },
      '2 batches × (60 s start + 40 s to healthy [grace 30 + interval 5 × healthy 2] + 20 s to drain [deregistrationDelay 10 + stop timeout 10])',
    ],
  ] as const)('%s', (_, m, bound, computation) => {
    expect(serviceRolloutBound(rolloutSettings(m.services[0]!))).toMatchObject({ ...bound, computation });
  });

  it('takes the longer wait when a load-balanced service also has a container health check', () => {
    const [spec] = web('port: 80', 'health: {interval: 10, timeout: 5, grace: 0, healthy: 6, command: "true"}').services;

    // the ALB's 0 + 10 × 6 = 60 s beats the container check's 0 + 10 s
    expect(serviceRolloutBound(rolloutSettings(spec!))?.healthy).toBe(60);
  });

  it('falls back to ECS’s 30 s stop timeout for a release recorded before termination.grace existed', () => {
    const { stopTimeout: _, ...recorded } = web('port: 80').services[0]!;

    expect(rolloutSettings(recorded as never).stopTimeoutSeconds).toBe(30);
  });
});

describe('deployDeadline', () => {
  it.each([
    ['a web service at the defaults: 2 × 120 s', web('port: 80', 'scale: {count: 2}'), 240],
    ['an app of no tasks still waits the minimum', web('scale: {count: 0}'), 60],
    [
      'AWS’s defaults fit under the cap: 2 × 540 s',
      web('port: 80', 'scale: {count: 2}', 'health: {interval: 30, timeout: 5, grace: 0, healthy: 5}', 'deregistrationDelay: 300', 'termination: {grace: 30}'),
      1080,
    ],
    [
      'the slowest service decides',
      manifest('services:\n  web: {image: a, port: 80, scale: {count: 2}}\n  api: {image: a, port: 81, deregistrationDelay: 120}\n  worker: {image: a, scale: {count: 0}}\n'),
      2 * (60 + 40 + 130),
    ],
  ] as const)('%s', (_, m, seconds) => {
    expect(deployDeadline(m, CAP).deadlineSeconds).toBe(seconds);
  });

  it('says how it was reached, naming the service', () => {
    const m = manifest('services:\n  web: {image: a, port: 80, scale: {count: 2}}\n  api: {image: a, port: 81, deregistrationDelay: 120}\n');

    expect(deployDeadline(m, CAP).deadline).toBe(
      'api: 2 × 1 batch × (60 s start + 40 s to healthy [grace 30 + interval 5 × healthy 2] + 130 s to drain [deregistrationDelay 120 + stop timeout 10]) = 460 s',
    );
  });

  describe('the issue’s slow manifest (interval 300, healthy 10, deregistration delay 3,600)', () => {
    const slow = web('port: 80', 'health: {interval: 300, timeout: 120, healthy: 10}', 'deregistrationDelay: 3600');
    const expected = 2 * (60 + (30 + 300 * 10) + (3600 + 10));

    it('is refused under the 1,800 s cap with the computation in the message', () => {
      const error = refusal(slow);

      expect(error.code).toBe('MANIFEST_ROLLOUT_TOO_LONG');
      expect(error.message).toBe(
        'MANIFEST_ROLLOUT_TOO_LONG: services.web: a healthy rollout may take 2 × 1 batch × (60 s start + 3,030 s to healthy [grace 30 + interval 300 × healthy 10] + ' +
          '3,610 s to drain [deregistrationDelay 3600 + stop timeout 10]) = 13,400 s, more than the rack allows a rollout (1,800 s, rack parameter watchDeadlineSeconds); ' +
          'shorten health.grace, health.interval × health.healthy, deregistrationDelay or termination.grace, or widen deployment.minimum–maximum so fewer batches are needed',
      );
      expect(error.details).toEqual({ path: 'services.web', deadlineSeconds: expected, capSeconds: CAP });
    });

    it('fits a rack whose cap allows it, and gets its computed deadline', () => {
      expect(expected).toBe(13_400);
      expect(deployDeadline(slow, 14_400).deadlineSeconds).toBe(expected);
    });
  });

  it('refuses a rollout just over the cap and takes one exactly at it', () => {
    const m = web('port: 80', 'scale: {count: 2}');

    expect(deployDeadline(m, 240).deadlineSeconds).toBe(240);
    expect(refusal(m, 239).code).toBe('MANIFEST_ROLLOUT_TOO_LONG');
  });

  it('counts batches: 20 tasks one at a time do not fit where one batch does', () => {
    expect(deployDeadline(web('port: 80', 'scale: {count: 20}'), CAP).deadlineSeconds).toBe(240);
    expect(refusal(web('port: 80', 'scale: {count: 20}', 'deployment: {minimum: 100, maximum: 105}')).message).toContain('= 4,800 s, more than the rack allows');
  });

  it.each([
    [
      'one task at 50/150',
      'scale: {count: 1}',
      'deployment: {minimum: 50, maximum: 150}',
      'count 1, minimum 50 keeps 1 task running and maximum 150 allows 1',
      'raise maximum to at least 200 or lower minimum to at most 0',
    ],
    [
      'three tasks at 100/125',
      'scale: {count: 3}',
      'deployment: {minimum: 100, maximum: 125}',
      'count 3, minimum 100 keeps 3 tasks running and maximum 125 allows 3',
      'raise maximum to at least 134 or lower minimum to at most 66',
    ],
  ])('refuses %s, which ECS could never roll out, naming settings that could', (_, count, deployment, state, fix) => {
    const error = refusal(web('port: 80', count, deployment));

    expect(error.code).toBe('MANIFEST_ROLLOUT_STUCK');
    expect(error.message).toContain(`services.web.deployment: with ${state}, so ECS can neither start a new task nor stop an old one`);
    expect(error.message).toContain(fix);
    expect(error.details.path).toBe('services.web.deployment');
  });

  it('names the first stuck service even when another is over the cap', () => {
    const m = manifest('services:\n  slow: {image: a, port: 80, deregistrationDelay: 3600}\n  stuck: {image: a, deployment: {minimum: 50, maximum: 150}}\n');

    expect(refusal(m).message).toMatch(/^MANIFEST_ROLLOUT_STUCK: services\.stuck\.deployment:/);
  });
});

describe('rolloutDeadline', () => {
  it('is the minimum for no services at all', () => {
    expect(rolloutDeadline([], CAP)).toEqual({ status: 'ok', deadlineSeconds: 60, service: '', computation: 'the minimum of 60 s' });
  });
});
