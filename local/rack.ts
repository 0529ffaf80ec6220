import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { IAMClient } from '@aws-sdk/client-iam';
import { imageResolver } from '../shared/images/resolve.js';
import { LocalRegistry } from './registry.js';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { type ClientFactory, clientFactory } from '../shared/aws/clients.js';
import { DynamoStore, documentClient } from '../shared/aws/dynamo-store.js';
import { MemoryIdempotency } from '../shared/aws/idempotency.js';
import { MemoryStore } from '../shared/aws/memory-store.js';
import type { Store } from '../shared/aws/store.js';
import { AutoScalingSimulator } from './autoscaling.js';
import { BuildSimulator } from './build.js';
import { Scheduler } from './clock.js';
import { EcsSimulator } from './ecs-simulator.js';
import { LocalEvents } from './events.js';
import { type DependencyOverrides, type FailureRecord, LocalFunctions } from './lambda.js';
import { CallLog, FaultInjector } from './plugins.js';
import { type ProvisionedStack, provisionStack } from './provision.js';
import { type ExecutionRecord, LocalStepFunctions } from './stepfunctions.js';
import { packagedTemplate, rackName } from './template.js';

/**
 * A rack inside moto, made from the packaged template (local/provision.ts), with the parts of AWS
 * moto lacks around it: a Lambda service that runs the functions in this process (local/lambda.ts),
 * event delivery through moto's EventBridge and the template's rules (local/events.ts), Step
 * Functions executions (local/stepfunctions.ts), and simulated CodeBuild builds, ECS rollouts and
 * Auto Scaling lifecycle actions. Two racks of different stages can run side by side in one process.
 */
export const LOCAL_ACCOUNT = '123456789012';

export interface LocalRackOptions {
  /** moto's URL */
  endpoint: string;
  /** serverless stage: the rack is `rackless-<stage>` (default local) */
  stage?: string;
  region?: string;
  /** stack parameters (CertificateArn, TarballMaxBytes, …) over the template's defaults */
  parameters?: Record<string, string>;
  /** also make an HTTPS listener, as a rack with a certificate has (requests a certificate in moto's ACM) */
  https?: boolean;
  /** virtual (default): time moves only when the rack is idle and waited for; real: `rackless local up` */
  clock?: 'virtual' | 'real';
  /** the rack's state in moto's DynamoDB (default) or in memory */
  store?: 'dynamodb' | 'memory';
  /** dependencies to put in place of the functions' own (by dependency name) */
  overrides?: DependencyOverrides;
}

export interface Notification {
  subject: string;
  message: string;
  attributes: Record<string, string>;
}

export interface DeployRun {
  execution: string;
  status: ExecutionRecord['status'];
  output?: any;
  error?: string;
  cause?: string;
  statesEntered: string[];
  transitions: number;
}

/** The rack's resources a test or the CLI names, from the stack's outputs. */
export interface RackResources {
  bucket: string;
  table: string;
  topicArn: string;
  alarmTopicArn: string;
  cluster: string;
  listenerArn: string;
  httpsListenerArn?: string;
  stateMachineArn: string;
  drainStateMachineArn: string;
  loadBalancerDns: string;
  failedInvocationsQueueUrl: string;
  eventsDeadLetterQueueUrl: string;
}

/** Typed access to one client factory's clients. */
export class AwsClients {
  constructor(readonly factory: ClientFactory) {}
  get s3() {
    return this.factory(S3Client);
  }
  get ecs() {
    return this.factory(ECSClient);
  }
  get elb() {
    return this.factory(ElasticLoadBalancingV2Client);
  }
  get ecr() {
    return this.factory(ECRClient);
  }
  get sfn() {
    return this.factory(SFNClient);
  }
  get sns() {
    return this.factory(SNSClient);
  }
  get sqs() {
    return this.factory(SQSClient);
  }
  get logs() {
    return this.factory(CloudWatchLogsClient);
  }
  get cloudwatch() {
    return this.factory(CloudWatchClient);
  }
  get dynamodb() {
    return this.factory(DynamoDBClient);
  }
  get ec2() {
    return this.factory(EC2Client);
  }
  get events() {
    return this.factory(EventBridgeClient);
  }
  get ssm() {
    return this.factory(SSMClient);
  }
  get iam() {
    return this.factory(IAMClient);
  }
  get asg() {
    return this.factory(AutoScalingClient);
  }
  get lambda() {
    return this.factory(LambdaClient);
  }
  get cfn() {
    return this.factory(CloudFormationClient);
  }
}

export class LocalRack {
  readonly name: string;
  readonly stage: string;
  readonly region: string;
  readonly scheduler: Scheduler;
  /** clients to moto itself: what tests read, and what the simulated services use */
  readonly aws: AwsClients;
  /** the clients the functions use: moto, plus the local services' plugins, the call log, the faults */
  readonly functionsAws: ClientFactory;
  readonly calls = new CallLog();
  readonly faults = new FaultInjector();
  readonly functions: LocalFunctions;
  readonly events: LocalEvents;
  readonly stepFunctions: LocalStepFunctions;
  readonly simulator: EcsSimulator;
  readonly builds: BuildSimulator;
  readonly autoscaling: AutoScalingSimulator;
  /** the public registries (Docker Hub, …) the functions pin `image:` references against */
  readonly registry = new LocalRegistry();
  store!: Store;
  stack!: ProvisionedStack;
  resources!: RackResources;
  private notificationsUrl = '';

