import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingGroupsCommand,
  PutLifecycleHookCommand,
  RecordLifecycleActionHeartbeatCommand,
  type CompleteLifecycleActionCommandInput,
  type RecordLifecycleActionHeartbeatCommandInput,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateClusterCommand,
  DeregisterContainerInstanceCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterContainerInstanceCommand,
  RegisterTaskDefinitionCommand,
  StartTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { CreateStateMachineCommand, ListExecutionsCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as drainCheck } from '../../functions/drain-check/handler.js';
import { handler as drainComplete } from '../../functions/drain-complete/handler.js';
import { handler as drainEvict } from '../../functions/drain-evict/handler.js';
import { handler as drainFind } from '../../functions/drain-find/handler.js';
import { handler as drainStart } from '../../functions/drain-start/handler.js';
import { loadDefinition, runStateMachine, TaskTokenBus, type Handler } from '../../local/asl.js';
import { resetMoto } from '../../local/moto.js';
import { makeClient } from '../../shared/aws/clients.js';
import { drainExecutionName } from '../../shared/drain/event.js';
import type { LifecycleAction } from '../../shared/drain/types.js';
import { toTransient } from '../../shared/errors.js';
import { loadEvent } from '../support/fixtures.js';

// Handlers read their configuration at import (cold start); set it before the imports above run.
const rack = vi.hoisted(() => {
  const values = {
    CLUSTER: 'rackless-test',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:rackless-test-notifications',
    DRAIN_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:rackless-test-drain',
    // 8 checks of 15 s: long enough to see heartbeats, short enough to run quickly
    DRAIN_MAX_SECONDS: '120',
  };
  const previous = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  Object.assign(process.env, values);
  return { ...values, previous };
});

// test files that share this worker must not inherit the drain's configuration
afterAll(() => {
  for (const [name, value] of Object.entries(rack.previous)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

const DEFINITION_FILE = 'state-machines/drain.asl.yml';
const GROUP = 'rackless-demo-instances';
const HOOK = 'rackless-demo-drain';
const TOKEN = '87654321-4321-4321-4321-210987654321';

const motoUrl = process.env.MOTO_URL!;
const ecs = makeClient(ECSClient);
const asg = makeClient(AutoScalingClient);
const sns = makeClient(SNSClient);
const sqs = makeClient(SQSClient);
const sfn = makeClient(SFNClient);

/** moto reads a task's status as its last state on every read unless told to move it by hand. */
async function setTaskTransition(transition: { progression: string; times?: number } | null): Promise<void> {
  const path = transition ? 'set-transition' : 'unset-transition';
  const res = await fetch(`${motoUrl}/moto-api/state-manager/${path}`, {
    method: 'POST',
    body: JSON.stringify({ model_name: 'ecs::task', ...(transition ? { transition } : {}) }),
  });
  if (!res.ok) throw new Error(`moto ${path} failed: HTTP ${res.status}`);
}

async function registerInstance(instanceId: string): Promise<string> {
  const identity = { instanceId, region: 'us-east-1', accountId: '123456789012', instanceType: 't3.medium', availabilityZone: 'us-east-1a' };
  const registered = await ecs.send(new RegisterContainerInstanceCommand({ cluster: rack.CLUSTER, instanceIdentityDocument: JSON.stringify(identity) }));
  return registered.containerInstance!.containerInstanceArn!;
}

async function startTasks(containerInstanceArn: string, family: string, count: number, group?: string): Promise<string[]> {
  const arns: string[] = [];
  for (let i = 0; i < count; i++) {
    const started = await ecs.send(new StartTaskCommand({ cluster: rack.CLUSTER, taskDefinition: family, containerInstances: [containerInstanceArn], group }));
    arns.push(started.tasks![0]!.taskArn!);
  }
  return arns;
}

async function tasks(arns: string[]) {
  const described = await ecs.send(new DescribeTasksCommand({ cluster: rack.CLUSTER, tasks: arns }));
  return described.tasks!;
}

async function instance(arn: string) {
  const described = await ecs.send(new DescribeContainerInstancesCommand({ cluster: rack.CLUSTER, containerInstances: [arn] }));
  return described.containerInstances![0]!;
}

async function stopTasks(arns: string[], reason: string): Promise<void> {
  for (const task of arns) await ecs.send(new StopTaskCommand({ cluster: rack.CLUSTER, task, reason }));
}

/** A queue subscribed to the rack's topic: what an email or chat subscriber would receive. */
async function subscribeQueue(): Promise<string> {
  await sns.send(new CreateTopicCommand({ Name: 'rackless-test-notifications' }));
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'drain-notifications' }));
  const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl!, AttributeNames: ['QueueArn'] }));
  await sns.send(new SubscribeCommand({ TopicArn: rack.TOPIC_ARN, Protocol: 'sqs', Endpoint: attributes.Attributes!.QueueArn! }));
  return queue.QueueUrl!;
}

