import { randomUUID } from 'node:crypto';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeLifecycleHooksCommand, TerminateInstanceInAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DeregisterContainerInstanceCommand,
  DescribeContainerInstancesCommand,
  ECSClient,
  ListClustersCommand,
  ListContainerInstancesCommand,
  RegisterContainerInstanceCommand,
} from '@aws-sdk/client-ecs';
import { answered, type ClientFactory, type ClientPlugin, interceptPlugin } from '../shared/aws/clients.js';
import type { Scheduler } from './clock.js';
import type { LocalEvents } from './events.js';
import type { ProvisionedStack } from './provision.js';

/**
 * The parts of Auto Scaling and the ECS agent that moto lacks, in a local rack:
 *  - the ECS agent: each instance of the rack's Auto Scaling group registers with the cluster its
 *    launch template's user data names (ECS_CLUSTER=…), as the agent does at boot;
 *  - terminate lifecycle hooks: moto terminates at once and answers CompleteLifecycleAction and
 *    RecordLifecycleActionHeartbeat with HTTP 500. Here a scale-in of a group with a terminating hook
 *    (TerminateInstanceInAutoScalingGroup) holds the instance in Terminating:Wait, sends the
 *    lifecycle action to EventBridge as Auto Scaling does, and terminates it when the action is
 *    completed or its heartbeat timeout passes (then the hook's DefaultResult applies).
 */
type Json = any;

interface PendingAction {
  token: string;
  group: string;
  hook: string;
  instanceId: string;
  decrement: boolean;
  heartbeats: number;
  timer: AbortController;
}

export class AutoScalingSimulator {
  private readonly pending = new Map<string, PendingAction>();
  /** every lifecycle action completed, with its result and when (epoch ms on the rack's clock) */
  readonly completed: Array<{ instanceId: string; result: string; by: 'CompleteLifecycleAction' | 'heartbeat timeout'; at: number }> = [];
  /** every heartbeat recorded, and when (epoch ms on the rack's clock) */
  readonly heartbeats: Array<{ instanceId: string; token: string; at: number }> = [];

  constructor(
    /** `aws`: clients to moto itself (no local plugins), for what the simulated services do */
    private readonly options: { aws: ClientFactory; scheduler: Scheduler; events: LocalEvents; region: string; account: string },
  ) {}

