import {
  type CloudFormationClient,
  DeleteStackCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  paginateDescribeStackEvents,
  paginateListStackResources,
  type Stack,
  waitUntilStackDeleteComplete,
} from '@aws-sdk/client-cloudformation';
import { parse as parseYaml } from 'yaml';
import { deleteFailures, retainedResources } from '../uninstall/plan.js';

/** The rack's CloudFormation stack: its resources, what it keeps on delete, and its deletion. */

export interface StackResource {
  logicalId: string;
  physicalId: string;
  type: string;
}

/** The stack, or undefined when there is none of that name or id ("Stack with id … does not exist" is a ValidationError). */
export async function describeStack(cfn: CloudFormationClient, nameOrId: string): Promise<Stack | undefined> {
  try {
    return (await cfn.send(new DescribeStacksCommand({ StackName: nameOrId }))).Stacks?.[0];
  } catch (error) {
    if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) return undefined;
    throw error;
  }
}

export async function stackResources(cfn: CloudFormationClient, stack: string): Promise<StackResource[]> {
  const found: StackResource[] = [];
  for await (const page of paginateListStackResources({ client: cfn }, { StackName: stack })) {
    for (const r of page.StackResourceSummaries ?? []) {
      if (r.LogicalResourceId) found.push({ logicalId: r.LogicalResourceId, physicalId: r.PhysicalResourceId ?? '', type: r.ResourceType ?? '' });
    }
  }
  return found;
}

/** The resources the stack's template keeps when the stack is deleted (DeletionPolicy Retain). */
export async function retainedOnDelete(cfn: CloudFormationClient, stack: string): Promise<Array<{ logicalId: string; type: string }>> {
  const body = (await cfn.send(new GetTemplateCommand({ StackName: stack, TemplateStage: 'Original' }))).TemplateBody ?? '{}';
  // a template is JSON (what serverless deploys) or YAML; YAML's parser reads both
  return retainedResources(parseYaml(body) as Parameters<typeof retainedResources>[0]);
}

/** `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>` → its parts. */
export function stackArnParts(stackId: string): { partition: string; region: string; account: string } {
  const [, partition, , region, account] = stackId.split(':');
  if (!partition || !region || !account) throw new Error(`"${stackId}" is not a stack ARN`);
  return { partition, region, account };
}

export type StackDeletion =
  | { status: 'DELETE_COMPLETE' }
  | { status: 'DELETE_FAILED'; failures: Array<{ logicalId: string; type: string; reason: string }> }
  | { status: 'TIMED_OUT'; last: string };

/**
 * DeleteStack, then the SDK's stack-delete-complete waiter, at most `maxWaitSeconds`. The stack is
 * named by its id: "if the stack has been deleted, DescribeStacks … by stack ID" still answers
 * (DELETE_COMPLETE), where a name answers ValidationError
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html).
 * A DELETE_FAILED stack's failed resources are read from its events.
 */
export async function deleteStack(cfn: CloudFormationClient, stackId: string, maxWaitSeconds: number): Promise<StackDeletion> {
  await cfn.send(new DeleteStackCommand({ StackName: stackId }));
  try {
    await waitUntilStackDeleteComplete({ client: cfn, maxWaitTime: maxWaitSeconds, minDelay: 5, maxDelay: 30 }, { StackName: stackId });
    return { status: 'DELETE_COMPLETE' };
  } catch (error) {
    const stack = await describeStack(cfn, stackId);
    if (!stack || stack.StackStatus === 'DELETE_COMPLETE') return { status: 'DELETE_COMPLETE' };
    if (stack.StackStatus === 'DELETE_FAILED') {
      const events: Array<{ logicalId?: string; type?: string; status?: string; reason?: string }> = [];
      for await (const page of paginateDescribeStackEvents({ client: cfn }, { StackName: stackId })) {
        for (const e of page.StackEvents ?? []) {
          events.push({
            ...(e.LogicalResourceId ? { logicalId: e.LogicalResourceId } : {}),
            ...(e.ResourceType ? { type: e.ResourceType } : {}),
            ...(e.ResourceStatus ? { status: e.ResourceStatus } : {}),
            ...(e.ResourceStatusReason ? { reason: e.ResourceStatusReason } : {}),
          });
        }
      }
      // the stack itself fails with the resources that did
      return { status: 'DELETE_FAILED', failures: deleteFailures(events).filter((f) => f.type !== 'AWS::CloudFormation::Stack') };
    }
    if ((error as Error).name === 'TimeoutError') return { status: 'TIMED_OUT', last: stack.StackStatus ?? 'unknown' };
    throw error;
  }
}