async function notifications(queueUrl: string): Promise<Array<{ Subject: string; Message: string; MessageAttributes: Record<string, { Value: string }> }>> {
  const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  return (received.Messages ?? []).map((m) => JSON.parse(m.Body!));
}

// moto 5.2 answers CompleteLifecycleAction and RecordLifecycleActionHeartbeat with HTTP 500, so only
// those two are faked here; every other Auto Scaling call (DescribeLifecycleHooks) goes to moto.
let completed: CompleteLifecycleActionCommandInput[];
let heartbeats: RecordLifecycleActionHeartbeatCommandInput[];
/** What Auto Scaling answers once the action was completed elsewhere or expired; null: success. */
let lifecycleActionAnswer: Error | null;
const motoSend = AutoScalingClient.prototype.send;
vi.spyOn(AutoScalingClient.prototype, 'send').mockImplementation(function (this: AutoScalingClient, command: unknown, ...rest: unknown[]) {
  if (command instanceof CompleteLifecycleActionCommand) {
    completed.push(command.input);
    return lifecycleActionAnswer ? Promise.reject(lifecycleActionAnswer) : Promise.resolve({ $metadata: { httpStatusCode: 200 } });
  }
  if (command instanceof RecordLifecycleActionHeartbeatCommand) {
    heartbeats.push(command.input);
    return lifecycleActionAnswer ? Promise.reject(lifecycleActionAnswer) : Promise.resolve({ $metadata: { httpStatusCode: 200 } });
  }
  return (motoSend as (...args: unknown[]) => Promise<unknown>).call(this, command, ...rest);
} as typeof motoSend);

const handlers: Record<string, Handler> = {
  'drain-find': drainFind as Handler,
  'drain-evict': drainEvict as Handler,
  'drain-check': drainCheck as Handler,
  'drain-complete': drainComplete as Handler,
};

function runDrain(input: LifecycleAction, overrides: Record<string, Handler> = {}) {
  return runStateMachine(loadDefinition(DEFINITION_FILE), input, {
    executionName: drainExecutionName(input),
    handlers: { ...handlers, ...overrides },
    tokens: new TaskTokenBus(),
    waitMs: 0,
  });
}

/** The check handler, with `after(n)` run once check n has returned. */
function countingCheck(after: (check: number) => Promise<void>): Handler {
  let checks = 0;
  return async (event, context) => {
    const output = await drainCheck(event, context);
    checks += 1;
    await after(checks);
    return output;
  };
}

const HEAD = ['Find container instance', 'Registered with the cluster?', 'Start draining'];
const LOOP = ['Wait for tasks to move', 'Check running tasks', 'Tasks left?'];
const TAIL = ['Complete lifecycle action', 'Drain failed?', 'Drained'];

