import { AutoScalingClient, CompleteLifecycleActionCommand, DescribeAutoScalingGroupsCommand, TerminateInstanceInAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DeregisterContainerInstanceCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListContainerInstancesCommand,
  RegisterTaskDefinitionCommand,
  StartTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DependencyOverrides } from '../../local/lambda.js';
import type { LocalRack } from '../../local/rack.js';
import type { ExecutionRecord } from '../../local/stepfunctions.js';
import type { LifecycleAction } from '../../shared/drain/types.js';
import { localRack, motoUrl } from '../support/local-rack.js';
import { TEST_RACK } from '../support/stage.js';

/*
 * Every drain here starts as AWS starts one: a scale-in of the rack's Auto Scaling group through the
 * functions' clients, held in Terminating:Wait by the rack's lifecycle hook, the lifecycle event on
 * EventBridge, the template's rule, drain-start, the drain state machine, and CompleteLifecycleAction
 * answered by the local Auto Scaling. Wait states are timers on the rack's virtual clock, so the
 * hook's 600 s heartbeat timeout and the 900 s DRAIN_MAX_SECONDS pass in simulated time.
 */
const GROUP = `${TEST_RACK}-instances`;
const HOOK = `${TEST_RACK}-drain`;
/** the hook's HeartbeatTimeout in the template */
const HEARTBEAT_TIMEOUT = 600;
/** seconds between checks: 15, a quarter of the heartbeat timeout when that is shorter */
const WAIT_SECONDS = 15;
/** the first check with a heartbeat due: half the heartbeat timeout in */
const FIRST_HEARTBEAT_CHECK = HEARTBEAT_TIMEOUT / 2 / WAIT_SECONDS;

const HEAD = ['Find container instance', 'Registered with the cluster?', 'Start draining'];
const LOOP = ['Wait for tasks to move', 'Check running tasks', 'Tasks left?'];
const TAIL = ['Complete lifecycle action', 'Drain failed?', 'Drained'];
const loops = (n: number) => Array.from({ length: n }, () => LOOP).flat();

let rack: LocalRack;
/** the group's two instances, and the container instance the ECS agent registered on each */
let A: string;
let B: string;
let containerOf: Record<string, string>;

/**
 * The ECS scheduler, played by the test: moto never moves a task off a DRAINING instance, so after
 * drain-check's nth count of the tasks on the instance (n from 1) the test does what ECS would have
 * done meanwhile (or fails the count, as a throttled call). A dependency override of drain-check's
 * ECS client, in place from the rack's start.
 */
let afterCount: (n: number) => Promise<void>;
let counts = 0;
const playEcsScheduler: DependencyOverrides = (name, deps) => {
  if (name !== `${TEST_RACK}-drain-check`) return {};
  const ecs = deps.ecs as ECSClient;
  const send = async (command: unknown) => {
    const output = await ecs.send(command as never);
    if (command instanceof DescribeContainerInstancesCommand) {
      counts += 1;
      await afterCount(counts);
    }
    return output;
  };
  return { ecs: { send } as unknown as ECSClient };
};

/** moto reads a task's status as its last state (STOPPED) on every read unless told to move it by hand. */
async function setTaskTransition(transition: { progression: string; times?: number } | null): Promise<void> {
  const path = transition ? 'set-transition' : 'unset-transition';
  const res = await fetch(`${motoUrl()}/moto-api/state-manager/${path}`, {
    method: 'POST',
    body: JSON.stringify({ model_name: 'ecs::task', ...(transition ? { transition } : {}) }),
  });
  if (!res.ok) throw new Error(`moto ${path} failed: HTTP ${res.status}`);
}

beforeAll(async () => {
  // moto's reset keeps the state manager's transitions: once for the file
  await setTaskTransition({ progression: 'manual', times: 1_000_000 });
});

afterAll(async () => {
  // other test files share this worker's moto: give them back its default task behaviour
  await setTaskTransition(null);
});

