import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { localRack } from '../support/local-rack.js';
import { ecsService } from '../support/stage.js';
import { buildTarball } from '../support/tarballs.js';

/**
 * Every step of the deploy, its runtime dying before its AWS calls or after all of them
 * (`Lambda.Unknown`, which the state machine retries), and the build's StartBuild refused once (a
 * transient CodeBuild error the Build state retries): the deploy still ends as it would have, every
 * service runs one consistent release, exactly one notification goes out, and the app deploys again.
 */
let rack: LocalRack;

beforeAll(async () => {
  rack = await localRack();
});
beforeEach(async () => {
  await rack.notifications();
  rack.calls.clear();
});

const SERVICES = ['web', 'worker'];
const tarball = (version: string) =>
  buildTarball([
    { name: 'Dockerfile', body: `FROM httpd:2.4\nCOPY index.html /usr/local/apache2/htdocs/\n` },
    { name: 'index.html', body: `<h1>${version}</h1>\n` },
    { name: 'rackless.yml', body: `services:\n  web:\n    build: .\n    port: 80\n  worker:\n    build: .\n    environment: [VERSION=${version}]\n` },
  ]);

const crash = () => Object.assign(new Error('the runtime exited before returning'), { name: 'Lambda.Unknown' });

/** Dies once, before or after the real run (of the first invocation `matches` accepts); the retry runs normally. */
function crashOnce(step: string, when: 'before' | 'after', matches: (event: any) => boolean = () => true): { restore: () => void; crashed: () => boolean } {
  let done = false;
  const restore = rack.functions.intercept(step, async (run, event) => {
    if (done || !matches(event)) return run();
    done = true;
    if (when === 'before') throw crash();
    await run();
    throw crash();
  });
  return { restore, crashed: () => done };
}

async function serving(app: string): Promise<Record<string, string>> {
  const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.resources.cluster, services: SERVICES.map((s) => ecsService(app, s)) }));
  return Object.fromEntries((res.services ?? []).map((s) => [s.serviceName!.split('--').pop()!, s.taskDefinition!]));
}

async function notesOf(app: string) {
  return (await rack.notifications()).filter((n) => n.attributes.app === app);
}

/** Every service runs the task definitions of the app's current release. */
async function consistent(app: string): Promise<void> {
  const current = await rack.store.currentRelease(app);
  expect(current, `${app} has a current release`).toBeDefined();
  expect(await serving(app)).toEqual(Object.fromEntries(SERVICES.map((s) => [s, current!.taskDefinitions[s]])));
}

describe('a step that dies before or after its AWS calls', () => {
  // queue: the Queue step's enqueue (before: nothing recorded; after: the lock taken and the token
  // sent, then the runtime dies and the step is retried with a new token); watch: the Watch step's
  // registration of its token (after: registered, then retried with a new token)
  const steps = ['queue', 'prepare', 'release', 'promote', 'watch', 'retire', 'notify'] as const;
  const only: Partial<Record<(typeof steps)[number], (event: any) => boolean>> = { queue: (event) => event?.action === 'enqueue' };
  it.each(steps.flatMap((step) => (['before', 'after'] as const).map((when) => [step, when] as const)))(
    '%s, %s: the deploy ends as it would, one notification',
    async (step, when) => {
      const app = `c${step.slice(0, 4)}${when === 'before' ? 'b' : 'a'}`;
      expect((await rack.deploy(app, await tarball('v1'))).status).toBe('SUCCEEDED');
      await notesOf(app);
      const fault = crashOnce(step, when, only[step]);
      let run: Awaited<ReturnType<LocalRack['deploy']>>;
      try {
        run = await rack.deploy(app, await tarball('v2'), 'v2.tar.gz');
      } finally {
        fault.restore();
      }
      expect(fault.crashed(), `${step} ran`).toBe(true);
      expect(run.status, `${run.error}: ${run.cause}`).toBe('SUCCEEDED');
      await consistent(app);
      expect((await rack.store.currentRelease(app))!.number).toBe(2);
      const notes = await notesOf(app);
      expect(notes.map((n) => n.attributes.status)).toEqual(['succeeded']);
      // and the app is deployable again at once
      expect((await rack.deploy(app, await tarball('v3'), 'v3.tar.gz')).status).toBe('SUCCEEDED');
      await consistent(app);
    },
  );

  it.each(['AWSCodeBuildException', 'AccountLimitExceededException'])(
    'build, StartBuild refused with %s: the Build state retries it, one build runs, one notification',
    async (error) => {
      const app = `cbuild${error.length}`;
      expect((await rack.deploy(app, await tarball('v1'))).status).toBe('SUCCEEDED');
      await notesOf(app);
      const [builds, refused] = [rack.builds.builds.length, rack.builds.refused.length];
      rack.builds.refuse(app, error, 1);
      const run = await rack.deploy(app, await tarball('v2'), 'v2.tar.gz');
      expect(run.status, `${run.error}: ${run.cause}`).toBe('SUCCEEDED');
      expect(rack.builds.refused.slice(refused)).toEqual([{ app, error }]);
      expect(rack.builds.builds.slice(builds).map((b) => b.environment.RACKLESS_APP)).toEqual([app]);
      // the Build state entered once, retried within it
      expect(run.statesEntered.filter((s) => s === 'Build')).toEqual(['Build']);
      await consistent(app);
      expect((await rack.store.currentRelease(app))!.number).toBe(2);
      expect((await notesOf(app)).map((n) => n.attributes.status)).toEqual(['succeeded']);
      expect((await rack.deploy(app, await tarball('v3'), 'v3.tar.gz')).status).toBe('SUCCEEDED');
      await consistent(app);
    },
  );

  it.each(['before', 'after'] as const)('rollback, %s: every service back on the previous release, one notification', async (when) => {
    const app = `crb${when === 'before' ? 'b' : 'a'}`;
    expect((await rack.deploy(app, await tarball('v1'))).status).toBe('SUCCEEDED');
    const before = await serving(app);
    await notesOf(app);
    rack.simulator.next(app, { outcome: 'fail' });
    const fault = crashOnce('rollback', when);
    let run: Awaited<ReturnType<LocalRack['deploy']>>;
    try {
      run = await rack.deploy(app, await tarball('v2'), 'v2.tar.gz');
    } finally {
      fault.restore();
    }
    expect(fault.crashed()).toBe(true);
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('ROLLOUT_FAILED');
    expect(await serving(app)).toEqual(before);
    await consistent(app);
    const notes = await notesOf(app);
    expect(notes.map((n) => n.attributes.status)).toEqual(['rolled-back']);
    expect((await rack.deploy(app, await tarball('v3'), 'v3.tar.gz')).status).toBe('SUCCEEDED');
    await consistent(app);
  });
});
