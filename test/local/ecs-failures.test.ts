import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRack, Notification } from '../../local/rack.js';
import {
  builtApp,
  circuitBreakerThreshold,
  commandEnd,
  type FateInputs,
  httpAnswer,
  matcherAccepts,
  isOfficialHttpd,
  shellEnd,
  shellOnlyProgram,
  type TargetHealthCheck,
  taskFate,
} from '../../local/task-fate.js';
import { localRack } from '../support/local-rack.js';
import { ecsService } from '../support/stage.js';
import { buildTarball } from '../support/tarballs.js';

// ------------------------------------------------------------------ the semantics, pure

describe('what a task does, from its definition (local/task-fate.ts)', () => {
  it.each([
    ['exit 1', { ended: true, code: 1 }],
    ['exit 3', { ended: true, code: 3 }],
    ['exit 256', { ended: true, code: 0 }],
    ['exit', { ended: true, code: 0 }],
    ['exit nope', { ended: true, code: 2 }],
    ['false', { ended: true, code: 1 }],
    ['true', { ended: true, code: 0 }],
    ['echo hello', { ended: true, code: 0 }],
    ['sleep 5', { ended: false, code: 0 }],
    ['sleep infinity', { ended: false, code: 0 }],
    ['node server.js', { ended: false, code: 0 }],
    ['httpd-foreground', { ended: false, code: 0 }],
    ['npm run migrate && exit 4', { ended: true, code: 4 }],
    ['npm run migrate || exit 4', { ended: false, code: 0 }],
    ['false || exit 5', { ended: true, code: 5 }],
    ['false && node server.js', { ended: true, code: 1 }],
    ['echo starting; exit 7; node server.js', { ended: true, code: 7 }],
    ['echo "a; exit 9"', { ended: true, code: 0 }],
    ['echo one\nexec node server.js', { ended: false, code: 0 }],
    ['PORT=80 exec httpd-foreground', { ended: false, code: 0 }],
    ['node worker.js & exit 6', { ended: true, code: 6 }],
    ['if [ -z "$X" ]; then exit 1; fi; node server.js', { ended: false, code: 0 }],
    ['exit 1 # a comment', { ended: true, code: 1 }],
    ['', { ended: true, code: 0 }],
  ])('sh -c %j → %j', (script, end) => {
    expect(shellEnd(script)).toEqual(end);
  });

  it.each([
    [['sh', '-c', 'exit 3'], { ended: true, code: 3 }],
    [['/bin/bash', '-ec', 'exit 2'], { ended: true, code: 2 }],
    [['sh', '-e', '-c', 'exit 5'], { ended: true, code: 5 }],
    [['sh', 'script.sh'], { ended: false, code: 0 }],
    [['false'], { ended: true, code: 1 }],
    [['/bin/true'], { ended: true, code: 0 }],
    [['httpd', '-X'], { ended: false, code: 0 }],
    [[], { ended: false, code: 0 }],
  ])('exec form %j → %j', (argv, end) => {
    expect(commandEnd(argv)).toEqual(end);
  });

  it.each([
    [['exit', '1'], 'exit'],
    [['export', 'A=1'], 'export'],
    [['set', '-e'], 'set'],
    [['source', 'env.sh'], 'source'],
    [['sh', '-c', 'exit 1'], undefined],
    [['/usr/local/bin/exit', '1'], undefined],
    [['echo', 'hi'], undefined],
    [['.', 'env.sh'], undefined],
    [[], undefined],
  ])('exec form %j names the shell built-in %s, which is no program', (argv, builtin) => {
    expect(shellOnlyProgram(argv)).toBe(builtin);
  });

  it.each([
    ['200-399', 200, true],
    ['200-399', 301, true],
    ['200-399', 404, false],
    ['200,302', 302, true],
    ['200,302', 301, false],
    ['404', 404, true],
  ])('matcher %s accepts %i: %s', (codes, status, accepts) => {
    expect(matcherAccepts(codes, status)).toBe(accepts);
  });

  const httpd = { server: 'httpd' as const, files: ['/healthz', '/index.html', '/static/app.css'] };
  it.each([
    ['/', 200],
    ['/index.html', 200],
    ['/healthz', 200],
    ['/healthz?probe=1', 200],
    ['/static/', 200],
    ['/static', 301],
    ['/missing', 404],
    ['/missing/', 404],
  ])('httpd with its document root known answers %s with %i', (path, status) => {
    expect(httpAnswer(httpd, path)).toBe(status);
  });

  it('an image the simulator does not know answers every path (undefined: assume served)', () => {
    expect(httpAnswer({}, '/healthz')).toBeUndefined();
    expect(httpAnswer({ server: 'httpd' }, '/healthz')).toBeUndefined();
    expect(httpAnswer(undefined, '/')).toBeUndefined();
  });

  it.each([
    ['httpd:2.4', true],
    [`httpd@sha256:${'a'.repeat(64)}`, true],
    ['docker.io/library/httpd:2.4-alpine', true],
    ['nginx:1.27', false],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/rackless-demo/httpd:web.X', false],
    ['ghcr.io/acme/httpd:1', false],
  ])('FROM %s is the official httpd: %s', (reference, official) => {
    expect(isOfficialHttpd(reference)).toBe(official);
  });

  const context = ['Dockerfile', 'index.html', 'health.txt', 'public/a.html', 'public/css/b.css', 'rackless.yml'];
  it.each([
    ['FROM node:20\nCOPY . /app\n', {}],
    ['FROM httpd:2.4\n', { server: 'httpd', files: ['/index.html'] }],
    ['FROM httpd:2.4\nCOPY index.html /usr/local/apache2/htdocs/index.html\n', { server: 'httpd', files: ['/index.html'] }],
    ['FROM httpd:2.4\nCOPY health.txt /usr/local/apache2/htdocs/healthz\n', { server: 'httpd', files: ['/healthz', '/index.html'] }],
    ['FROM httpd:2.4\nCOPY health.txt /usr/local/apache2/htdocs\n', { server: 'httpd', files: ['/health.txt', '/index.html'] }],
    ['FROM httpd:2.4\nCOPY public/ /usr/local/apache2/htdocs/\n', { server: 'httpd', files: ['/a.html', '/css/b.css', '/index.html'] }],
    ['FROM httpd:2.4\nWORKDIR /usr/local/apache2/htdocs\nCOPY *.html ./\n', { server: 'httpd', files: ['/index.html'] }],
    ['FROM httpd:2.4\nCOPY --chown=www-data ["health.txt", "/usr/local/apache2/htdocs/ok"]\n', { server: 'httpd', files: ['/index.html', '/ok'] }],
    ['FROM httpd:2.4\nCOPY index.html /tmp/\n', { server: 'httpd', files: ['/index.html'] }],
    ['FROM httpd:2.4 AS web\nFROM web\nCOPY health.txt htdocs/healthz\n', { server: 'httpd', files: ['/healthz', '/index.html'] }],
    ['FROM node:20 AS build\nRUN npm run build\nFROM httpd:2.4\nCOPY --from=build /dist /usr/local/apache2/htdocs/\n', { server: 'httpd' }],
    ['FROM httpd:2.4\nRUN echo ok > /usr/local/apache2/htdocs/healthz\n', { server: 'httpd' }],
    ['ARG BASE=httpd:2.4\nFROM $BASE\n', {}],
  ])('a build of %j serves %j', (dockerfile, app) => {
    expect(builtApp(dockerfile, context)).toEqual(app);
  });

  const check = (path: string, codes = '200-399'): TargetHealthCheck => ({ targetGroupArn: 'arn:tg', path, codes, intervalSeconds: 5, unhealthyThreshold: 2 });
  const web = (extra: Partial<FateInputs['container']> = {}): FateInputs['container'] => ({ name: 'web', image: 'httpd:2.4', memoryReservation: 512, ...extra });
  const httpdApp = { server: 'httpd' as const, files: ['/index.html'] };
  it.each<[string, FateInputs, Record<string, unknown>]>([
    ['no command: the image runs', { container: web(), taskMemory: '512', healthCheck: check('/'), app: httpdApp }, { fate: 'runs' }],
    ['command: exit 1', { container: web({ command: ['sh', '-c', 'exit 1'] }), taskMemory: '512' }, { fate: 'exits', exitCode: 1 }],
    [
      'command: [exit, "1"] (exec form: no shell, no program called exit)',
      { container: web({ command: ['exit', '1'] }), taskMemory: '512' },
      { fate: 'cannot-start', reason: expect.stringMatching(/^CannotStartContainerError: .*exec: "exit": executable file not found in \$PATH: unknown$/) },
    ],
    [
      'entryPoint: [export] + command',
      { container: web({ entryPoint: ['export'], command: ['A=1'] }) },
      { fate: 'cannot-start', reason: expect.stringContaining('exec: "export"') },
    ],
    [
      'the start fails before the memory could matter',
      { container: web({ command: ['exit', '0'], environment: [{ name: 'SIMULATE_MEMORY_MB', value: '4096' }] }), taskMemory: '512' },
      { fate: 'cannot-start' },
    ],
    ['a program at a path is run, whatever it is called', { container: web({ command: ['/usr/local/bin/exit', '1'] }) }, { fate: 'runs' }],
    ['entryPoint + command', { container: web({ entryPoint: ['sh', '-c'], command: ['exit 3'] }) }, { fate: 'exits', exitCode: 3 }],
    ['command: echo (ends with 0)', { container: web({ command: ['sh', '-c', 'echo hi'] }) }, { fate: 'exits', exitCode: 0 }],
    [
      'uses more than the task memory',
      { container: web({ environment: [{ name: 'SIMULATE_MEMORY_MB', value: '1024' }] }), taskMemory: '512' },
      { fate: 'oom', usedMb: 1024, limitMb: 512 },
    ],
    [
      'the container memory is the hard limit when set',
      { container: web({ memory: 256, environment: [{ name: 'SIMULATE_MEMORY_MB', value: '300' }] }), taskMemory: '512' },
      { fate: 'oom', limitMb: 256 },
    ],
    ['within the limit', { container: web({ environment: [{ name: 'SIMULATE_MEMORY_MB', value: '512' }] }), taskMemory: '512' }, { fate: 'runs' }],
    ['memoryReservation alone kills nothing', { container: web({ environment: [{ name: 'SIMULATE_MEMORY_MB', value: '4096' }] }) }, { fate: 'runs' }],
    [
      'the exit comes before the memory',
      { container: web({ command: ['sh', '-c', 'exit 2'], environment: [{ name: 'SIMULATE_MEMORY_MB', value: '4096' }] }), taskMemory: '512' },
      { fate: 'exits', exitCode: 2 },
    ],
    [
      'httpd does not serve /healthz',
      { container: web(), healthCheck: check('/healthz'), graceSeconds: 30, app: httpdApp },
      { fate: 'unhealthy', status: 404, afterSeconds: 30, targetGroupArn: 'arn:tg' },
    ],
    [
      'the ALB threshold when longer than the grace',
      { container: web(), healthCheck: { ...check('/healthz'), intervalSeconds: 30, unhealthyThreshold: 3 }, graceSeconds: 10, app: httpdApp },
      { fate: 'unhealthy', afterSeconds: 90 },
    ],
    ['a matcher that accepts the 404', { container: web(), healthCheck: check('/healthz', '200-499'), app: httpdApp }, { fate: 'runs' }],
    ['an unknown image serves every path', { container: web({ image: 'node:20' }), healthCheck: check('/healthz'), app: {} }, { fate: 'runs' }],
    ['a disabled health check', { container: web(), healthCheck: { ...check('/healthz'), enabled: false }, app: httpdApp }, { fate: 'runs' }],
    [
      'a container health check that fails',
      { container: web({ healthCheck: { command: ['CMD-SHELL', 'exit 1'], interval: 10, retries: 3, startPeriod: 5 } }) },
      { fate: 'container-unhealthy', afterSeconds: 35 },
    ],
    [
      'a CMD health check naming a shell built-in never runs',
      { container: web({ healthCheck: { command: ['CMD', 'exit', '0'], interval: 10, retries: 3 } }) },
      { fate: 'container-unhealthy', afterSeconds: 30 },
    ],
    [
      'a container health check the simulator cannot judge',
      { container: web({ healthCheck: { command: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'] } }) },
      { fate: 'runs' },
    ],
  ])('%s', (_, inputs, fate) => {
    expect(taskFate(inputs)).toMatchObject(fate);
  });

  it('says in the task log what it simulated', () => {
    expect(taskFate({ container: web({ command: ['sh', '-c', 'exit 3'] }) })).toMatchObject({
      why: '[rackless local] simulated: the container\'s command (sh -c "exit 3") ends with exit code 3',
    });
    expect(taskFate({ container: web({ environment: [{ name: 'SIMULATE_MEMORY_MB', value: '1024' }] }), taskMemory: '512' })).toMatchObject({
      why: expect.stringContaining('OutOfMemoryError: Container killed due to memory usage'),
    });
  });

  it.each([
    [1, 3],
    [2, 3],
    [7, 4],
    [10, 5],
    [1000, 200],
  ])('the circuit breaker of %i desired tasks trips at %i failed tasks', (desired, threshold) => {
    expect(circuitBreakerThreshold(desired)).toBe(threshold);
  });
});

// ------------------------------------------------------------------ end to end, on a local rack

let rack: LocalRack;

beforeAll(async () => {
  rack = await localRack();
});
beforeEach(async () => {
  await rack.notifications();
});

const manifest = (body: string) => buildTarball([{ name: 'rackless.yml', body }]);
const HTTPD = 'services:\n  web:\n    image: httpd:2.4\n    port: 80\n';

async function service(app: string) {
  const res = await rack.aws.ecs.send(new DescribeServicesCommand({ cluster: rack.resources.cluster, services: [ecsService(app)] }));
  return res.services?.[0];
}

/** The deploy's own notification (the topic also carries alarms). */
async function deployNote(): Promise<Notification> {
  const notes = await rack.notifications();
  const note = notes.findLast((n) => n.attributes.status === 'rolled-back' || n.attributes.status === 'failed' || n.attributes.status === 'succeeded');
  if (!note) throw new Error(`no deploy notification among ${JSON.stringify(notes.map((n) => n.subject))}`);
  return note;
}

/** The task stops the simulator sent for a task definition revision of the app. */
function stops(app: string, revision: number) {
  return rack.simulator.emitted.filter(
    (e) => e['detail-type'] === 'ECS Task State Change' && e.detail?.lastStatus === 'STOPPED' && e.detail.taskDefinitionArn?.endsWith(`${ecsService(app)}:${revision}`),
  );
}

/** A first good release, then the failing one: the deploy must fail and roll the service back to revision 1. */
async function failAfterGood(app: string, good: Buffer, bad: Buffer) {
  const first = await rack.deploy(app, good);
  expect(first.status).toBe('SUCCEEDED');
  expect((await service(app))?.taskDefinition).toMatch(/:1$/);
  await rack.notifications();
  const run = await rack.deploy(app, bad, 'b.tar.gz');
  expect(run.status).toBe('FAILED');
  expect(run.statesEntered).toContain('Rollback');
  // moto's service is back on the previous release's task definition, which is current again
  const after = await service(app);
  expect(after?.taskDefinition).toMatch(new RegExp(`${ecsService(app)}:1$`));
  expect(after?.status).toBe('ACTIVE');
  expect((await rack.store.currentRelease(app))?.number).toBe(1);
  expect((await rack.store.listReleases(app)).map((r) => [r.number, r.status])).toEqual([
    [2, 'failed'],
    [1, 'active'],
  ]);
  // the rollback's deployment (revision 1 again) rolled out and completed
  const last = rack.simulator.rollouts.findLast((r) => r.app === app)!;
  expect(last.taskDefinitionArn).toMatch(/:1$/);
  expect(last.fate).toEqual({ fate: 'runs' });
  return { run, note: await deployNote() };
}

describe('failures a user can cause with `rackless local up`', () => {
  it('command: exit 1 crash-loops with exit code 1 and rolls back', async () => {
    const { run, note } = await failAfterGood('exit-one', await manifest(HTTPD), await manifest(`${HTTPD}    command: exit 1\n`));
    expect(run.error).toBe('TOO_MANY_FAILED_TASKS');
    const stopped = stops('exit-one', 2);
    // ECS replaced each stopped task until the watch rolled back (the circuit breaker's 3 tasks)
    expect(stopped).toHaveLength(3);
    for (const event of stopped) {
      expect(event.detail).toMatchObject({ stoppedReason: 'Essential container in task exited', stopCode: 'EssentialContainerExited' });
      expect(event.detail.containers).toEqual([expect.objectContaining({ name: 'web', exitCode: 1 })]);
    }
    expect(note.attributes).toMatchObject({ app: 'exit-one', status: 'rolled-back', service: 'web' });
    expect(note.message).toContain('Exit code: 1');
    expect(note.message).toContain('container web exited with code 1');
    expect(note.message).toContain('[rackless local] simulated: the container\'s command (sh -c "exit 1") ends with exit code 1');
  });

  it('command: [exit, "1"] is exec form: the container cannot start (CannotStartContainerError), and rolls back', async () => {
    const { run, note } = await failAfterGood('exit-exec', await manifest(HTTPD), await manifest(`${HTTPD}    command: [exit, "1"]\n`));
    expect(run.error).toBe('TOO_MANY_FAILED_TASKS');
    const stopped = stops('exit-exec', 2);
    expect(stopped).toHaveLength(3);
    for (const event of stopped) {
      expect(event.detail).toMatchObject({
        stopCode: 'TaskFailedToStart',
        stoppedReason: expect.stringMatching(/^CannotStartContainerError: .*exec: "exit": executable file not found in \$PATH/),
      });
      // it never ran: no exit code, and never RUNNING
      expect(event.detail.containers).toEqual([expect.objectContaining({ name: 'web', reason: event.detail.stoppedReason })]);
      expect(event.detail.containers[0].exitCode).toBeUndefined();
      expect(rack.simulator.emitted.filter((e) => e.detail?.taskArn === event.detail.taskArn).map((e) => e.detail.lastStatus)).toEqual(['STOPPED']);
    }
    expect(note.attributes).toMatchObject({ app: 'exit-exec', status: 'rolled-back', service: 'web' });
    expect(note.message).toContain('task failed to start: CannotStartContainerError');
    expect(note.message).not.toContain('Exit code');
  });

  it('command: [sh, -c, "exit 3"] crash-loops with exit code 3', async () => {
    const { run, note } = await failAfterGood('exit-three', await manifest(HTTPD), await manifest(`${HTTPD}    command: [sh, -c, "exit 3"]\n`));
    expect(run.error).toBe('TOO_MANY_FAILED_TASKS');
    expect(stops('exit-three', 2).map((e) => e.detail.containers[0].exitCode)).toEqual([3, 3, 3]);
    expect(note.message).toContain('Exit code: 3');
  });

  it('a process over its memory limit is killed: OutOfMemoryError, exit 137', async () => {
    const oom = `${HTTPD}    scale: {memory: 512}\n    environment:\n      - SIMULATE_MEMORY_MB=1024\n`;
    const { run, note } = await failAfterGood('hungry', await manifest(HTTPD), await manifest(oom));
    expect(run.error).toBe('TOO_MANY_FAILED_TASKS');
    const [first] = stops('hungry', 2);
    expect(first!.detail.containers[0]).toMatchObject({ exitCode: 137, reason: 'OutOfMemoryError: Container killed due to memory usage' });
    expect(note.subject).toMatch(/out of memory/);
    expect(note.message).toContain('container web ran out of memory (exit 137)');
    expect(note.message).toContain('OutOfMemoryError');
  });

  it('within its memory limit the same process runs', async () => {
    const run = await rack.deploy('roomy', await manifest(`${HTTPD}    scale: {memory: 2048}\n    environment:\n      - SIMULATE_MEMORY_MB=1024\n`));
    expect(run.status).toBe('SUCCEEDED');
  });

  it('a pulled image: is opaque to the simulator: any health check path passes', async () => {
    const run = await rack.deploy('opaque', await manifest(`${HTTPD}    health: /health\n`));
    expect(run.status).toBe('SUCCEEDED');
    expect(rack.simulator.rollouts.findLast((r) => r.app === 'opaque')?.fate).toEqual({ fate: 'runs' });
  });

  it('a health check path httpd does not serve fails its target health and rolls back', async () => {
    const site = (health: string, extra: Array<{ name: string; body: string }> = [], copy = '') =>
      buildTarball([
        { name: 'Dockerfile', body: `FROM httpd:2.4\nCOPY index.html /usr/local/apache2/htdocs/index.html\n${copy}EXPOSE 80\n` },
        { name: 'index.html', body: '<h1>hello</h1>\n' },
        { name: 'rackless.yml', body: `services:\n  web:\n    build: .\n    port: 80\n    health: ${health}\n` },
        ...extra,
      ]);
    const { run, note } = await failAfterGood('unserved', await site('/'), await site('/healthz'));
    expect(run.error).toBe('TOO_MANY_FAILED_TASKS');
    const stopped = stops('unserved', 2);
    expect(stopped).toHaveLength(3);
    expect(stopped[0]!.detail).toMatchObject({
      stopCode: 'ServiceSchedulerInitiated',
      stoppedReason: expect.stringMatching(/^Task failed ELB health checks in \(target-group arn:aws:elasticloadbalancing:/),
    });
    // each task ran before its health checks failed
    const taskArn = stopped[0]!.detail.taskArn;
    expect(rack.simulator.emitted.filter((e) => e.detail?.taskArn === taskArn).map((e) => e.detail.lastStatus)).toEqual(['RUNNING', 'STOPPED']);
    expect(note.subject).toMatch(/health check failed/);
    expect(note.message).toMatch(/Health check: ELB health check of target group \S+/);
    expect(note.message).toContain('GET /healthz answers 404');

    // the fix: a file at /healthz in the document root
    const fixed = await rack.deploy('unserved', await site('/healthz', [{ name: 'healthz', body: 'ok\n' }], 'COPY healthz /usr/local/apache2/htdocs/healthz\n'), 'c.tar.gz');
    expect(fixed.status).toBe('SUCCEEDED');
    expect((await service('unserved'))?.taskDefinition).toMatch(/:3$/);

    // each build is its own image: rolling back to the fixed one finds its /healthz again
    const again = await rack.deploy('unserved', await site('/healthz'), 'd.tar.gz');
    expect(again.status).toBe('FAILED');
    expect((await service('unserved'))?.taskDefinition).toMatch(/:3$/);
    const back = rack.simulator.rollouts.findLast((r) => r.app === 'unserved')!;
    expect([back.taskDefinitionArn.split(':').pop(), back.fate]).toEqual(['3', { fate: 'runs' }]);
  });
});