beforeEach(async () => {
  // each drain terminates an instance of the group's two: a fresh rack (and moto) for every test
  rack = await localRack({ overrides: playEcsScheduler });
  afterCount = async () => undefined;
  counts = 0;
  [A, B] = (await groupInstances()) as [string, string];
  const cluster = rack.resources.cluster;
  containerOf = {};
  const arns = (await rack.aws.ecs.send(new ListContainerInstancesCommand({ cluster }))).containerInstanceArns ?? [];
  const described = await rack.aws.ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }));
  for (const ci of described.containerInstances ?? []) containerOf[ci.ec2InstanceId!] = ci.containerInstanceArn!;
  expect(Object.keys(containerOf).sort()).toEqual([A, B].sort());
  for (const family of ['web', 'worker', 'migrate']) {
    await rack.aws.ecs.send(new RegisterTaskDefinitionCommand({ family, containerDefinitions: [{ name: family, image: 'httpd:2.4', memory: 128, essential: true }] }));
  }
});

// ---------------------------------------------------------------- what the test does and reads

/** Scales the group in by one instance, as Auto Scaling's scale-in or an operator does; the drain it started. */
async function scaleIn(instanceId: string, decrement = true): Promise<ExecutionRecord> {
  const before = new Set(drains().map((d) => d.executionArn));
  const answer = await rack
    .functionsAws(AutoScalingClient)
    .send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instanceId, ShouldDecrementDesiredCapacity: decrement }));
  expect(answer.Activity?.StatusCode).toBe('MidLifecycleAction');
  const started = drains().filter((d) => !before.has(d.executionArn));
  expect(started).toHaveLength(1);
  return started[0]!;
}

/** The drain state machine's executions in the rack. */
function drains(): ExecutionRecord[] {
  return rack.stepFunctions.all.filter((e) => e.stateMachineArn === rack.resources.drainStateMachineArn);
}

/** The lifecycle action Auto Scaling sent for the drain (its input). */
function actionOf(drain: ExecutionRecord): LifecycleAction {
  return drain.input as LifecycleAction;
}

/** What an operator's `aws autoscaling complete-lifecycle-action` does. */
async function completeByHand(action: LifecycleAction): Promise<void> {
  await rack.functionsAws(AutoScalingClient).send(
    new CompleteLifecycleActionCommand({
      AutoScalingGroupName: action.autoScalingGroupName,
      LifecycleHookName: action.lifecycleHookName,
      LifecycleActionToken: action.lifecycleActionToken,
      InstanceId: action.instanceId,
      LifecycleActionResult: 'CONTINUE',
    }),
  );
}

async function groupInstances(): Promise<string[]> {
  const groups = await rack.aws.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }));
  return (groups.AutoScalingGroups?.[0]?.Instances ?? []).map((i) => i.InstanceId!);
}

async function desiredCapacity(): Promise<number | undefined> {
  const groups = await rack.aws.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }));
  return groups.AutoScalingGroups?.[0]?.DesiredCapacity;
}

async function ec2State(instanceId: string): Promise<string | undefined> {
  const described = await rack.aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return described.Reservations?.[0]?.Instances?.[0]?.State?.Name;
}

/** The container instance of an EC2 instance as the cluster sees it; undefined once it left the cluster. */
async function containerInstance(instanceId: string) {
  const described = await rack.aws.ecs.send(new DescribeContainerInstancesCommand({ cluster: rack.resources.cluster, containerInstances: [containerOf[instanceId]!] }));
  return described.containerInstances?.[0];
}

async function startTasks(instanceId: string, family: string, count: number, group?: string): Promise<string[]> {
  const arns: string[] = [];
  for (let i = 0; i < count; i++) {
    const started = await rack.aws.ecs.send(
      new StartTaskCommand({ cluster: rack.resources.cluster, taskDefinition: family, containerInstances: [containerOf[instanceId]!], group }),
    );
    arns.push(started.tasks![0]!.taskArn!);
  }
  return arns;
}

async function tasks(arns: string[]) {
  const described = await rack.aws.ecs.send(new DescribeTasksCommand({ cluster: rack.resources.cluster, tasks: arns }));
  return arns.map((arn) => described.tasks!.find((t) => t.taskArn === arn)!);
}

async function stopTasks(arns: string[], reason: string): Promise<void> {
  for (const task of arns) await rack.aws.ecs.send(new StopTaskCommand({ cluster: rack.resources.cluster, task, reason }));
}

/** The instance left: terminated in moto, out of the group (which shrank by one), its agent gone from the cluster. */
async function expectTerminated(instanceId: string, others: string[]): Promise<void> {
  expect(await groupInstances()).toEqual(others);
  expect(await desiredCapacity()).toBe(1);
  expect(await ec2State(instanceId)).toBe('terminated');
  expect(await containerInstance(instanceId)).toBeUndefined();
}

