import type { ExecutionStatus, ExecutionStatuses } from '../../shared/aws/executions.js';
import type { TaskTokenSender } from '../../shared/watch/watch.js';

/**
 * Step Functions as the queue sees it, in memory: executions with a status, each waiting (or not) on
 * its latest task token. Answers as AWS does (shared/aws/executions.ts cites the pages): a token of an
 * execution that ended, one already answered, or one a newer attempt replaced, fails with
 * TaskTimedOut. So a test counts what reached a deploy — each execution is answered once — and can
 * kill an execution at any point of an interleaving.
 *
 * Tokens are `<execution>#<n>`; ARNs `arn:aws:states:us-east-1:123456789012:execution:rk-deploy:<execution>`.
 */
export const arnOf = (execution: string) => `arn:aws:states:us-east-1:123456789012:execution:rk-deploy:${execution}`;

export class FakeStepFunctions implements ExecutionStatuses, TaskTokenSender {
  private readonly statuses = new Map<string, ExecutionStatus>();
  /** the token each execution's current task waits on */
  private readonly waitingOn = new Map<string, string>();
  /** every answer accepted, in order: what each execution was told */
  readonly accepted: Array<{ execution: string; token: string; kind: 'succeed' | 'fail'; error?: string }> = [];
  /** every answer refused (TaskTimedOut) */
  readonly refused: string[] = [];
  /** DescribeExecution calls, by ARN */
  readonly described: string[] = [];
  /** makes the next send of a token throw this (a Lambda that dies in the middle) */
  private crashes = new Map<string, Error>();
  private counter = 0;

  /** A running execution's next task token (a Queue step's attempt). */
  token(execution: string): string {
    this.statuses.set(execution, this.statuses.get(execution) ?? 'RUNNING');
    const token = `${execution}#${++this.counter}`;
    this.waitingOn.set(execution, token);
    return token;
  }

  end(execution: string, status: Exclude<ExecutionStatus, 'RUNNING'> = 'ABORTED'): void {
    this.statuses.set(execution, status);
    this.waitingOn.delete(execution);
  }

  /** The next send to this token throws `error` before it reaches Step Functions. */
  crashOn(token: string, error: Error = Object.assign(new Error('the Lambda died'), { name: 'Sandbox.Timedout' })): void {
    this.crashes.set(token, error);
  }

  async status(executionArn: string): Promise<ExecutionStatus> {
    this.described.push(executionArn);
    return this.statuses.get(executionArn.split(':').pop()!) ?? 'NOT_FOUND';
  }

  private answer(token: string, kind: 'succeed' | 'fail', error?: string): void {
    const crash = this.crashes.get(token);
    if (crash) {
      this.crashes.delete(token);
      throw crash;
    }
    const execution = token.split('#')[0]!;
    if (this.statuses.get(execution) !== 'RUNNING' || this.waitingOn.get(execution) !== token) {
      this.refused.push(token);
      throw Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' });
    }
    this.waitingOn.delete(execution);
    this.accepted.push({ execution, token, kind, ...(error ? { error } : {}) });
  }

  async succeed(token: string): Promise<void> {
    this.answer(token, 'succeed');
  }

  async fail(token: string, error: string): Promise<void> {
    this.answer(token, 'fail', error);
  }

  /** What reached one execution. */
  of(execution: string) {
    return this.accepted.filter((a) => a.execution === execution).map((a) => (a.kind === 'fail' ? `fail:${a.error}` : 'succeed'));
  }
}
