import { CloudFormationClient, DeleteStackCommand, DescribeStackEventsCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { deleteStack, stackArnParts } from '../../shared/aws/stack.js';

/**
 * moto's CloudFormation deletes a stack at once or answers an error; it never leaves one
 * DELETE_FAILED, so that outcome is answered here by a mock of the same calls.
 */
const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/rackless-prod/0a1b2c3d';

describe('deleteStack', () => {
  it('reports a DELETE_FAILED stack by the resources that failed, with their reasons', async () => {
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DeleteStackCommand).resolves({});
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'rackless-prod', StackId: STACK_ID, StackStatus: 'DELETE_FAILED', CreationTime: new Date() }] });
    cfn.on(DescribeStackEventsCommand).resolves({
      StackEvents: [
        {
          StackId: STACK_ID,
          StackName: 'rackless-prod',
          EventId: '3',
          Timestamp: new Date(),
          LogicalResourceId: 'rackless-prod',
          ResourceType: 'AWS::CloudFormation::Stack',
          ResourceStatus: 'DELETE_FAILED',
          ResourceStatusReason: 'The following resource(s) failed to delete: [Cluster].',
        },
        {
          StackId: STACK_ID,
          StackName: 'rackless-prod',
          EventId: '2',
          Timestamp: new Date(),
          LogicalResourceId: 'Cluster',
          ResourceType: 'AWS::ECS::Cluster',
          ResourceStatus: 'DELETE_FAILED',
          ResourceStatusReason: 'The Cluster cannot be deleted while Container Instances are active or draining.',
        },
        {
          StackId: STACK_ID,
          StackName: 'rackless-prod',
          EventId: '1',
          Timestamp: new Date(),
          LogicalResourceId: 'SourceBucket',
          ResourceType: 'AWS::S3::Bucket',
          ResourceStatus: 'DELETE_COMPLETE',
        },
      ],
    });
    const client = new CloudFormationClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    expect(await deleteStack(client, STACK_ID, 60)).toEqual({
      status: 'DELETE_FAILED',
      failures: [{ logicalId: 'Cluster', type: 'AWS::ECS::Cluster', reason: 'The Cluster cannot be deleted while Container Instances are active or draining.' }],
    });
    expect(cfn.commandCalls(DeleteStackCommand)[0]!.args[0].input).toEqual({ StackName: STACK_ID });
    cfn.restore();
  });

  it('takes a stack that no longer exists as deleted', async () => {
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DeleteStackCommand).resolves({});
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'rackless-prod', StackId: STACK_ID, StackStatus: 'DELETE_COMPLETE', CreationTime: new Date() }] });
    const client = new CloudFormationClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    expect(await deleteStack(client, STACK_ID, 60)).toEqual({ status: 'DELETE_COMPLETE' });
    cfn.restore();
  });
});

describe('stackArnParts', () => {
  it.each([
    [STACK_ID, { partition: 'aws', region: 'eu-west-1', account: '123456789012' }],
    ['arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/r/1', { partition: 'aws-cn', region: 'cn-north-1', account: '123456789012' }],
  ])('%s', (arn, parts) => {
    expect(stackArnParts(arn)).toEqual(parts);
  });

  it('refuses what is not a stack ARN', () => {
    expect(() => stackArnParts('rackless-prod')).toThrow('"rackless-prod" is not a stack ARN');
  });
});