  private constructor(readonly options: LocalRackOptions) {
    this.stage = options.stage ?? 'local';
    this.name = rackName(this.stage);
    this.region = options.region ?? 'us-east-1';
    this.scheduler = new Scheduler(options.clock ?? 'virtual');
    const settings = { region: this.region, endpoint: options.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 4 };
    const raw = clientFactory(settings);
    this.aws = new AwsClients(raw);
    this.functions = new LocalFunctions(raw, this.scheduler);
    this.events = new LocalEvents(raw, this.scheduler, this.functions);
    this.builds = new BuildSimulator(raw, this.region);
    this.stepFunctions = new LocalStepFunctions(this.scheduler, this.functions, this.events, { 'arn:aws:states:::codebuild:startBuild.sync': this.builds.integration() });
    this.simulator = new EcsSimulator({
      aws: raw,
      scheduler: this.scheduler,
      events: this.events,
      region: this.region,
      account: LOCAL_ACCOUNT,
      logGroupPrefix: `/rackless/${this.name}`,
      builtImages: (reference) => this.builds.appOf(reference),
    });
    this.autoscaling = new AutoScalingSimulator({ aws: raw, scheduler: this.scheduler, events: this.events, region: this.region, account: LOCAL_ACCOUNT });
    this.functionsAws = clientFactory(settings, [this.calls.plugin(), this.faults.plugin(), this.stepFunctions.plugin(), this.simulator.plugin(), this.autoscaling.plugin()]);
  }

  /** Provisions the rack from the packaged template and wires the local services. */
  static async start(options: LocalRackOptions): Promise<LocalRack> {
    const rack = new LocalRack(options);
    await rack.create();
    return rack;
  }

