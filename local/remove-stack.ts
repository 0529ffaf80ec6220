import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DeleteStackCommand, DescribeStacksCommand, waitUntilStackDeleteComplete } from '@aws-sdk/client-cloudformation';
import {
  DeleteInternetGatewayCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DescribeRouteTablesCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { DeleteClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DeleteListenerCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeletePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import type { ClientFactory } from '../shared/aws/clients.js';
import { releaseScaleInProtection as releaseGroupProtection } from '../shared/aws/teardown.js';
import type { ProvisionedStack } from './provision.js';
import { mapIntrinsics } from './template.js';

/**
 * Removes a rack's stack from moto as `serverless remove` removes it from AWS (DeleteStack), after the
 * one step AWS needs first and the steps moto's CloudFormation cannot do itself.
 *
 * AWS needs it too: the Auto Scaling group's instances are protected from scale-in (the capacity
 * provider's managed termination protection requires it), and deleting the group does not terminate
 * protected instances, so the stack's deletion would wait on them: the protection goes first (the same
 * step as aws-cdk's capacity provider makes on deletion, https://github.com/aws/aws-cdk/pull/9192;
 * https://github.com/aws/containers-roadmap/issues/2862). moto keeps protected instances the same way.
 */
type Json = any;

interface UndeletedType {
  type: string;
  /** what moto does instead of deleting it */
  gap: string;
  /** removes it through its service's API (its properties as the template gives them, references resolved to physical ids) */
  remove?: (physicalId: string, properties: Json, aws: ClientFactory) => Promise<void>;
}

/**
 * Types moto's CloudFormation creates and lists but does not delete: in moto 5.2.1 their models have
 * neither `delete()` nor a `delete_from_cloudformation_json` of their own, so DeleteStack passes over
 * them and then fails on the VPC they keep (DependencyViolation), dropping the stack's record. Checked by
 * `python3 -c` over moto.cloudformation.parsing.resource_class_from_type(type) for every type the
 * template has. They are removed here before DeleteStack, in this order (a resource before what it
 * depends on); DeleteStack then deletes the rest. Their deletion order in AWS is the template's (the
 * dependency graph, test/infra/order.test.ts), which moto's deletion, retrying in any order, cannot show.
 */
export const UNDELETED_TYPES: UndeletedType[] = [
  { type: 'AWS::Lambda::Permission', gap: 'keeps no physical id; deleting its function removes the function’s resource policy with it' },
  {
    type: 'AWS::ElasticLoadBalancingV2::Listener',
    gap: 'no delete handler',
    remove: async (arn, _p, aws) => {
      await aws(ElasticLoadBalancingV2Client).send(new DeleteListenerCommand({ ListenerArn: arn }));
    },
  },
  {
    type: 'AWS::EC2::SubnetRouteTableAssociation',
    gap: 'no delete handler, and its physical id is the route table’s: the association is found by table and subnet',
    remove: async (_id, p, aws) => {
      const ec2 = aws(EC2Client);
      const table = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [p.RouteTableId] }))).RouteTables?.[0];
      for (const association of table?.Associations ?? []) {
        if (association.SubnetId === p.SubnetId) await ec2.send(new DisassociateRouteTableCommand({ AssociationId: association.RouteTableAssociationId }));
      }
    },
  },
  {
    type: 'AWS::EC2::Route',
    gap: 'no delete handler',
    remove: async (_id, p, aws) => {
      await aws(EC2Client).send(new DeleteRouteCommand({ RouteTableId: p.RouteTableId, DestinationCidrBlock: p.DestinationCidrBlock }));
    },
  },
  {
    type: 'AWS::EC2::RouteTable',
    gap: 'no delete handler',
    remove: async (id, _p, aws) => {
      await aws(EC2Client).send(new DeleteRouteTableCommand({ RouteTableId: id }));
    },
  },
  {
    type: 'AWS::EC2::VPCGatewayAttachment',
    gap: 'no delete handler',
    remove: async (_id, p, aws) => {
      await aws(EC2Client).send(new DetachInternetGatewayCommand({ InternetGatewayId: p.InternetGatewayId, VpcId: p.VpcId }));
    },
  },
  {
    type: 'AWS::EC2::InternetGateway',
    gap: 'no delete handler',
    remove: async (id, _p, aws) => {
      await aws(EC2Client).send(new DeleteInternetGatewayCommand({ InternetGatewayId: id }));
    },
  },
  {
    type: 'AWS::ECS::Cluster',
    gap: 'no delete handler',
    remove: async (name, _p, aws) => {
      await aws(ECSClient).send(new DeleteClusterCommand({ cluster: name }));
    },
  },
  {
    type: 'AWS::IAM::ManagedPolicy',
    gap: 'no delete handler',
    remove: async (arn, _p, aws) => {
      await aws(IAMClient).send(new DeletePolicyCommand({ PolicyArn: arn }));
    },
  },
];

/** A resource's properties as the stack resolved them: conditions decided, each `Ref` of a resource or parameter replaced by its value. */
function withReferences(stack: ProvisionedStack, logicalId: string): Json {
  return mapIntrinsics(stack.template, stack.template.Resources[logicalId]?.Properties ?? {}, stack.parameters, (expression) => {
    const ref = expression.Ref;
    return typeof ref === 'string' ? (stack.physical[ref] ?? stack.parameters[ref] ?? expression) : expression;
  });
}

/** Turns the scale-in protection of every instance of the stack's Auto Scaling groups off (shared/aws/teardown.ts, as `rack uninstall` does). */
export async function releaseScaleInProtection(stack: ProvisionedStack, aws: ClientFactory): Promise<void> {
  const asg = aws(AutoScalingClient);
  for (const [id, resource] of Object.entries(stack.template.Resources)) {
    if (resource.Type === 'AWS::AutoScaling::AutoScalingGroup' && stack.physical[id]) await releaseGroupProtection(asg, stack.physical[id]!);
  }
}

/** Deletes the stack; resolves once it is DELETE_COMPLETE, with its id (a deleted stack is described by id only). */
export async function removeStack(stack: ProvisionedStack, options: { aws: ClientFactory }): Promise<{ stackId: string }> {
  const { aws } = options;
  const cfn = aws(CloudFormationClient);
  const stackId = (await cfn.send(new DescribeStacksCommand({ StackName: stack.stackName }))).Stacks?.[0]?.StackId;
  if (!stackId) throw new Error(`stack ${stack.stackName} does not exist`);
  await releaseScaleInProtection(stack, aws);
  for (const undeleted of UNDELETED_TYPES) {
    if (!undeleted.remove) continue;
    for (const [id, resource] of Object.entries(stack.template.Resources)) {
      if (resource.Type === undeleted.type && stack.physical[id]) await undeleted.remove(stack.physical[id]!, withReferences(stack, id), aws);
    }
  }
  await cfn.send(new DeleteStackCommand({ StackName: stackId }));
  // fails on DELETE_FAILED, succeeds on DELETE_COMPLETE
  await waitUntilStackDeleteComplete({ client: cfn, maxWaitTime: 3600, minDelay: 1 }, { StackName: stackId });
  return { stackId };
}
