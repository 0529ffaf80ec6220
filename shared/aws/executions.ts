import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';

/**
 * Whether a deploy execution still runs, from Step Functions itself: the queue asks before it hands
 * an app's lock to a waiter, and before it treats a lock whose lease lapsed as dead.
 *
 * DescribeExecution's `status` is RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html); an
 * ARN Step Functions does not know answers ExecutionDoesNotExist (executions are kept 90 days after
 * they close), here NOT_FOUND.
 */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE' | 'NOT_FOUND';

export interface ExecutionStatuses {
  status(executionArn: string): Promise<ExecutionStatus>;
}

/**
 * Pure: whether an execution of that status may still reach its next step. PENDING_REDRIVE counts:
 * a redrive resumes the execution where it failed
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html).
 */
export const stillRuns = (status: ExecutionStatus): boolean => status === 'RUNNING' || status === 'PENDING_REDRIVE';

export function executionStatuses(sfn: SFNClient): ExecutionStatuses {
  return {
    async status(executionArn) {
      try {
        const res = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return (res.status ?? 'NOT_FOUND') as ExecutionStatus;
      } catch (error) {
        if ((error as Error).name === 'ExecutionDoesNotExist') return 'NOT_FOUND';
        throw error;
      }
    },
  };
}

/**
 * Whether SendTaskSuccess/Failure failed because nothing waits on the token any more: TaskTimedOut
 * ("the task token has either expired or the task associated with the token has already been
 * closed"), InvalidToken, TaskDoesNotExist
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html#API_SendTaskSuccess_Errors).
 * A token of an aborted, failed or timed-out execution, or one already answered, ends here.
 */
export function isClosedTask(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  return name === 'TaskTimedOut' || name === 'InvalidToken' || name === 'TaskDoesNotExist';
}