  /** The ECS agent on each instance of the stack's groups registers it with its cluster. */
  async startAgents(stack: ProvisionedStack): Promise<void> {
    const { aws } = this.options;
    for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
      if (resource.Type !== 'AWS::AutoScaling::AutoScalingGroup' || !(logicalId in stack.physical)) continue;
      const group = (await aws(AutoScalingClient).send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [stack.physical[logicalId]!] }))).AutoScalingGroups?.[0];
      const launchTemplate = group?.LaunchTemplate;
      if (!group || !launchTemplate?.LaunchTemplateId) continue;
      const versions = await aws(EC2Client).send(
        new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: launchTemplate.LaunchTemplateId, Versions: [launchTemplate.Version ?? '$Latest'] }),
      );
      const userData = Buffer.from(versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.UserData ?? '', 'base64').toString('utf8');
      const cluster = /^ECS_CLUSTER=(.+)$/m.exec(userData)?.[1]?.trim();
      if (!cluster) continue;
      const registered = await aws(ECSClient).send(new ListContainerInstancesCommand({ cluster }));
      if (registered.containerInstanceArns?.length) continue;
      for (const instance of group.Instances ?? []) {
        const identity = {
          instanceId: instance.InstanceId,
          region: this.options.region,
          accountId: this.options.account,
          instanceType: instance.InstanceType ?? 't3.small',
          availabilityZone: instance.AvailabilityZone,
        };
        await aws(ECSClient).send(new RegisterContainerInstanceCommand({ cluster, instanceIdentityDocument: JSON.stringify(identity) }));
      }
    }
  }

  private validation(message: string): Error {
    return Object.assign(new Error(message), { name: 'ValidationError', $fault: 'client', $metadata: { httpStatusCode: 400 } });
  }

  private find(input: Json): PendingAction {
    const byToken = input.LifecycleActionToken ? this.pending.get(input.LifecycleActionToken) : undefined;
    const action = byToken ?? [...this.pending.values()].find((a) => a.instanceId === input.InstanceId && a.hook === input.LifecycleHookName);
    // Auto Scaling's own words for an action that was completed already or timed out
    if (!action || action.group !== input.AutoScalingGroupName)
      throw this.validation(`No active Lifecycle Action found with token ${input.LifecycleActionToken ?? input.InstanceId}`);
    return action;
  }

  private async begin(group: string, instanceId: string, decrement: boolean): Promise<boolean> {
    const asg = this.options.aws(AutoScalingClient);
    const hooks = await asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: group }));
    const hook = hooks.LifecycleHooks?.find((h) => h.LifecycleTransition === 'autoscaling:EC2_INSTANCE_TERMINATING');
    if (!hook) return false;
    const action: PendingAction = { token: randomUUID(), group, hook: hook.LifecycleHookName!, instanceId, decrement, heartbeats: 0, timer: new AbortController() };
    this.pending.set(action.token, action);
    this.arm(action, (hook.HeartbeatTimeout ?? 3600) * 1000, hook.DefaultResult ?? 'ABANDON');
    await this.options.events.put([
      {
        Source: 'aws.autoscaling',
        DetailType: 'EC2 Instance-terminate Lifecycle Action',
        Resources: [`arn:aws:autoscaling:${this.options.region}:${this.options.account}:autoScalingGroup:${randomUUID()}:autoScalingGroupName/${group}`],
        Detail: JSON.stringify({
          Origin: 'AutoScalingGroup',
          Destination: 'EC2',
          LifecycleActionToken: action.token,
          AutoScalingGroupName: group,
          LifecycleHookName: action.hook,
          EC2InstanceId: instanceId,
          LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        }),
        Time: new Date(this.options.scheduler.now()),
      },
    ]);
    return true;
  }

  private arm(action: PendingAction, ms: number, defaultResult: string): void {
    action.timer.abort();
    action.timer = new AbortController();
    void this.options.scheduler.sleep(ms, action.timer.signal).then(() => this.finish(action, defaultResult, 'heartbeat timeout'));
  }

  private async finish(action: PendingAction, result: string, by: 'CompleteLifecycleAction' | 'heartbeat timeout'): Promise<void> {
    if (!this.pending.delete(action.token)) return;
    action.timer.abort();
    this.completed.push({ instanceId: action.instanceId, result, by, at: this.options.scheduler.now() });
    const { aws, scheduler } = this.options;
    await scheduler.track(
      (async () => {
        // CONTINUE and ABANDON both terminate a terminating instance; ABANDON skips the remaining hooks
        await aws(AutoScalingClient).send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: action.instanceId, ShouldDecrementDesiredCapacity: action.decrement }));
        // the agent goes with the instance
        for (const cluster of await this.clustersOf(action.instanceId)) {
          await aws(ECSClient).send(new DeregisterContainerInstanceCommand({ cluster: cluster.cluster, containerInstance: cluster.arn, force: true }));
        }
      })(),
    );
  }

  private async clustersOf(instanceId: string): Promise<Array<{ cluster: string; arn: string }>> {
    const ecs = this.options.aws(ECSClient);
    const found: Array<{ cluster: string; arn: string }> = [];
    for (const cluster of (await ecs.send(new ListClustersCommand({}))).clusterArns ?? []) {
      const arns = (await ecs.send(new ListContainerInstancesCommand({ cluster }))).containerInstanceArns ?? [];
      if (!arns.length) continue;
      const described = await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }));
      for (const ci of described.containerInstances ?? []) if (ci.ec2InstanceId === instanceId) found.push({ cluster, arn: ci.containerInstanceArn! });
    }
    return found;
  }

  /** Holds terminations behind the group's hook and answers the lifecycle calls moto cannot. */
  plugin(): ClientPlugin {
    return interceptPlugin('localAutoScaling', 'initialize', async (call, next) => {
      if (call.client !== 'AutoScalingClient') return next();
      const input = call.input;
      switch (call.command) {
        case 'TerminateInstanceInAutoScalingGroup': {
          if ([...this.pending.values()].some((a) => a.instanceId === input.InstanceId)) {
            return answered({
              Activity: { ActivityId: randomUUID(), StatusCode: 'MidLifecycleAction', Description: `Terminating EC2 instance: ${input.InstanceId}` },
            });
          }
          const groups = await this.options.aws(AutoScalingClient).send(new DescribeAutoScalingGroupsCommand({}));
          const group = groups.AutoScalingGroups?.find((g) => g.Instances?.some((i) => i.InstanceId === input.InstanceId));
          if (group && (await this.begin(group.AutoScalingGroupName!, input.InstanceId, !!input.ShouldDecrementDesiredCapacity))) {
            return answered({
              Activity: {
                ActivityId: randomUUID(),
                AutoScalingGroupName: group.AutoScalingGroupName,
                StatusCode: 'MidLifecycleAction',
                Description: `Terminating EC2 instance: ${input.InstanceId}`,
              },
            });
          }
          return next();
        }
        case 'CompleteLifecycleAction': {
          const action = this.find(input);
          await this.finish(action, input.LifecycleActionResult, 'CompleteLifecycleAction');
          return answered({});
        }
        case 'RecordLifecycleActionHeartbeat': {
          const action = this.find(input);
          action.heartbeats += 1;
          this.heartbeats.push({ instanceId: action.instanceId, token: action.token, at: this.options.scheduler.now() });
          const hooks = await this.options
            .aws(AutoScalingClient)
            .send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: action.group, LifecycleHookNames: [action.hook] }));
          const hook = hooks.LifecycleHooks?.[0];
          this.arm(action, (hook?.HeartbeatTimeout ?? 3600) * 1000, hook?.DefaultResult ?? 'ABANDON');
          return answered({});
        }
        default:
          return next();
      }
    });
  }
}
