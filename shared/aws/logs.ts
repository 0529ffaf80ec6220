import { CreateLogGroupCommand, GetLogEventsCommand, PutRetentionPolicyCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';

export async function ensureLogGroup(logs: CloudWatchLogsClient, name: string, tags: Record<string, string>, retentionDays = 30): Promise<void> {
  try {
    await logs.send(new CreateLogGroupCommand({ logGroupName: name, tags }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceAlreadyExistsException') throw error;
    return;
  }
  await logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: retentionDays }));
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
