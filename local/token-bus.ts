import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { TaskTokenBus } from './asl.js';

let installed: TaskTokenBus | undefined;

/**
 * moto cannot run our Lambda tasks, so it cannot resolve their task tokens either: in local mode
 * SendTaskSuccess/Failure/Heartbeat go to the in-process bus. Every other Step Functions call
 * (StartExecution, DescribeExecution, …) still reaches moto.
 */
export function installTaskTokenBus(bus: TaskTokenBus): void {
  if (installed) {
    installed = bus;
    return;
  }
  installed = bus;
  const original = SFNClient.prototype.send;
  SFNClient.prototype.send = function send(this: SFNClient, command: any, ...rest: any[]) {
    const input = command?.input ?? {};
    if (command instanceof SendTaskSuccessCommand) {
      installed!.succeed(input.taskToken, JSON.parse(input.output ?? 'null'));
      return Promise.resolve({ $metadata: {} });
    }
    if (command instanceof SendTaskFailureCommand) {
      installed!.fail(input.taskToken, input.error ?? 'Error', input.cause ?? '');
      return Promise.resolve({ $metadata: {} });
    }
    if (command instanceof SendTaskHeartbeatCommand) return Promise.resolve({ $metadata: {} });
    return (original as any).call(this, command, ...rest);
  } as typeof original;
}
