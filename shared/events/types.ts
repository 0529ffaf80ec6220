/**
 * The events Rackless consumes, typed as AWS delivers them. @types/aws-lambda covers the envelope and
 * S3, but not ECS, Auto Scaling lifecycle, ECR or the CloudWatch alarm message, so they live here.
 * Sources: ECS developer guide "Amazon ECS events" (task, deployment, service action), Amazon S3
 * "EventBridge event message structure", EC2 Auto Scaling "lifecycle hooks" events, Amazon ECR
 * "events and EventBridge", CloudWatch "alarm actions" SNS payload. Samples: events/*.json.
 */
import type { EventBridgeEvent, S3ObjectCreatedNotificationEvent } from 'aws-lambda';

export type { EventBridgeEvent } from 'aws-lambda';

// ECS may add statuses and codes; `string & {}` keeps the known ones in autocomplete without rejecting new ones.
type Open<T extends string> = T | (string & {});

export type EcsTaskStatus = Open<'PROVISIONING' | 'PENDING' | 'ACTIVATING' | 'RUNNING' | 'DEACTIVATING' | 'STOPPING' | 'DEPROVISIONING' | 'STOPPED' | 'DELETED'>;

export type EcsStopCode = Open<
  'TaskFailedToStart' | 'EssentialContainerExited' | 'UserInitiated' | 'ServiceSchedulerInitiated' | 'SpotInterruption' | 'TerminationNotice' | 'InfrastructureHealth'
>;

export interface EcsNetworkBinding {
  bindIP?: string;
  containerPort?: number;
  hostPort?: number;
  protocol?: string;
}

export interface EcsContainerDetail {
  containerArn: string;
  name: string;
  lastStatus: EcsTaskStatus;
  taskArn: string;
  image?: string;
  /** present when the image is hosted in ECR and was resolved */
  imageDigest?: string;
  runtimeId?: string;
  /** absent while running and when the container never started */
  exitCode?: number;
  /** e.g. "OutOfMemoryError: Container killed due to memory usage", "CannotPullContainerError: …" */
  reason?: string;
  healthStatus?: Open<'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN'>;
  networkBindings?: EcsNetworkBinding[];
  networkInterfaces?: { attachmentId?: string; privateIpv4Address?: string }[];
  cpu?: string;
  memory?: string;
  memoryReservation?: string;
}

export interface EcsAttachment {
  id: string;
  type: string;
  status: string;
  details: { name: string; value: string }[];
}

/** detail of `ECS Task State Change`; resembles DescribeTasks' Task with ISO string timestamps */
export interface EcsTaskStateChangeDetail {
  attachments?: EcsAttachment[];
  attributes?: { name: string; value?: string }[];
  availabilityZone?: string;
  capacityProviderName?: string;
  clusterArn: string;
  connectivity?: string;
  connectivityAt?: string;
  containerInstanceArn?: string;
  containers: EcsContainerDetail[];
  cpu?: string;
  memory?: string;
  createdAt: string;
  desiredStatus: EcsTaskStatus;
  executionStoppedAt?: string;
  /** "service:NAME" for service tasks, "family:NAME" for standalone ones */
  group?: string;
  healthStatus?: Open<'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN'>;
  lastStatus: EcsTaskStatus;
  launchType?: Open<'EC2' | 'FARGATE' | 'EXTERNAL'>;
  overrides?: { containerOverrides?: { name: string; command?: string[]; environment?: { name: string; value: string }[] }[] };
  platformVersion?: string;
  pullStartedAt?: string;
  pullStoppedAt?: string;
  startedAt?: string;
  /** "ecs-svc/<deployment id>" for tasks a service deployment started */
  startedBy?: string;
  stopCode?: EcsStopCode;
  stoppedAt?: string;
  stoppedReason?: string;
  stoppingAt?: string;
  taskArn: string;
  taskDefinitionArn: string;
  updatedAt?: string;
  /** increments on every change of this task; duplicate deliveries share it */
  version: number;
}

export type EcsDeploymentEventName = Open<'SERVICE_DEPLOYMENT_IN_PROGRESS' | 'SERVICE_DEPLOYMENT_COMPLETED' | 'SERVICE_DEPLOYMENT_FAILED'>;

/** detail of `ECS Deployment State Change`; the service ARN is in the envelope's resources[0] */
export interface EcsDeploymentStateChangeDetail {
  eventType: Open<'INFO' | 'ERROR'>;
  eventName: EcsDeploymentEventName;
  /** "ecs-svc/<number>", the id DescribeServices lists under deployments[] */
  deploymentId: string;
  updatedAt: string;
  /** "ECS deployment circuit breaker: task failed to start.", "… rolling back to deploymentId …" */
  reason?: string;
  clusterArn?: string;
}

