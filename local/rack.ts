import { createHash } from 'node:crypto';
import { ACMClient, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { CreateListenerCommand, CreateLoadBalancerCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateBucketCommand, HeadObjectCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { asyncRetryAttempts, invokeAsync, type FailureRecord } from './async-invoke.js';
import { LOCAL_ACCOUNT, lambdaArn, loadDefinition, runStateMachine, TaskTokenBus, type Handler, type RunResult } from './asl.js';
import { installTaskTokenBus } from './token-bus.js';
import { documentClient, Store } from '../shared/aws/store.js';
import { EcsSimulator, type RolloutScenario } from './ecs-simulator.js';

/**
 * A rack inside moto: the resources serverless.yml declares, made through the service APIs (moto's
 * CloudFormation skips several of them), plus what AWS would do around our Lambdas: deliver S3 events
 * to the starter, run the shipped state machine with the real handlers, resolve task tokens, run a
 * simulated image build and a simulated ECS rollout that emits real-shaped ECS events.
 */
export interface LocalRackOptions {
  endpoint: string;
  name?: string;
  region?: string;
  /** seconds; the Watch deadline (small in tests) */
  watchDeadlineSeconds?: number;
  failFastStops?: number;
  /** also make an HTTPS listener, as a rack with a certificate has */
  https?: boolean;
  /** tarball limits, smaller than the defaults where a test needs to cross them */
  tarballLimits?: { maxEntries?: number; maxBytes?: number; maxRatio?: number };
}

export interface Notification {
  subject: string;
  message: string;
  attributes: Record<string, string>;
}

export interface BuildScenario {
  status: 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'TIMED_OUT' | 'STOPPED';
}

export interface DeployRun extends RunResult {
  execution: string;
}

const ROOT = new URL('..', import.meta.url).pathname;

export class LocalRack {
  readonly name: string;
  readonly region: string;
  readonly env: Record<string, string> = {};
  readonly tokens = new TaskTokenBus();
  readonly simulator: EcsSimulator;
  private handlers: Record<string, Handler> = {};
  private started = new Map<string, Promise<DeployRun>>();
  private sequence = 0;
  private builds = new Map<string, BuildScenario>();
  private queueUrl = '';
  private failedInvocationsUrl = '';
  private readonly asyncRetries = asyncRetryAttempts();
  private readonly clients;
  private readonly clientConfig;
  /** states entered by every execution, in order: [execution, state] */
  readonly entered: Array<[string, string]> = [];
  private enteredWaiters: Array<{ execution: string; state: string; resolve: () => void }> = [];

  constructor(readonly options: LocalRackOptions) {
    this.name = options.name ?? 'rackless-local';
    this.region = options.region ?? 'us-east-1';
    const config = { endpoint: options.endpoint, region: this.region, forcePathStyle: true, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    this.clientConfig = config;
    this.clients = {
      s3: new S3Client(config),
      dynamodb: new DynamoDBClient(config),
      sns: new SNSClient(config),
      sqs: new SQSClient(config),
      ecs: new ECSClient(config),
      ecr: new ECRClient(config),
      ec2: new EC2Client(config),
      elb: new ElasticLoadBalancingV2Client(config),
      sfn: new SFNClient(config),
      logs: new CloudWatchLogsClient(config),
    };
    this.simulator = new EcsSimulator({
      logs: this.clients.logs,
      region: this.region,
      account: LOCAL_ACCOUNT,
      logGroupPrefix: `/rackless/${this.name}`,
      deliver: (event) => this.deliverEcsEvent(event),
    });
  }

  private table?: Store;

  /** The rack's table, as the handlers see it. */
  get store(): Store {
    this.table ??= new Store(documentClient(this.clients.dynamodb), this.env.TABLE_NAME!);
    return this.table;
  }

  get bucket(): string {
    return this.env.SOURCE_BUCKET!;
  }

  /** Creates the rack's resources in moto and sets the handlers' environment. */
  async create(): Promise<this> {
    const { s3, dynamodb, sns, sqs, ecs, ec2, elb, sfn } = this.clients;
    const name = this.name;
    const bucket = `${name}-source`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const table = `${name}-state`;
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    const topic = await sns.send(new CreateTopicCommand({ Name: `${name}-notifications` }));
    const alarmTopic = await sns.send(new CreateTopicCommand({ Name: `${name}-alarms` }));
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-inbox` }));
    this.failedInvocationsUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-failed-invocations` }))).QueueUrl!;
    this.queueUrl = queue.QueueUrl!;
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    await sns.send(new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: 'sqs', Endpoint: queueArn }));
    const cluster = await ecs.send(new CreateClusterCommand({ clusterName: name }));
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }));
    const vpcId = vpc.Vpc!.VpcId!;
    const subnets = [];
    for (const [i, az] of ['a', 'b'].entries()) {
      const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.40.${i}.0/24`, AvailabilityZone: `${this.region}${az}` }));
      subnets.push(subnet.Subnet!.SubnetId!);
    }
    const lb = await elb.send(new CreateLoadBalancerCommand({ Name: `${name}-alb`.slice(0, 32), Subnets: subnets, Scheme: 'internet-facing', Type: 'application' }));
    const loadBalancer = lb.LoadBalancers![0]!;
    const listener = await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: loadBalancer.LoadBalancerArn,
        Protocol: 'HTTP',
        Port: 80,
        DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'no such app' } }],
      }),
    );
    const certificate = this.options.https ? await new ACMClient(this.clientConfig).send(new RequestCertificateCommand({ DomainName: `*.${name}.localhost` })) : undefined;
    const https = certificate
      ? await elb.send(
          new CreateListenerCommand({
            LoadBalancerArn: loadBalancer.LoadBalancerArn,
            Protocol: 'HTTPS',
            Port: 443,
            Certificates: [{ CertificateArn: certificate.CertificateArn }],
            DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'no such app' } }],
          }),
        )
      : undefined;
    const definition = loadDefinition(`${ROOT}state-machines/deploy.asl.yml`, this.region);
    const machine = await sfn.send(
      new CreateStateMachineCommand({
        name: `${name}-deploy`,
        definition: JSON.stringify(definition),
        roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/${name}-deploy`,
        type: 'STANDARD',
      }),
    );
    Object.assign(this.env, {
      AWS_REGION: this.region,
      AWS_ENDPOINT_URL: this.options.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      RACK_NAME: name,
      SOURCE_BUCKET: bucket,
      TABLE_NAME: table,
      TOPIC_ARN: topic.TopicArn!,
      ALARM_TOPIC_ARN: alarmTopic.TopicArn!,
      STATE_MACHINE_ARN: machine.stateMachineArn!,
      CLUSTER: cluster.cluster!.clusterName!,
      LISTENER_ARN: listener.Listeners![0]!.ListenerArn!,
      ...(https ? { HTTPS_LISTENER_ARN: https.Listeners![0]!.ListenerArn! } : {}),
      VPC_ID: vpcId,
      RACK_DOMAIN: `${name}.localhost`,
      LOAD_BALANCER_DNS: loadBalancer.DNSName ?? '',
      CODEBUILD_PROJECT: `${name}-build`,
      EXECUTION_ROLE_ARN: `arn:aws:iam::${LOCAL_ACCOUNT}:role/${name}-task-execution`,
      TASK_ROLE_ARN: `arn:aws:iam::${LOCAL_ACCOUNT}:role/${name}-task`,
      ECR_PREFIX: name,
      LOG_GROUP_PREFIX: `/rackless/${name}`,
      DEREGISTRATION_DELAY: '30',
      WATCH_DEADLINE_SECONDS: String(this.options.watchDeadlineSeconds ?? 30),
      FAIL_FAST_STOPS: String(this.options.failFastStops ?? 3),
      ...(this.options.tarballLimits?.maxEntries ? { TARBALL_MAX_ENTRIES: String(this.options.tarballLimits.maxEntries) } : {}),
      ...(this.options.tarballLimits?.maxBytes ? { TARBALL_MAX_BYTES: String(this.options.tarballLimits.maxBytes) } : {}),
      ...(this.options.tarballLimits?.maxRatio ? { TARBALL_MAX_RATIO: String(this.options.tarballLimits.maxRatio) } : {}),
    });
    return this;
  }

  /**
   * Loads the real handlers with this rack's environment. Handlers read their environment at cold
   * start, so this runs once per process, after create().
   */
  async loadHandlers(): Promise<void> {
    Object.assign(process.env, this.env);
    installTaskTokenBus(this.tokens);
    const names = ['start-deployment', 'queue', 'prepare', 'release', 'promote', 'watch', 'verify', 'rollback', 'notify', 'task-events', 'redeploy', 'retire'];
    for (const name of names) {
      const module = (await import(`../functions/${name}/handler.ts`)) as { handler: Handler };
      this.handlers[name] = module.handler;
    }
  }

  handler(name: string): Handler {
    const handler = this.handlers[name];
    if (!handler) throw new Error(`handler ${name} is not loaded`);
    return handler;
  }

  /** The image build for the next build of an app (default: it succeeds). */
  buildScenario(app: string, scenario: BuildScenario): void {
    this.builds.set(app, scenario);
  }

  /** Puts a tarball in the source bucket; returns the S3 Object Created event EventBridge would send. */
  async putTarball(key: string, body: Buffer | Uint8Array): Promise<Record<string, any>> {
    const { s3 } = this.clients;
    await s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    this.sequence += 1;
    // S3 sequencers are hex that grows per key; moto sends none, so the rack makes them in upload order
    const sequencer = (0x0066a0000000 + this.sequence).toString(16).toUpperCase().padStart(18, '0');
    return s3ObjectCreated({
      bucket: this.bucket,
      key,
      size: Number(head.ContentLength ?? 0),
      etag: (head.ETag ?? '').replace(/"/g, ''),
      versionId: head.VersionId,
      sequencer,
      region: this.region,
    });
  }

  /**
   * Delivers an S3 event to start-deployment like EventBridge would; runs the execution it started
   * (once per execution name, however often the event is delivered).
   */
  async deliverS3Event(event: Record<string, any>): Promise<{ status: string; execution?: string; run?: Promise<DeployRun> }> {
    const result = (await this.handler('start-deployment')(event, {})) as { status: string; execution?: string };
    if (!result.execution) return result;
    return { ...result, run: this.runExecution(result.execution) };
  }

  /**
   * Redeploy requests (custom event, schedule input, ECR push) go to the redeploy function as the
   * rules in serverless.yml deliver them; every execution it starts is run.
   */
  async redeploy(event: Record<string, any>): Promise<Array<{ app: string; status: string; execution?: string; reason?: string; run?: Promise<DeployRun> }>> {
    const results = (await this.handler('redeploy')(event, {})) as Array<{ app: string; status: string; execution?: string; reason?: string }>;
    return results.map((r) => (r.status === 'started' && r.execution ? { ...r, run: this.runExecution(r.execution) } : r));
  }

  /** Upload + deliver in one: what `aws s3 cp` does on a real rack. */
  async deploy(app: string, tarball: Buffer | Uint8Array, file = 'app.tar.gz'): Promise<DeployRun> {
    const event = await this.putTarball(`apps/${app}/${file}`, tarball);
    const started = await this.deliverS3Event(event);
    if (!started.run) throw new Error(`upload of apps/${app}/${file} started no deploy: ${JSON.stringify(started)}`);
    return started.run;
  }

  /** Runs an execution moto recorded (StartExecution) through the shipped ASL, once. */
  runExecution(executionName: string): Promise<DeployRun> {
    const existing = this.started.get(executionName);
    if (existing) return existing;
    const run = (async () => {
      const arn = `${this.env.STATE_MACHINE_ARN!.replace(':stateMachine:', ':execution:')}:${executionName}`;
      const described = await this.clients.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      const input = JSON.parse(described.input ?? '{}');
      return this.execute(executionName, input);
    })();
    this.started.set(executionName, run);
    return run;
  }

  async execute(executionName: string, input: unknown): Promise<DeployRun> {
    const definition = loadDefinition(`${ROOT}state-machines/deploy.asl.yml`, this.region);
    const result = await runStateMachine(definition, input, {
      executionName,
      stateMachineArn: this.env.STATE_MACHINE_ARN!,
      handlers: this.handlers,
      tokens: this.tokens,
      waitMs: 0,
      integrations: { 'arn:aws:states:::codebuild:startBuild.sync': (params) => this.simulateBuild(params) },
      onStateEntered: (state, stateInput) => {
        this.entered.push([executionName, state]);
        this.enteredWaiters = this.enteredWaiters.filter((w) => {
          if (w.execution !== executionName || w.state !== state) return true;
          w.resolve();
          return false;
        });
        if (state === 'Watch') this.simulator.rollout(stateInput);
      },
    });
    return { ...result, execution: executionName };
  }

  /** Resolves once the execution has entered the state. */
  reached(execution: string, state: string): Promise<void> {
    if (this.entered.some(([e, s]) => e === execution && s === state)) return Promise.resolve();
    return new Promise((resolve) => this.enteredWaiters.push({ execution, state, resolve }));
  }

  /** The CodeBuild project, simulated: "pushes" each built image to the app's ECR repository in moto. */
  private async simulateBuild(params: { ProjectName: string; EnvironmentVariablesOverride: Array<{ Name: string; Value: string }> }) {
    const vars = Object.fromEntries(params.EnvironmentVariablesOverride.map((v) => [v.Name, v.Value]));
    const app = vars.RACKLESS_APP!;
    const scenario = this.builds.get(app) ?? { status: 'SUCCEEDED' };
    this.builds.delete(app);
    const id = `${params.ProjectName}:${createHash('sha256')
      .update(vars.IMAGE_TAG ?? '')
      .digest('hex')
      .slice(0, 8)}`;
    const build = {
      Id: id,
      BuildStatus: scenario.status,
      ProjectName: params.ProjectName,
      Logs: { DeepLink: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#logEvent:group=/aws/codebuild/${params.ProjectName}` },
      Phases:
        scenario.status === 'SUCCEEDED'
          ? []
          : [{ PhaseType: 'BUILD', PhaseStatus: 'FAILED', Contexts: [{ Message: 'COMMAND_EXECUTION_ERROR: Error while executing command: docker build. Reason: exit status 1' }] }],
    };
    if (scenario.status !== 'SUCCEEDED') {
      throw Object.assign(new Error(JSON.stringify(build)), { name: 'States.TaskFailed' });
    }
    const builds = JSON.parse(vars.BUILDS ?? '[]') as Array<{ service: string; image: string }>;
    for (const b of builds) {
      const [repository, tag] = [b.image.split('/').slice(1).join('/').split(':')[0]!, b.image.split(':').pop()!];
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { digest: `sha256:${createHash('sha256').update(b.image).digest('hex')}` },
        layers: [],
      });
      await this.clients.ecr.send(new PutImageCommand({ repositoryName: repository, imageTag: tag, imageManifest: manifest }));
    }
    return { Build: build };
  }

  /**
   * ECS events go to task-events the way the EventBridge rule delivers them: an asynchronous
   * invocation, retried as serverless.yml configures, then kept in the failed-invocations queue.
   */
  async deliverEcsEvent(event: Record<string, unknown>): Promise<unknown> {
    const outcome = await invokeAsync(this.handler('task-events'), event, {
      functionArn: lambdaArn('task-events', this.region),
      retries: this.asyncRetries,
      onFailure: async (record) => {
        await this.clients.sqs.send(new SendMessageCommand({ QueueUrl: this.failedInvocationsUrl, MessageBody: JSON.stringify(record) }));
      },
    });
    if (outcome.failed) throw new Error(`task-events failed ${outcome.failed.requestContext.approximateInvokeCount} times: ${outcome.failed.responsePayload.errorMessage}`);
    return outcome.result;
  }

  /** What the failed-invocations queue holds (Lambda destination records), removing them. */
  async failedInvocations(): Promise<FailureRecord[]> {
    const res = await this.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: this.failedInvocationsUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    for (const m of res.Messages ?? []) await this.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: this.failedInvocationsUrl, ReceiptHandle: m.ReceiptHandle }));
    return (res.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}') as FailureRecord);
  }

  /** Drains the SNS → SQS subscription: every notification published so far. */
  async notifications(): Promise<Notification[]> {
    const { sqs } = this.clients;
    const found: Notification[] = [];
    for (;;) {
      const res = await sqs.send(new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!res.Messages?.length) return found;
      for (const message of res.Messages) {
        const envelope = JSON.parse(message.Body ?? '{}');
        found.push({
          subject: envelope.Subject ?? '',
          message: envelope.Message ?? '',
          attributes: Object.fromEntries(Object.entries((envelope.MessageAttributes ?? {}) as Record<string, { Value: string }>).map(([k, v]) => [k, v.Value])),
        });
        await sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  }

  get aws() {
    return this.clients;
  }
}

export function s3ObjectCreated(o: { bucket: string; key: string; size: number; etag: string; versionId?: string; sequencer: string; region: string }) {
  return {
    version: '0',
    id: `local-${o.sequencer}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString(),
    region: o.region,
    resources: [`arn:aws:s3:::${o.bucket}`],
    detail: {
      version: '0',
      bucket: { name: o.bucket },
      object: { key: encodeURIComponent(o.key).replace(/%2F/g, '/'), size: o.size, etag: o.etag, ...(o.versionId ? { 'version-id': o.versionId } : {}), sequencer: o.sequencer },
      'request-id': `local-${o.sequencer}`,
      requester: LOCAL_ACCOUNT,
      reason: 'PutObject',
    },
  };
}

export type { RolloutScenario };
