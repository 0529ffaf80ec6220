import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { localRack } from '../support/local-rack.js';
import { buildTarball } from '../support/tarballs.js';

/**
 * New accounts often have a concurrent-build quota of 1: a StartBuild while another build runs is
 * refused with AccountLimitExceededException. The Build step waits it out (its Retry in
 * state-machines/deploy.asl.yml) instead of failing the deploy.
 */
let rack: LocalRack;

beforeAll(async () => {
  rack = await localRack();
});

describe('the Build step and the concurrent-build quota', () => {
  it('retries a StartBuild the quota refused, and the deploy rolls out', async () => {
    rack.builds.refuse('quota', 'AccountLimitExceededException', 3);
    const run = await rack.deploy('quota', await buildTarball([{ name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' }]));
    expect(run.status).toBe('SUCCEEDED');
    expect(rack.builds.refused).toEqual(Array(3).fill({ app: 'quota', error: 'AccountLimitExceededException' }));
    // one build ran, after the refusals
    expect(rack.builds.builds.filter((b) => b.environment.RACKLESS_APP === 'quota')).toHaveLength(1);
  });

  it('fails the deploy with BUILD_FAILED once the retries are spent', async () => {
    rack.builds.refuse('stuck', 'AccountLimitExceededException', 100);
    const run = await rack.deploy('stuck', await buildTarball([{ name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' }]));
    expect(run.error).toBe('BUILD_FAILED');
    // the first attempt and the 20 retries of the rule
    expect(rack.builds.refused.filter((r) => r.app === 'stuck')).toHaveLength(21);
    expect(rack.calls.named('CreateService').filter((c) => JSON.stringify(c).includes('stuck'))).toEqual([]);
  });
});
