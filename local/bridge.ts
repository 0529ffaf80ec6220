import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeTaskDefinitionCommand, RegisterContainerInstanceCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { PutBucketNotificationConfigurationCommand } from '@aws-sdk/client-s3';
import { type Message, CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { loadDefinition } from './asl.js';
import type { DeployRun, LocalRack } from './rack.js';

/**
 * Makes a LocalRack answer like an installed rack to clients in other processes (the CLI):
 *  - S3 uploads under apps/ reach start-deployment through moto's own S3 → EventBridge notifications,
 *    a rule with serverless.yml's pattern and an SQS target the bridge reads; moto sends one fixed
 *    sequencer and an "eTag" key, which the bridge fixes up (sequencers in arrival order, as S3 would).
 *  - `Redeploy Requested` PutEvents reach the redeploy function by the same rule → SQS route.
 *  - Executions started in moto are run in-process with the real handlers (moto cannot run Lambda
 *    tasks); a small HTTP front on moto answers Step Functions DescribeExecution, GetExecutionHistory
 *    and ListExecutions from those runs, so `deploy` follows a local rack exactly as a real one.
 *  - One-off tasks (RunTask) are placed on a simulated container instance and stopped at once with
 *    exit code 0 and a log line saying that no container ran (moto runs none).
 *  - The rack's resources are published as the outputs of a CloudFormation stack named after the rack,
 *    so `--rack local` resolves them the same way as on AWS.
 * Everything else is forwarded to moto unchanged.
 */
export interface BridgeOptions {
  /** the moto server the rack lives in */
  motoUrl: string;
  /** port of the front (default: a free one) */
  port?: number;
  /** one line per thing the bridge did (deliveries, runs, errors) */
  log?: (line: string) => void;
}

type StateType = 'Task' | 'Choice' | 'Pass' | 'Fail' | 'Succeed' | 'Wait' | 'Parallel' | 'Map';

interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

interface ExecutionRecord {
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  events: HistoryEvent[];
  current?: { name: string; type: StateType };
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
}

/** The stack outputs `--rack` reads; the names are serverless.yml's. */
export function rackOutputs(rack: LocalRack): Record<string, string> {
  const env = rack.env;
  return {
    SourceBucket: env.SOURCE_BUCKET!,
    NotificationTopicArn: env.TOPIC_ARN!,
    AlarmTopicArn: env.ALARM_TOPIC_ARN!,
    TableName: env.TABLE_NAME!,
    LoadBalancerDnsName: env.LOAD_BALANCER_DNS || 'localhost',
    DeployStateMachineArn: env.STATE_MACHINE_ARN!,
    ClusterName: env.CLUSTER!,
    ListenerArn: env.LISTENER_ARN!,
    BuildProjectName: env.CODEBUILD_PROJECT!,
  };
}

const seconds = (ms: number) => ms / 1000;

export class LocalBridge {
  private server?: Server;
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly runs = new Map<string, Promise<DeployRun | undefined>>();
  private readonly stateTypes: Record<string, StateType>;
  private readonly sqs: SQSClient;
  private queueUrl = '';
  private sequence = 0;
  private polling?: Promise<void>;
  private readonly abort = new AbortController();
  private stopped = false;
  url = '';

  constructor(
    readonly rack: LocalRack,
    readonly options: BridgeOptions,
  ) {
    const definition = loadDefinition(new URL('../state-machines/deploy.asl.yml', import.meta.url).pathname, rack.region);
    this.stateTypes = Object.fromEntries(Object.entries(definition.States).map(([name, state]) => [name, (state as { Type: StateType }).Type]));
    this.sqs = new SQSClient(this.clientConfig());
    this.recordStates();
  }

  private clientConfig() {
    return { endpoint: this.options.motoUrl, region: this.rack.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /** Wires events, publishes the stack, opens the front and starts delivering. */
  async start(): Promise<this> {
    const rack = this.rack;
    const config = this.clientConfig();
    const events = new EventBridgeClient(config);
    const queue = await this.sqs.send(new CreateQueueCommand({ QueueName: `${rack.name}-bridge` }));
    this.queueUrl = queue.QueueUrl!;
    const queueArn = (await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    await rack.aws.s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: rack.bucket, NotificationConfiguration: { EventBridgeConfiguration: {} } }));
    const rules: Record<string, unknown> = {
      [`${rack.name}-tarball-uploaded`]: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [rack.bucket] }, object: { key: [{ prefix: 'apps/' }] } },
      },
      [`${rack.name}-redeploy-requested`]: { source: ['rackless'], 'detail-type': ['Redeploy Requested'] },
    };
    for (const [name, pattern] of Object.entries(rules)) {
      await events.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify(pattern) }));
      await events.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: 'bridge', Arn: queueArn }] }));
    }
    const outputs = rackOutputs(rack);
    await new CloudFormationClient(config).send(
      new CreateStackCommand({
        StackName: rack.name,
        // a stack needs one resource; the outputs are what matters
        TemplateBody: JSON.stringify({
          Resources: { LocalRack: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
          Outputs: Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, { Value: value }])),
        }),
      }),
    );
    // a simulated container instance, so RunTask can place one-off tasks
    const ec2 = new EC2Client(config);
    const image = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
    const instance = await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1, InstanceType: 't3.small' }));
    await rack.aws.ecs.send(
      new RegisterContainerInstanceCommand({
        cluster: rack.env.CLUSTER,
        instanceIdentityDocument: JSON.stringify({ instanceId: instance.Instances![0]!.InstanceId, region: rack.region }),
      }),
    );
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.options.port ?? 0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.polling = this.poll();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.polling?.catch(() => undefined);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  /** Resolves when every execution started so far has ended (the demo and tests wait on it). */
  async idle(): Promise<void> {
    while ([...this.records.values()].some((r) => r.status === 'RUNNING')) await Promise.all(this.runs.values());
    await this.rack.simulator.settled();
  }

  // ---- event delivery ----

  private async poll(): Promise<void> {
    while (!this.stopped) {
      let messages: Message[];
      try {
        const res = await this.sqs.send(new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }), { abortSignal: this.abort.signal });
        messages = res.Messages ?? [];
      } catch (error) {
        if (this.stopped) return;
        this.log(`bridge: receive failed: ${(error as Error).message}`);
        continue;
      }
      for (const message of messages) {
        try {
          await this.deliver(JSON.parse(message.Body ?? '{}'));
        } catch (error) {
          this.log(`bridge: delivery failed: ${(error as Error).message}`);
        }
        await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  }

  private async deliver(event: Record<string, any>): Promise<void> {
    if (event.source === 'aws.s3') {
      const fixed = this.fixS3Event(event);
      const started = await this.rack.deliverS3Event(fixed);
      this.log(`bridge: s3://${fixed.detail.bucket.name}/${fixed.detail.object.key} → start-deployment: ${started.status}${started.execution ? ` ${started.execution}` : ''}`);
      if (started.execution) this.run(started.execution);
      return;
    }
    if (event['detail-type'] === 'Redeploy Requested') {
      const results = await this.rack.redeploy(event);
      for (const r of results) {
        this.log(`bridge: redeploy of ${r.app} → ${r.status}${r.execution ? ` ${r.execution}` : ''}${r.reason ? `: ${r.reason}` : ''}`);
        if (r.execution) this.run(r.execution);
      }
    }
  }

  /** moto's S3 event: fixed sequencer, `eTag` for `etag`; S3's sequencers grow per key in write order. */
  fixS3Event(event: Record<string, any>): Record<string, any> {
    this.sequence += 1;
    const object = { ...event.detail.object };
    if (object.eTag !== undefined && object.etag === undefined) object.etag = object.eTag;
    delete object.eTag;
    object.sequencer = (0x0077b0000000 + this.sequence).toString(16).toUpperCase().padStart(18, '0');
    const time = typeof event.time === 'number' ? new Date(event.time * 1000).toISOString() : event.time;
    return { ...event, time, detail: { ...event.detail, object, reason: event.detail.reason === 'ObjectCreated' ? 'PutObject' : event.detail.reason } };
  }

  // ---- executions ----

  /** Runs an execution moto recorded, once, and keeps its history. */
  run(name: string): Promise<DeployRun | undefined> {
    const existing = this.runs.get(name);
    if (existing) return existing;
    this.record(name);
    const run = this.rack.runExecution(name).then(
      (result) => {
        this.finish(name, result);
        this.log(`bridge: ${name} ${result.status}${result.error ? ` (${result.error})` : ''}`);
        return result;
      },
      (error: Error) => {
        this.finish(name, { status: 'FAILED', error: error.name, cause: error.message });
        this.log(`bridge: ${name} could not run: ${error.message}`);
        return undefined;
      },
    );
    this.runs.set(name, run);
    return run;
  }

  private record(name: string): ExecutionRecord {
    let record = this.records.get(name);
    if (!record) {
      record = { name, status: 'RUNNING', events: [] };
      this.records.set(name, record);
      this.push(record, 'ExecutionStarted', {});
    }
    return record;
  }

  private push(record: ExecutionRecord, type: string, details: Record<string, unknown>): void {
    const id = record.events.length + 1;
    record.events.push({ id, previousEventId: id - 1, timestamp: seconds(Date.now()), type, ...details });
  }

  private exitCurrent(record: ExecutionRecord): void {
    const current = record.current;
    if (!current) return;
    // a Fail state ends the execution without an exit event, as in Step Functions
    if (current.type !== 'Fail') this.push(record, `${current.type}StateExited`, { stateExitedEventDetails: { name: current.name } });
    record.current = undefined;
  }

  /** LocalRack logs each state entered; the bridge timestamps them into a Step Functions history. */
  private recordStates(): void {
    const entered = this.rack.entered;
    const push = entered.push.bind(entered);
    // LocalRack has no state-entered hook; its log's push is the one place every state passes
    entered.push = (...items: Array<[string, string]>) => {
      for (const [execution, state] of items) {
        const record = this.record(execution);
        this.exitCurrent(record);
        const type = this.stateTypes[state] ?? 'Task';
        record.current = { name: state, type };
        this.push(record, `${type}StateEntered`, { stateEnteredEventDetails: { name: state } });
      }
      return push(...items);
    };
  }

  private finish(name: string, result: Pick<DeployRun, 'status' | 'output' | 'error' | 'cause'>): void {
    const record = this.record(name);
    if (record.status !== 'RUNNING') return;
    this.exitCurrent(record);
    record.status = result.status;
    record.stopDate = seconds(Date.now());
    if (result.status === 'SUCCEEDED') {
      record.output = JSON.stringify(result.output ?? {});
      this.push(record, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: record.output } });
    } else {
      record.error = result.error ?? 'States.Runtime';
      record.cause = result.cause ?? '';
      this.push(record, 'ExecutionFailed', { executionFailedEventDetails: { error: record.error, cause: record.cause } });
    }
  }

  // ---- the HTTP front ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    try {
      if (target.startsWith('AWSStepFunctions.')) return await this.stepFunctions(target.slice('AWSStepFunctions.'.length), req, res);
      if (target === 'AmazonEC2ContainerServiceV20141113.RunTask') return await this.runTask(req, res);
      this.forward(req, res);
    } catch (error) {
      this.log(`bridge: ${target || req.url}: ${(error as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'InternalFailure', message: (error as Error).message }));
    }
  }

  private forward(req: IncomingMessage, res: ServerResponse, body?: Buffer): void {
    const moto = new URL(this.options.motoUrl);
    const upstream = httpRequest({ host: moto.hostname, port: moto.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(error.message));
    });
    if (body) upstream.end(body);
    else req.pipe(upstream);
  }

  /** Calls moto with a JSON body and returns its status and parsed answer. */
  private motoJson(req: IncomingMessage, body: Buffer): Promise<{ status: number; json: any; headers: Record<string, string | string[] | undefined> }> {
    const moto = new URL(this.options.motoUrl);
    return new Promise((resolve, reject) => {
      const upstream = httpRequest(
        { host: moto.hostname, port: moto.port, method: req.method, path: req.url, headers: { ...req.headers, 'content-length': String(body.length) } },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: answer.statusCode ?? 500, json: text ? JSON.parse(text) : {}, headers: answer.headers });
          });
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  private send(res: ServerResponse, status: number, json: unknown, contentType = 'application/x-amz-json-1.0'): void {
    res.writeHead(status, { 'content-type': contentType });
    res.end(JSON.stringify(json));
  }

  /** RunTask goes to moto; each task it placed gets a log line saying no container ran, then stops. */
  private async runTask(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const input = JSON.parse(body.toString('utf8') || '{}');
    const answer = await this.motoJson(req, body);
    if (answer.status === 200) {
      const { ecs, logs } = this.rack.aws;
      for (const task of (answer.json.tasks ?? []) as Array<{ taskArn: string; taskDefinitionArn: string }>) {
        const definition = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn }))).taskDefinition;
        const container = definition?.containerDefinitions?.[0];
        const override = (input.overrides?.containerOverrides ?? []).find((o: { name?: string }) => o.name === container?.name);
        const options = container?.logConfiguration?.options ?? {};
        const group = options['awslogs-group'];
        if (group && container?.name) {
          const stream = `${options['awslogs-stream-prefix'] ?? container.name}/${container.name}/${task.taskArn.split('/').pop()}`;
          const command = (override?.command ?? container.command ?? []).join(' ');
          await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
          await logs.send(
            new PutLogEventsCommand({
              logGroupName: group,
              logStreamName: stream,
              logEvents: [{ timestamp: Date.now(), message: `[rackless local] simulated: moto runs no containers; ${container.image} would run: ${command}` }],
            }),
          );
        }
        await ecs.send(new StopTaskCommand({ cluster: input.cluster, task: task.taskArn, reason: 'Simulated by rackless local: moto runs no containers' }));
        this.log(`bridge: one-off task ${task.taskArn.split('/').pop()} simulated and stopped`);
      }
    }
    return this.send(res, answer.status, answer.json, String(answer.headers['content-type'] ?? 'application/x-amz-json-1.1'));
  }

  private async stepFunctions(operation: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const input = body.length ? JSON.parse(body.toString('utf8')) : {};
    const ownMachine = (arn: string | undefined) => !!arn && arn.startsWith(`${this.rack.env.STATE_MACHINE_ARN!.replace(':stateMachine:', ':execution:')}:`);
    switch (operation) {
      case 'StartExecution': {
        const answer = await this.motoJson(req, body);
        // an execution started from outside (the CLI's `env set`) is run like the ones events start
        if (answer.status === 200 && input.stateMachineArn === this.rack.env.STATE_MACHINE_ARN && input.name) this.run(input.name);
        return this.send(res, answer.status, answer.json);
      }
      case 'DescribeExecution': {
        if (!ownMachine(input.executionArn)) return this.forward(req, res, body);
        const answer = await this.motoJson(req, body);
        if (answer.status !== 200) return this.send(res, answer.status, answer.json);
        const name = String(input.executionArn).split(':').pop()!;
        void this.run(name);
        const record = this.record(name);
        return this.send(res, 200, {
          ...answer.json,
          status: record.status,
          ...(record.stopDate ? { stopDate: record.stopDate } : {}),
          ...(record.output !== undefined ? { output: record.output } : {}),
          ...(record.error !== undefined ? { error: record.error, cause: record.cause } : {}),
        });
      }
      case 'GetExecutionHistory': {
        if (!ownMachine(input.executionArn)) return this.forward(req, res, body);
        const name = String(input.executionArn).split(':').pop()!;
        if (!this.records.has(name)) {
          const check = await this.motoJson(req, body);
          if (check.status !== 200) return this.send(res, check.status, check.json);
          void this.run(name);
        }
        const events = [...this.record(name).events];
        if (input.reverseOrder) events.reverse();
        const start = Number(input.nextToken ?? 0);
        const size = Math.min(Number(input.maxResults) || 100, 1000);
        const page = events.slice(start, start + size);
        return this.send(res, 200, { events: page, ...(start + size < events.length ? { nextToken: String(start + size) } : {}) });
      }
      case 'ListExecutions': {
        const answer = await this.motoJson(req, body);
        if (answer.status !== 200) return this.send(res, answer.status, answer.json);
        const executions = (answer.json.executions ?? []).map((e: Record<string, unknown>) => {
          const record = this.records.get(String(e.name));
          return record ? { ...e, status: record.status, ...(record.stopDate ? { stopDate: record.stopDate } : {}) } : e;
        });
        return this.send(res, 200, { ...answer.json, executions });
      }
      default:
        return this.forward(req, res, body);
    }
  }
}