describe('drain', () => {
  let INSTANCE_ID: string;
  let OTHER_INSTANCE_ID: string;
  let ACTION: LifecycleAction;
  let CONTINUE: CompleteLifecycleActionCommandInput;
  let containerInstanceArn: string;
  let otherContainerInstanceArn: string;

  beforeEach(async () => {
    await resetMoto(motoUrl);
    await setTaskTransition({ progression: 'manual', times: 1_000_000 });
    completed = [];
    heartbeats = [];
    lifecycleActionAnswer = null;
    // moto registers a container instance only for an EC2 instance it knows: the group launches two
    await asg.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'rackless-demo', ImageId: 'ami-04681a1dbd79675a5', InstanceType: 't3.medium' }));
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: GROUP,
        LaunchConfigurationName: 'rackless-demo',
        MinSize: 2,
        MaxSize: 2,
        DesiredCapacity: 2,
        AvailabilityZones: ['us-east-1a'],
      }),
    );
    await asg.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: GROUP,
        LifecycleHookName: HOOK,
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: 60,
        DefaultResult: 'CONTINUE',
      }),
    );
    const groups = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }));
    [INSTANCE_ID, OTHER_INSTANCE_ID] = groups.AutoScalingGroups![0]!.Instances!.map((i) => i.InstanceId!) as [string, string];
    ACTION = { instanceId: INSTANCE_ID, autoScalingGroupName: GROUP, lifecycleHookName: HOOK, lifecycleActionToken: TOKEN };
    CONTINUE = { AutoScalingGroupName: GROUP, LifecycleHookName: HOOK, LifecycleActionToken: TOKEN, InstanceId: INSTANCE_ID, LifecycleActionResult: 'CONTINUE' };
    await ecs.send(new CreateClusterCommand({ clusterName: rack.CLUSTER }));
    // the other instance proves the match is by EC2 id: moto ignores ListContainerInstances' filter
    otherContainerInstanceArn = await registerInstance(OTHER_INSTANCE_ID);
    containerInstanceArn = await registerInstance(INSTANCE_ID);
    for (const family of ['web', 'worker', 'migrate']) {
      await ecs.send(new RegisterTaskDefinitionCommand({ family, containerDefinitions: [{ name: family, image: 'httpd:2.4', memory: 128, essential: true }] }));
    }
  });

  afterEach(() => {
    vi.mocked(AutoScalingClient.prototype.send).mockClear();
  });

  afterAll(async () => {
    // other test files share this worker's moto: give them back its default task behaviour
    await setTaskTransition(null);
    vi.restoreAllMocks();
  });

  it('continues at once when the EC2 instance is not a container instance of the cluster', async () => {
    const result = await runDrain({ ...ACTION, instanceId: 'i-0000000000000dead' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.statesEntered).toEqual(['Find container instance', 'Registered with the cluster?', ...TAIL]);
    expect(result.output).toMatchObject({ outcome: 'no-instance', containerInstanceArn: null, lifecycleAction: 'completed' });
    expect(completed).toEqual([{ ...CONTINUE, InstanceId: 'i-0000000000000dead' }]);
    expect((await instance(containerInstanceArn)).status).toBe('ACTIVE');
  });

  it('sets DRAINING and continues once the service tasks have moved, after the second check', async () => {
    const serviceTasks = await startTasks(containerInstanceArn, 'web', 2, 'service:web');
    const check = countingCheck(async (n) => {
      expect(completed).toEqual([]);
      // ECS would move them elsewhere; moto never does, so the test plays the scheduler
      if (n === 2) await stopTasks(serviceTasks, 'Service web: task moved off a draining instance');
    });

    const result = await runDrain(ACTION, { 'drain-check': check });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.statesEntered).toEqual([...HEAD, ...LOOP, ...LOOP, ...LOOP, ...TAIL]);
    expect(result.output).toMatchObject({ outcome: 'drained', containerInstanceArn, checks: 3, runningTasks: 0, heartbeats: 1, waitSeconds: 15, heartbeatTimeout: 60 });
    expect(completed).toEqual([CONTINUE]);
    // the second check came 30 s in: half of the hook's 60 s heartbeat timeout
    expect(heartbeats).toEqual([{ AutoScalingGroupName: GROUP, LifecycleHookName: HOOK, LifecycleActionToken: TOKEN, InstanceId: INSTANCE_ID }]);
    expect((await instance(containerInstanceArn)).status).toBe('DRAINING');
    expect((await instance(otherContainerInstanceArn)).status).toBe('ACTIVE');
  });

  it('stops standalone tasks and leaves service tasks to their service', async () => {
    const serviceTasks = await startTasks(containerInstanceArn, 'web', 1, 'service:web');
    const workerTasks = await startTasks(containerInstanceArn, 'worker', 1, 'service:worker');
    const standalone = [...(await startTasks(containerInstanceArn, 'migrate', 1)), ...(await startTasks(containerInstanceArn, 'migrate', 1, 'nightly'))];
    const elsewhere = await startTasks(otherContainerInstanceArn, 'migrate', 1);
    const check = countingCheck(async (n) => {
      if (n === 1) {
        const stillThere = await tasks([...serviceTasks, ...workerTasks, ...standalone, ...elsewhere]);
        expect(
          stillThere
            .filter((t) => t.desiredStatus === 'RUNNING')
            .map((t) => t.taskArn)
            .sort(),
        ).toEqual([...serviceTasks, ...workerTasks, ...elsewhere].sort());
        await stopTasks([...serviceTasks, ...workerTasks], 'Service task moved off a draining instance');
      }
    });

    const result = await runDrain(ACTION, { 'drain-check': check });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ outcome: 'drained', standaloneTasksStopped: 2, checks: 2 });
    const stopped = await tasks(standalone);
    expect(stopped.map((t) => [t.lastStatus, t.desiredStatus, t.stoppedReason])).toEqual([
      ['STOPPED', 'STOPPED', `Rackless drain: instance ${INSTANCE_ID} is leaving Auto Scaling group ${GROUP}`],
      ['STOPPED', 'STOPPED', `Rackless drain: instance ${INSTANCE_ID} is leaving Auto Scaling group ${GROUP}`],
    ]);
    const [other] = await tasks(elsewhere);
    expect([other!.lastStatus, other!.desiredStatus]).toEqual(['RUNNING', 'RUNNING']);
    expect(completed).toEqual([CONTINUE]);
  });

  it('continues at the maximum drain time with heartbeats on the way and a warning published', async () => {
    const queueUrl = await subscribeQueue();
    await startTasks(containerInstanceArn, 'web', 3, 'service:web');

    const result = await runDrain(ACTION);

    expect(result.status).toBe('SUCCEEDED');
    // 120 s of 15 s waits: 8 checks; a heartbeat every 30 s (half of 60) until the last check times out
    expect(result.statesEntered).toEqual([...HEAD, ...Array(8).fill(LOOP).flat(), ...TAIL]);
    expect(result.output).toMatchObject({ outcome: 'timed-out', checks: 8, elapsedSeconds: 120, runningTasks: 3, heartbeats: 3, lifecycleAction: 'completed' });
    expect(heartbeats).toEqual(Array(3).fill({ AutoScalingGroupName: GROUP, LifecycleHookName: HOOK, LifecycleActionToken: TOKEN, InstanceId: INSTANCE_ID }));
    expect(completed).toEqual([CONTINUE]);
    expect((await instance(containerInstanceArn)).runningTasksCount).toBe(3);
    const [warning, ...more] = await notifications(queueUrl);
    expect(more).toEqual([]);
    expect(warning!.Subject).toContain(INSTANCE_ID);
    expect(warning!.Message).toContain('3 tasks still running');
    expect(warning!.MessageAttributes).toMatchObject({ kind: { Value: 'drain' }, status: { Value: 'timed-out' }, severity: { Value: 'warning' } });
  });

  it('publishes nothing for a drain that finished in time', async () => {
    const queueUrl = await subscribeQueue();

    const result = await runDrain(ACTION);

    expect(result.statesEntered).toEqual([...HEAD, ...LOOP, ...TAIL]);
    expect(result.output).toMatchObject({ outcome: 'drained', checks: 1 });
    expect(await notifications(queueUrl)).toEqual([]);
  });

  it('finishes when the container instance leaves the cluster during the drain', async () => {
    await startTasks(containerInstanceArn, 'web', 1, 'service:web');
    const check = countingCheck(async (n) => {
      if (n === 1) await ecs.send(new DeregisterContainerInstanceCommand({ cluster: rack.CLUSTER, containerInstance: containerInstanceArn, force: true }));
    });

    const result = await runDrain(ACTION, { 'drain-check': check });

    expect(result.statesEntered).toEqual([...HEAD, ...LOOP, ...LOOP, ...TAIL]);
    expect(result.output).toMatchObject({ outcome: 'drained', runningTasks: 0 });
    expect(completed).toEqual([CONTINUE]);
  });

  it('stops at the heartbeat when Auto Scaling has already ended the lifecycle action', async () => {
    await startTasks(containerInstanceArn, 'web', 2, 'service:web');
    lifecycleActionAnswer = Object.assign(new Error(`No active Lifecycle Action found with token ${TOKEN}`), { name: 'ValidationError' });

    const result = await runDrain(ACTION);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.statesEntered).toEqual([...HEAD, ...LOOP, ...LOOP, ...TAIL]);
    expect(result.output).toMatchObject({ outcome: 'lifecycle-action-gone', lifecycleAction: 'gone', runningTasks: 2, heartbeats: 0 });
    expect(heartbeats).toHaveLength(1);
    expect(completed).toEqual([]);
  });

  it('succeeds when the lifecycle action was completed before its CONTINUE arrived', async () => {
    lifecycleActionAnswer = Object.assign(new Error(`No active Lifecycle Action found with token ${TOKEN}`), { name: 'ValidationError' });

    const result = await runDrain(ACTION);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ outcome: 'drained', lifecycleAction: 'gone' });
    expect(completed).toEqual([CONTINUE]);
  });

  it('retries a throttled check and carries on', async () => {
    let calls = 0;
    const check: Handler = async (event, context) => {
      calls += 1;
      if (calls === 1) throw toTransient(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      return drainCheck(event, context);
    };

    const result = await runDrain(ACTION, { 'drain-check': check });

    expect(result.status).toBe('SUCCEEDED');
    expect(calls).toBe(2);
    expect(result.transitions).toBe(result.statesEntered.length + 1);
    expect(completed).toEqual([CONTINUE]);
  });

  it('still continues when a step fails, warns, then fails the execution', async () => {
    const inbox = await subscribeQueue();
    const denied: Handler = async () => {
      throw Object.assign(new Error('User is not authorized to perform: ecs:UpdateContainerInstancesState'), { name: 'AccessDeniedException' });
    };

    const result = await runDrain(ACTION, { 'drain-evict': denied });
    const [warning, ...others] = await notifications(inbox);
    expect(others).toEqual([]);
    expect(warning!.MessageAttributes).toMatchObject({ kind: { Value: 'drain' }, status: { Value: 'failed' }, severity: { Value: 'warning' } });
    expect(warning!.Message).toContain('AccessDeniedException');

    expect(result).toMatchObject({ status: 'FAILED', error: 'DrainFailed' });
    expect(result.cause).toContain('ecs:UpdateContainerInstancesState');
    expect(result.statesEntered).toEqual([...HEAD, 'Complete lifecycle action', 'Drain failed?', 'Drain failed']);
    expect(completed).toEqual([CONTINUE]);
    expect((await instance(containerInstanceArn)).status).toBe('ACTIVE');
  });
});

