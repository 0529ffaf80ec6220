import { ExecutionAlreadyExists, SendTaskFailureCommand, SendTaskSuccessCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { TaskTokenSender } from '../watch/watch.js';

export function tokenSender(sfn: SFNClient): TaskTokenSender {
  return {
    async succeed(token, output) {
      await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output ?? {}) }));
    },
    async fail(token, error, cause) {
      // Step Functions caps cause at 32 KiB
      await sfn.send(new SendTaskFailureCommand({ taskToken: token, error, cause: cause.slice(0, 32_000) }));
    },
  };
}

/**
 * Starts an execution by a deterministic name. Standard workflows treat a same-name same-input start
 * of a running execution as the same start; anything else with that name is a duplicate event.
 */
export async function startOnce(sfn: SFNClient, stateMachineArn: string, name: string, input: unknown): Promise<{ executionArn?: string; duplicate: boolean }> {
  try {
    const res = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return { executionArn: res.executionArn, duplicate: false };
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') return { duplicate: true };
    throw error;
  }
}
