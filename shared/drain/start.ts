import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { drainExecutionName, lifecycleActionOf } from './event.js';

export type DrainStart =
  | { status: 'started'; executionName: string; executionArn: string }
  | { status: 'duplicate'; executionName: string }
  | { status: 'ignored'; reason: string };

/**
 * Starts one drain per lifecycle action. The input is derived from the action alone, so a duplicate
 * event either gets the running execution back (same name and input) or ExecutionAlreadyExists.
 */
export async function startDrain(sfn: SFNClient, stateMachineArn: string, event: unknown): Promise<DrainStart> {
  const action = lifecycleActionOf(event);
  if (!action) return { status: 'ignored', reason: 'not an EC2_INSTANCE_TERMINATING transition' };
  const executionName = drainExecutionName(action);
  try {
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: executionName, input: JSON.stringify(action) }));
    return { status: 'started', executionName, executionArn: started.executionArn ?? '' };
  } catch (error) {
    if (error instanceof Error && error.name === 'ExecutionAlreadyExists') return { status: 'duplicate', executionName };
    throw error;
  }
}
