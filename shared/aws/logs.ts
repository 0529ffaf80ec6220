import { CreateLogGroupCommand, GetLogEventsCommand, ListTagsForResourceCommand, PutRetentionPolicyCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ownerTags } from '../names.js';
import { assertOwned } from './owner.js';

/**
 * The app's log group, created with its owner tags; an existing one must be this app's (or untagged).
 * `arn` is the group's ARN without the trailing `:*`, the form ListTagsForResource takes
 * (CloudWatch Logs API reference, ListTagsForResource: `arn:aws:logs:Region:account-id:log-group:log-group-name`).
 */
export async function ensureLogGroup(logs: CloudWatchLogsClient, group: { name: string; arn: string; rack: string; app: string }, retentionDays = 30): Promise<void> {
  try {
    await logs.send(new CreateLogGroupCommand({ logGroupName: group.name, tags: ownerTags(group.rack, group.app) }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceAlreadyExistsException') throw error;
    const tags = await logs.send(new ListTagsForResourceCommand({ resourceArn: group.arn }));
    assertOwned('log group', group.name, tags.tags ?? {}, group.rack, group.app);
    return;
  }
  await logs.send(new PutRetentionPolicyCommand({ logGroupName: group.name, retentionInDays: retentionDays }));
}

/** awslogs stream of one task's container: `<prefix>/<container>/<task id>`. */
export function taskLogStream(prefix: string, container: string, taskArn: string): string {
  return `${prefix}/${container}/${taskArn.split('/').pop()}`;
}

/** The last lines a task wrote; empty when it wrote none or its stream is gone. */
export async function lastLogLines(logs: CloudWatchLogsClient, logGroupName: string, logStreamName: string, limit = 20): Promise<string[]> {
  try {
    const res = await logs.send(new GetLogEventsCommand({ logGroupName, logStreamName, limit, startFromHead: false }));
    return (res.events ?? []).map((e) => (e.message ?? '').trimEnd()).filter(Boolean);
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return [];
    throw error;
  }
}