export type EcsServiceActionEventName = Open<
  | 'SERVICE_STEADY_STATE'
  | 'TASKSET_STEADY_STATE'
  | 'CAPACITY_PROVIDER_STEADY_STATE'
  | 'SERVICE_DESIRED_COUNT_UPDATED'
  | 'TASKS_STOPPED'
  | 'SERVICE_TASK_START_IMPAIRED'
  | 'SERVICE_DISCOVERY_INSTANCE_UNHEALTHY'
  | 'VPC_LATTICE_TARGET_UNHEALTHY'
  | 'SERVICE_DAEMON_PLACEMENT_CONSTRAINT_VIOLATED'
  | 'ECS_OPERATION_THROTTLED'
  | 'SERVICE_DISCOVERY_OPERATION_THROTTLED'
  | 'SERVICE_TASK_PLACEMENT_FAILURE'
  | 'SERVICE_TASK_CONFIGURATION_FAILURE'
>;

/** detail of `ECS Service Action`; unlike task events it carries no version */
export interface EcsServiceActionDetail {
  eventType: Open<'INFO' | 'WARN' | 'ERROR'>;
  eventName: EcsServiceActionEventName;
  clusterArn: string;
  createdAt: string;
  capacityProviderArns?: string[];
  /** for placement/configuration failures, e.g. "RESOURCE:MEMORY", "RESOURCE:PORTS", "AGENT" */
  reason?: string;
  desiredCount?: number;
  taskArns?: string[];
  containerInstanceArns?: string[];
}

export type EcsTaskStateChangeEvent = EventBridgeEvent<'ECS Task State Change', EcsTaskStateChangeDetail>;
export type EcsDeploymentStateChangeEvent = EventBridgeEvent<'ECS Deployment State Change', EcsDeploymentStateChangeDetail>;
export type EcsServiceActionEvent = EventBridgeEvent<'ECS Service Action', EcsServiceActionDetail>;

export type S3ObjectCreatedEvent = S3ObjectCreatedNotificationEvent;

/** detail of `EC2 Instance-terminate Lifecycle Action` */
export interface AutoScalingTerminateLifecycleDetail {
  LifecycleActionToken: string;
  AutoScalingGroupName: string;
  LifecycleHookName: string;
  EC2InstanceId: string;
  LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING';
  NotificationMetadata?: string;
  Origin?: string;
  Destination?: string;
}
export type AutoScalingTerminateLifecycleEvent = EventBridgeEvent<'EC2 Instance-terminate Lifecycle Action', AutoScalingTerminateLifecycleDetail>;

/** detail of `ECR Image Action` (source aws.ecr) */
export interface EcrImageActionDetail {
  'action-type': Open<'PUSH' | 'DELETE'>;
  result: Open<'SUCCESS' | 'FAILURE'>;
  'repository-name': string;
  'image-digest': string;
  /** absent for untagged pushes */
  'image-tag'?: string;
  'manifest-media-type'?: string;
  'artifact-media-type'?: string;
}
export type EcrImageActionEvent = EventBridgeEvent<'ECR Image Action', EcrImageActionDetail>;

/** `Scheduled Event` from an EventBridge schedule rule: the rule ARN is resources[0], detail is {} */
export type ScheduledEvent = EventBridgeEvent<'Scheduled Event', Record<string, never>>;

/** detail of Rackless' own `Redeploy Requested` (source "rackless"): promote a release, or rebuild the current one */
export interface RedeployRequestedDetail {
  app: string;
  release?: string;
  rebuild?: boolean;
}
export type RedeployRequestedEvent = EventBridgeEvent<'Redeploy Requested', RedeployRequestedDetail>;

export interface CloudWatchAlarmDimension {
  name: string;
  value: string;
}

/** The JSON string CloudWatch publishes to SNS when an alarm changes state (Records[0].Sns.Message). */
export interface CloudWatchAlarmMessage {
  AlarmName: string;
  AlarmDescription?: string | null;
  AWSAccountId?: string;
  AlarmConfigurationUpdatedTimestamp?: string;
  NewStateValue: Open<'OK' | 'ALARM' | 'INSUFFICIENT_DATA'>;
  NewStateReason: string;
  /** "2026-03-02T14:09:40.321+0000" */
  StateChangeTime: string;
  /** the region's long name, e.g. "US East (N. Virginia)" */
  Region?: string;
  AlarmArn?: string;
  OldStateValue?: string;
  OKActions?: string[];
  AlarmActions?: string[];
  InsufficientDataActions?: string[];
  Trigger?: {
    MetricName?: string;
    Namespace?: string;
    StatisticType?: string;
    Statistic?: string;
    Unit?: string | null;
    Dimensions?: CloudWatchAlarmDimension[];
    Period?: number;
    EvaluationPeriods?: number;
    DatapointsToAlarm?: number;
    ComparisonOperator?: string;
    Threshold?: number;
    TreatMissingData?: string;
    EvaluateLowSampleCountPercentile?: string;
    /** metric-math alarms carry Metrics instead of MetricName */
    Metrics?: unknown[];
  };
}