const CONTINUED = (instanceId: string) => ({ instanceId, result: 'CONTINUE', by: 'CompleteLifecycleAction', at: expect.any(Number) });

// ---------------------------------------------------------------- the drains

describe('a scale-in drains the instance before Auto Scaling terminates it', () => {
  it('continues at once when the EC2 instance is not a container instance of the cluster', async () => {
    // the agent never registered (or left): the instance has nothing of the rack's to drain
    await rack.aws.ecs.send(new DeregisterContainerInstanceCommand({ cluster: rack.resources.cluster, containerInstance: containerOf[A]!, force: true }));

    const drain = await scaleIn(A);
    const run = await rack.finish(drain.name);

    expect(actionOf(drain)).toEqual({ instanceId: A, autoScalingGroupName: GROUP, lifecycleHookName: HOOK, lifecycleActionToken: expect.any(String) });
    expect(drain.name).toBe(`${A}-${actionOf(drain).lifecycleActionToken}`);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered).toEqual(['Find container instance', 'Registered with the cluster?', ...TAIL]);
    expect(run.output).toMatchObject({ outcome: 'no-instance', containerInstanceArn: null, lifecycleActionResult: 'CONTINUE', lifecycleAction: 'completed' });
    expect(rack.autoscaling.completed).toEqual([CONTINUED(A)]);
    // at once: no Wait, the clock never moved
    expect(rack.scheduler.jumps).toEqual([]);
    expect(await groupInstances()).toEqual([B]);
    expect(await ec2State(A)).toBe('terminated');
    // the match is by EC2 id: the other instance's container instance is untouched
    expect((await containerInstance(B))?.status).toBe('ACTIVE');
    expect(await rack.notifications()).toEqual([]);
  });

  it('sets DRAINING and continues once the service tasks have moved, after the second check', async () => {
    const serviceTasks = await startTasks(A, 'web', 2, 'service:web');
    const seen: Array<{ check: number; status?: string; inGroup: boolean; completed: number }> = [];
    afterCount = async (n) => {
      seen.push({ check: n, status: (await containerInstance(A))?.status, inGroup: (await groupInstances()).includes(A), completed: rack.autoscaling.completed.length });
      // ECS moves the tasks of a DRAINING instance elsewhere; moto never does, so the test plays the scheduler
      if (n === 2) await stopTasks(serviceTasks, 'Service web: task moved off a draining instance');
    };

    const drain = await scaleIn(A);
    const run = await rack.finish(drain.name);

    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered).toEqual([...HEAD, ...loops(3), ...TAIL]);
    expect(run.output).toMatchObject({
      outcome: 'drained',
      containerInstanceArn: containerOf[A],
      checks: 3,
      runningTasks: 0,
      heartbeats: 0,
      waitSeconds: WAIT_SECONDS,
      heartbeatTimeout: HEARTBEAT_TIMEOUT,
      lifecycleAction: 'completed',
    });
    // DRAINING from the first check on, the instance held in the group until the drain's CONTINUE
    expect(seen).toEqual([1, 2, 3].map((check) => ({ check, status: 'DRAINING', inGroup: true, completed: 0 })));
    expect(rack.autoscaling.completed).toEqual([CONTINUED(A)]);
    // three 15 s waits of simulated time; no heartbeat is due before 300 s
    expect(drain.stopDate!.getTime() - drain.startDate.getTime()).toBeGreaterThanOrEqual(3 * WAIT_SECONDS * 1000);
    expect(rack.autoscaling.heartbeats).toEqual([]);
    expect((await tasks(serviceTasks)).map((t) => t.lastStatus)).toEqual(['STOPPED', 'STOPPED']);
    await expectTerminated(A, [B]);
    expect((await containerInstance(B))?.status).toBe('ACTIVE');
    expect(await rack.notifications()).toEqual([]);
  });

  it('stops standalone tasks and leaves service tasks to their service', async () => {
    const serviceTasks = await startTasks(A, 'web', 1, 'service:web');
    const workerTasks = await startTasks(A, 'worker', 1, 'service:worker');
    // a task started by hand (group family:migrate) and one of a task group that is not a service
    const standalone = [...(await startTasks(A, 'migrate', 1)), ...(await startTasks(A, 'migrate', 1, 'nightly'))];
    const elsewhere = await startTasks(B, 'migrate', 1);
    let stillWanted: string[] = [];
    afterCount = async (n) => {
      if (n !== 1) return;
      const all = await tasks([...serviceTasks, ...workerTasks, ...standalone, ...elsewhere]);
      stillWanted = all
        .filter((t) => t.desiredStatus === 'RUNNING')
        .map((t) => t.taskArn!)
        .sort();
      await stopTasks([...serviceTasks, ...workerTasks], 'Service task moved off a draining instance');
    };

    const drain = await scaleIn(A);
    const run = await rack.finish(drain.name);

    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ outcome: 'drained', standaloneTasksStopped: 2, checks: 2 });
    // by the first check the drain had stopped the standalone tasks and nothing else
    expect(stillWanted).toEqual([...serviceTasks, ...workerTasks, ...elsewhere].sort());
    const reason = `Rackless drain: instance ${A} is leaving Auto Scaling group ${GROUP}`;
    expect((await tasks(standalone)).map((t) => [t.lastStatus, t.desiredStatus, t.stoppedReason])).toEqual([
      ['STOPPED', 'STOPPED', reason],
      ['STOPPED', 'STOPPED', reason],
    ]);
    const [other] = await tasks(elsewhere);
    expect([other!.lastStatus, other!.desiredStatus]).toEqual(['RUNNING', 'RUNNING']);
    expect(rack.autoscaling.completed).toEqual([CONTINUED(A)]);
    await expectTerminated(A, [B]);
  });

  it('publishes nothing for a drain that finished in time', async () => {
    const drain = await scaleIn(A);
    const run = await rack.finish(drain.name);

    expect(run.statesEntered).toEqual([...HEAD, ...loops(1), ...TAIL]);
    expect(run.output).toMatchObject({ outcome: 'drained', checks: 1, runningTasks: 0 });
    expect(rack.autoscaling.completed).toEqual([CONTINUED(A)]);
    expect(await rack.notifications()).toEqual([]);
  });

  it('finishes when the container instance leaves the cluster during the drain', async () => {
    await startTasks(A, 'web', 1, 'service:web');
    afterCount = async (n) => {
      if (n === 1) await rack.aws.ecs.send(new DeregisterContainerInstanceCommand({ cluster: rack.resources.cluster, containerInstance: containerOf[A]!, force: true }));
    };

    const drain = await scaleIn(A);
    const run = await rack.finish(drain.name);

    expect(run.statesEntered).toEqual([...HEAD, ...loops(2), ...TAIL]);
    expect(run.output).toMatchObject({ outcome: 'drained', runningTasks: 0, checks: 2 });
    expect(rack.autoscaling.completed).toEqual([CONTINUED(A)]);
    await expectTerminated(A, [B]);
  });
});

