import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { executionArn, type FollowOptions } from '../follow.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until an execution a rack function starts asynchronously exists (redeploys via EventBridge). */
export async function waitForExecution(ctx: Context, name: string, options: FollowOptions): Promise<void> {
  const deadline = Date.now() + Math.min(options.timeoutMs, 120_000);
  for (;;) {
    try {
      await ctx.aws.sfn.send(new DescribeExecutionCommand({ executionArn: executionArn(ctx.rack.stateMachineArn, name) }));
      return;
    } catch (error) {
      if ((error as Error).name !== 'ExecutionDoesNotExist') throw error;
    }
    if (Date.now() > deadline) throw new CliError(`the rack started no deploy ${name}`, "check the rack's redeploy-requested EventBridge rule and the redeploy function's logs");
    await sleep(options.pollMs);
  }
}

export async function requireApp(ctx: Context, app: string) {
  const record = await ctx.store.getApp(app);
  if (!record) throw new CliError(`app ${app} does not exist in rack ${ctx.rack.name}`, `deploy it first: rackless deploy --app ${app}`);
  return record;
}