  private async create(): Promise<void> {
    const template = await packagedTemplate(this.stage, this.region);
    const parameters = { ...(this.options.parameters ?? {}) };
    if (this.options.https && !parameters.CertificateArn) {
      const { ACMClient, RequestCertificateCommand } = await import('@aws-sdk/client-acm');
      const certificate = await this.aws.factory(ACMClient).send(new RequestCertificateCommand({ DomainName: `*.${this.name}.localhost` }));
      parameters.CertificateArn = certificate.CertificateArn!;
    }
    this.stack = await provisionStack({ template, stackName: this.name, parameters, aws: this.aws.factory, region: this.region, account: LOCAL_ACCOUNT });
    const outputs = this.stack.outputs;
    const queueUrl = async (logicalId: string) => (await this.aws.sqs.send(new GetQueueUrlCommand({ QueueName: this.stack.physical[logicalId]!.split('/').pop()! }))).QueueUrl!;
    this.resources = {
      bucket: outputs.SourceBucket!,
      table: outputs.TableName!,
      topicArn: outputs.NotificationTopicArn!,
      alarmTopicArn: outputs.AlarmTopicArn!,
      cluster: outputs.ClusterName!,
      listenerArn: outputs.ListenerArn!,
      ...(outputs.HttpsListenerArn ? { httpsListenerArn: outputs.HttpsListenerArn } : {}),
      stateMachineArn: outputs.DeployStateMachineArn!,
      drainStateMachineArn: outputs.DrainStateMachineArn!,
      loadBalancerDns: outputs.LoadBalancerDnsName!,
      failedInvocationsQueueUrl: await queueUrl('FailedInvocationsQueue'),
      eventsDeadLetterQueueUrl: await queueUrl('EventsDeadLetterQueue'),
    };
    const memory = this.options.store === 'memory' ? new MemoryStore(this.scheduler.now) : undefined;
    this.store = memory ?? new DynamoStore(documentClient(this.aws.dynamodb), this.resources.table, this.scheduler.now);
    const overrides = this.options.overrides;
    await this.registry.start();
    const images = imageResolver({ ecr: this.functionsAws(ECRClient), region: this.region, registry: this.registry.options });
    await this.functions.load(this.stack, {
      aws: this.functionsAws,
      region: this.region,
      now: this.scheduler.now,
      overrides: (name, deps) => ({
        ...(memory && 'store' in deps ? { store: memory } : {}),
        // with the in-memory store, Notify's exactly-once claims stay in memory too
        ...(memory && 'idempotency' in deps ? { idempotency: new MemoryIdempotency() } : {}),
        ...('images' in deps ? { images } : {}),
        ...(typeof overrides === 'function' ? overrides(name, deps) : (overrides ?? {})),
      }),
    });
    await this.events.wire(this.stack);
    await this.stepFunctions.load(this.stack, this.aws.sfn);
    this.builds.load(this.stack);
    await this.autoscaling.startAgents(this.stack);
    // what a subscriber (email, chat) of the notification topic receives
    const queue = await this.aws.sqs.send(new CreateQueueCommand({ QueueName: `${this.name}-local-subscriber` }));
    this.notificationsUrl = queue.QueueUrl!;
    const arn = (await this.aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: this.notificationsUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    await this.aws.sns.send(new SubscribeCommand({ TopicArn: this.resources.topicArn, Protocol: 'sqs', Endpoint: arn }));
  }

  // ---------------------------------------------------------------- what a user does

  /** Puts a tarball in the source bucket (as `aws s3 cp` does) and delivers what S3 sent EventBridge. */
  async upload(key: string, body: Buffer | Uint8Array): Promise<{ versionId?: string }> {
    const put = await this.aws.s3.send(new PutObjectCommand({ Bucket: this.resources.bucket, Key: key, Body: body }));
    await this.events.pump();
    return { ...(put.VersionId ? { versionId: put.VersionId } : {}) };
  }

  /** The deploy executions started for an object (normally one). */
  executionsFor(key: string, versionId?: string): ExecutionRecord[] {
    return this.stepFunctions.all.filter((e) => e.input?.source?.key === key && (versionId === undefined || e.input?.source?.versionId === versionId));
  }

  /** Runs `action` and returns the executions it started (an upload, an event, a CLI command). */
  async started(action: () => Promise<unknown>): Promise<ExecutionRecord[]> {
    const before = new Set(this.stepFunctions.all.map((e) => e.executionArn));
    await action();
    await this.settled();
    return this.stepFunctions.all.filter((e) => !before.has(e.executionArn));
  }

  /** Upload, then wait for the deploy it starts to end: what `aws s3 cp` and waiting for the notification do. */
  async deploy(app: string, tarball: Buffer | Uint8Array, file = 'app.tar.gz'): Promise<DeployRun> {
    const key = `apps/${app}/${file}`;
    const { versionId } = await this.upload(key, tarball);
    const [execution] = this.executionsFor(key, versionId);
    if (!execution) throw new Error(`the upload of ${key} started no deploy (start-deployment ignored it: see its log)`);
    return this.finish(execution.name);
  }

  /** Waits for an execution to end (moving the virtual clock while the rack is idle). */
  async finish(execution: string): Promise<DeployRun> {
    const record = this.stepFunctions.execution(execution);
    if (!record) throw new Error(`no execution ${execution} in the local rack`);
    const done = await this.scheduler.until(record.done);
    return {
      execution: done.name,
      status: done.status,
      output: done.output,
      error: done.error,
      cause: done.cause,
      statesEntered: done.statesEntered,
      transitions: done.transitions,
    };
  }

  /** Events put on EventBridge (a redeploy request, a sample event) reach their rules' targets. */
  async putEvents(entries: PutEventsRequestEntry[]): Promise<void> {
    await this.events.put(entries);
  }

  /** An event as EventBridge delivers it (a sample under events/), put back on the bus. */
  async sendEvent(event: { source: string; 'detail-type': string; resources?: string[]; detail: unknown; time?: string }): Promise<void> {
    await this.putEvents([
      {
        Source: event.source,
        DetailType: event['detail-type'],
        Resources: event.resources ?? [],
        Detail: JSON.stringify(event.detail),
        ...(event.time ? { Time: new Date(event.time) } : {}),
      },
    ]);
  }

  /** Resolves once the execution has entered the state. */
  reached(execution: string, state: string): Promise<void> {
    return this.scheduler.until(this.stepFunctions.reached(execution, state));
  }

  /** Resolves once no work is in flight (time does not move). */
  settled(): Promise<void> {
    return this.scheduler.idle();
  }

  /** Drains the test subscriber of the notification topic: every notification published so far. */
  async notifications(): Promise<Notification[]> {
    await this.settled();
    const found: Notification[] = [];
    for (const envelope of await this.drainQueue(this.notificationsUrl)) {
      found.push({
        subject: envelope.Subject ?? '',
        message: envelope.Message ?? '',
        attributes: Object.fromEntries(Object.entries((envelope.MessageAttributes ?? {}) as Record<string, { Value: string }>).map(([k, v]) => [k, v.Value])),
      });
    }
    return found;
  }

  /** What the failed-invocations queue holds (Lambda destination records), removing them. */
  async failedInvocations(): Promise<FailureRecord[]> {
    await this.settled();
    return (await this.drainQueue(this.resources.failedInvocationsQueueUrl)) as FailureRecord[];
  }

  private async drainQueue(url: string): Promise<any[]> {
    const found: any[] = [];
    for (;;) {
      const res = await this.aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!res.Messages?.length) return found;
      for (const message of res.Messages) {
        found.push(JSON.parse(message.Body ?? '{}'));
        await this.aws.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  }

  /** A function's handler as the rack wired it (to invoke it directly, as `serverless invoke` does). */
  handler(name: string) {
    return this.functions.get(name).handler;
  }

  /** States entered by every execution, in order: [execution, state]. */
  get entered(): Array<[string, string]> {
    return this.stepFunctions.entered;
  }
}