describe('a drain that runs out of time', () => {
  it('records a heartbeat at half the hook timeout and continues at DRAIN_MAX_SECONDS with a warning', async () => {
    const maxSeconds = Number(rack.functions.get('drain-find').environment.DRAIN_MAX_SECONDS);
    expect(maxSeconds).toBe(900);
    const checks = maxSeconds / WAIT_SECONDS;
    // service tasks that never move (no ECS scheduler plays here)
    await startTasks(A, 'web', 3, 'service:web');

    const drain = await scaleIn(A);
    const run = await rack.finish(drain.name);

    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered).toEqual([...HEAD, ...loops(checks), ...TAIL]);
    // 60 checks 15 s apart; a heartbeat every 300 s (half of 600) until the last check times out
    expect(run.output).toMatchObject({ outcome: 'timed-out', checks, runningTasks: 3, heartbeats: 2, maxSeconds, lifecycleAction: 'completed' });
    expect(run.output.elapsedSeconds).toBeGreaterThanOrEqual(maxSeconds);
    const startedAtMs = run.output.startedAtMs as number;
    const heartbeats = rack.autoscaling.heartbeats;
    expect(heartbeats.map((h) => ({ instanceId: h.instanceId, token: h.token }))).toEqual(Array(2).fill({ instanceId: A, token: actionOf(drain).lifecycleActionToken }));
    // each at the first check once half the timeout had gone since the last (the drain's start first)
    let last = startedAtMs;
    for (const heartbeat of heartbeats) {
      expect(heartbeat.at - last).toBeGreaterThanOrEqual((HEARTBEAT_TIMEOUT / 2) * 1000);
      expect(heartbeat.at - last).toBeLessThan((HEARTBEAT_TIMEOUT / 2 + WAIT_SECONDS) * 1000);
      last = heartbeat.at;
    }
    // the heartbeats kept the action alive past the hook's 600 s: the drain's CONTINUE ended it, not the timeout
    expect(rack.autoscaling.completed).toEqual([CONTINUED(A)]);
    expect(rack.autoscaling.completed[0]!.at - startedAtMs).toBeGreaterThanOrEqual(maxSeconds * 1000);
    await expectTerminated(A, [B]);

    const [warning, ...more] = await rack.notifications();
    expect(more).toEqual([]);
    expect(warning!.subject).toContain(A);
    expect(warning!.message).toContain('3 tasks still running');
    expect(warning!.attributes).toMatchObject({ kind: 'drain', status: 'timed-out', severity: 'warning' });
  });
});