describe('drain-start', () => {
  const event = () => loadEvent('autoscaling-terminate-lifecycle');
  const INSTANCE_ID = 'i-0abc1234def567890';
  const OTHER_INSTANCE_ID = 'i-0fedcba9876543210';

  beforeEach(async () => {
    await resetMoto(motoUrl);
    await sfn.send(
      new CreateStateMachineCommand({
        name: 'rackless-test-drain',
        definition: JSON.stringify(loadDefinition(DEFINITION_FILE)),
        roleArn: 'arn:aws:iam::123456789012:role/rackless-test-drain',
        type: 'STANDARD',
      }),
    );
  });

  async function executions() {
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: rack.DRAIN_STATE_MACHINE_ARN }));
    return listed.executions ?? [];
  }

  it('starts one execution named after the lifecycle action, with the action as input', async () => {
    const started = await drainStart(event(), {} as never);

    expect(started).toMatchObject({ status: 'started', executionName: `${INSTANCE_ID}-${TOKEN}` });
    const [execution, ...more] = await executions();
    expect(more).toEqual([]);
    expect(execution).toMatchObject({ name: `${INSTANCE_ID}-${TOKEN}`, status: 'RUNNING' });
  });

  it('drains once for a duplicate event while the drain runs', async () => {
    const first = await drainStart(event(), {} as never);
    const redelivered = { ...event(), id: 'a-different-delivery-id', time: '2026-03-02T16:00:09Z' };
    const second = await drainStart(redelivered, {} as never);

    expect(second).toEqual(first);
    expect(await executions()).toHaveLength(1);
  });

  it('treats ExecutionAlreadyExists as a duplicate once the drain has ended', async () => {
    const first = await drainStart(event(), {} as never);
    if (first.status !== 'started') throw new Error(`expected a start, got ${first.status}`);
    await sfn.send(new StopExecutionCommand({ executionArn: first.executionArn }));

    const again = await drainStart(event(), {} as never);

    expect(again).toEqual({ status: 'duplicate', executionName: `${INSTANCE_ID}-${TOKEN}` });
    expect(await executions()).toHaveLength(1);
  });

  it('starts a separate drain for another lifecycle action', async () => {
    const other = event();
    other.detail.LifecycleActionToken = '11111111-2222-3333-4444-555555555555';
    other.detail.EC2InstanceId = OTHER_INSTANCE_ID;

    await drainStart(event(), {} as never);
    await drainStart(other, {} as never);

    expect((await executions()).map((e) => e.name).sort()).toEqual([`${INSTANCE_ID}-${TOKEN}`, `${OTHER_INSTANCE_ID}-11111111-2222-3333-4444-555555555555`]);
  });

  it('ignores a transition other than terminating', async () => {
    const launching = event();
    launching.detail.LifecycleTransition = 'autoscaling:EC2_INSTANCE_LAUNCHING';

    expect(await drainStart(launching, {} as never)).toMatchObject({ status: 'ignored' });
    expect(await executions()).toEqual([]);
  });
});
