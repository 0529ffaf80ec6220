import { describe, expect, it } from 'vitest';
import { lambdaArn, runStateMachine, TASK_TOKEN_PLACEHOLDER, TaskTokenBus } from '../../local/asl.js';

const definition = {
  StartAt: 'Wait for it',
  States: {
    'Wait for it': {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: lambdaArn('waiter'), Payload: { 'token.$': '$$.Task.Token', 'value.$': '$.value' } },
      ResultPath: '$.waited',
      Catch: [{ ErrorEquals: ['Superseded'], ResultPath: '$.failure', Next: 'Fail' }],
      Next: 'Double',
    },
    Double: { Type: 'Task', Resource: lambdaArn('double'), End: true },
    Fail: { Type: 'Fail', Error: 'DeployFailed', Cause: 'superseded' },
  },
};

describe('runStateMachine', () => {
  it('binds Tasks to local handlers and resolves task tokens through the bus', async () => {
    const tokens = new TaskTokenBus();
    const seen: string[] = [];
    const result = await runStateMachine(
      definition,
      { value: 2 },
      {
        executionName: 'e1',
        tokens,
        handlers: {
          waiter: async (event) => {
            seen.push(event.token);
            setTimeout(() => tokens.succeed(event.token, { ok: event.value }), 5);
          },
          double: async (event) => ({ doubled: event.value * 2, waited: event.waited }),
        },
      },
    );
    expect(seen[0]).not.toBe(TASK_TOKEN_PLACEHOLDER);
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { doubled: 4, waited: { ok: 2 } }, statesEntered: ['Wait for it', 'Double'], transitions: 2 });
  });

  it('routes a task failure sent before the wait began to the Catch', async () => {
    const tokens = new TaskTokenBus();
    const result = await runStateMachine(
      definition,
      { value: 1 },
      {
        executionName: 'e2',
        tokens,
        handlers: { waiter: async (event) => tokens.fail(event.token, 'Superseded', 'SUPERSEDED: newer tarball'), double: async () => 0 },
      },
    );
    expect(result).toMatchObject({ status: 'FAILED', error: 'DeployFailed', cause: 'superseded', statesEntered: ['Wait for it', 'Fail'] });
  });
});