describe('a lifecycle action Auto Scaling has already ended', () => {
  it('stops at the heartbeat when the action was completed between the count and the heartbeat', async () => {
    await startTasks(A, 'web', 2, 'service:web');
    let drain: ExecutionRecord | undefined;
    // the first check with a heartbeat due (300 s in): someone completes the action by hand just before it
    afterCount = async (n) => {
      if (n === FIRST_HEARTBEAT_CHECK) await completeByHand(actionOf(drain!));
    };

    drain = await scaleIn(A);
    const run = await rack.finish(drain.name);

    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered).toEqual([...HEAD, ...loops(FIRST_HEARTBEAT_CHECK), ...TAIL]);
    expect(run.output).toMatchObject({ outcome: 'lifecycle-action-gone', lifecycleAction: 'gone', runningTasks: 2, heartbeats: 0, checks: FIRST_HEARTBEAT_CHECK });
    // the heartbeat was refused ("No active Lifecycle Action"), and the drain sent no CONTINUE of its own
    expect(rack.calls.named('RecordLifecycleActionHeartbeat')).toHaveLength(1);
    expect(rack.autoscaling.heartbeats).toEqual([]);
    expect(rack.calls.named('CompleteLifecycleAction')).toHaveLength(1);
    expect(rack.autoscaling.completed).toEqual([CONTINUED(A)]);
    await expectTerminated(A, [B]);
    expect(await rack.notifications()).toEqual([]);
  });

  it('succeeds when the action was completed before its CONTINUE arrived', async () => {
    await startTasks(A, 'web', 1, 'service:web');
    const drain = await scaleIn(A);
    // the drain waits for the tasks to move; meanwhile someone completes the action by hand
    await rack.reached(drain.name, 'Wait for tasks to move');
    expect(rack.functions.invocationsOf('drain-check')).toEqual([]);
    await completeByHand(actionOf(drain));
    await expectTerminated(A, [B]);

    const run = await rack.finish(drain.name);

    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered).toEqual([...HEAD, ...loops(1), ...TAIL]);
    // the instance had left the cluster with its agent: nothing left to wait for; the CONTINUE found the action gone
    expect(run.output).toMatchObject({ outcome: 'drained', lifecycleAction: 'gone', runningTasks: 0, checks: 1 });
    expect(rack.calls.named('CompleteLifecycleAction')).toHaveLength(2);
    expect(rack.autoscaling.completed).toEqual([CONTINUED(A)]);
    expect(await rack.notifications()).toEqual([]);
  });
});

describe('a drain whose steps fail', () => {
  it('retries a throttled check and carries on', async () => {
    afterCount = async (n) => {
      if (n === 1) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    };

    const drain = await scaleIn(A);
    const run = await rack.finish(drain.name);

    expect(run.status).toBe('SUCCEEDED');
    expect(rack.functions.invocationsOf('drain-check').map((i) => i.error?.name ?? 'ok')).toEqual(['TransientError', 'ok']);
    // the retry is a transition of its own, not a state entered again
    expect(run.statesEntered).toEqual([...HEAD, ...loops(1), ...TAIL]);
    expect(run.transitions).toBe(run.statesEntered.length + 1);
    expect(rack.autoscaling.completed).toEqual([CONTINUED(A)]);
  });

  it('still continues when a step fails, warns, then fails the execution', async () => {
    const standalone = await startTasks(A, 'migrate', 1);
    rack.faults.arm({
      match: (name) => name === 'ECSClient.UpdateContainerInstancesStateCommand',
      times: 'always',
      error: () =>
        Object.assign(new Error('User: arn:aws:sts::123456789012:assumed-role/drain-evict is not authorized to perform: ecs:UpdateContainerInstancesState'), {
          name: 'AccessDeniedException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        }),
    });

    const drain = await scaleIn(A);
    const run = await rack.finish(drain.name);

    expect(run).toMatchObject({ status: 'FAILED', error: 'DrainFailed' });
    expect(run.cause).toContain('ecs:UpdateContainerInstancesState');
    expect(run.statesEntered).toEqual([...HEAD, 'Complete lifecycle action', 'Drain failed?', 'Drain failed']);
    // refused once, not retried (not transient): the instance never became DRAINING
    expect(rack.faults.injected).toEqual(['ECSClient.UpdateContainerInstancesStateCommand']);
    // the instance goes anyway: a drain must never keep Auto Scaling waiting for its heartbeat timeout
    expect(rack.autoscaling.completed).toEqual([CONTINUED(A)]);
    await expectTerminated(A, [B]);
    // nothing stopped the standalone task: it went with the instance
    expect((await tasks(standalone)).map((t) => t.desiredStatus)).toEqual(['RUNNING']);
    const [warning, ...others] = await rack.notifications();
    expect(others).toEqual([]);
    expect(warning!.attributes).toMatchObject({ kind: 'drain', status: 'failed', severity: 'warning' });
    expect(warning!.message).toContain('AccessDeniedException');
  });
});

describe('drain-start', () => {
  it('drains once for a duplicate event, during the drain and after it', async () => {
    const serviceTasks = await startTasks(A, 'web', 1, 'service:web');
    afterCount = async (n) => {
      if (n === 1) await stopTasks(serviceTasks, 'Service web: task moved off a draining instance');
    };
    const drain = await scaleIn(A);
    const [, event] = rack.events.delivered.find(([rule]) => rule === `${TEST_RACK}-instance-terminating`)!;
    const redeliver = () => rack.sendEvent({ ...event, time: new Date(rack.scheduler.now()).toISOString() });

    // EventBridge delivers at least once: the same action again while the drain runs
    await redeliver();
    // and Auto Scaling asked again: the instance is already waiting on its hook, no second action
    await rack.functionsAws(AutoScalingClient).send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: A, ShouldDecrementDesiredCapacity: true }));
    expect((await rack.finish(drain.name)).status).toBe('SUCCEEDED');
    await redeliver();
    await rack.settled();

    expect(rack.events.delivered.filter(([rule]) => rule === `${TEST_RACK}-instance-terminating`)).toHaveLength(3);
    expect(drains().map((d) => d.name)).toEqual([drain.name]);
    const starts = rack.functions.invocationsOf('drain-start');
    expect(starts.map((s) => (s.result as { executionName?: string }).executionName)).toEqual([drain.name, drain.name, drain.name]);
    const listed = await rack.aws.sfn.send(new ListExecutionsCommand({ stateMachineArn: rack.resources.drainStateMachineArn }));
    expect(listed.executions?.map((e) => e.name)).toEqual([drain.name]);
    expect(rack.functions.invocationsOf('drain-find')).toHaveLength(1);
    expect(rack.autoscaling.completed).toEqual([CONTINUED(A)]);
  });

  it('starts a separate drain for another lifecycle action', async () => {
    const first = await scaleIn(A);
    // the group is at its minimum (1) after the first: the second instance is replaced, as an instance refresh does
    const second = await scaleIn(B, false);
    const runs = await Promise.all([rack.finish(first.name), rack.finish(second.name)]);

    expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(actionOf(first).lifecycleActionToken).not.toBe(actionOf(second).lifecycleActionToken);
    expect(drains().map((d) => d.name)).toEqual([`${A}-${actionOf(first).lifecycleActionToken}`, `${B}-${actionOf(second).lifecycleActionToken}`]);
    expect(rack.autoscaling.completed.map((c) => c.instanceId).sort()).toEqual([A, B].sort());
    expect(await ec2State(A)).toBe('terminated');
    expect(await ec2State(B)).toBe('terminated');
  });
});
