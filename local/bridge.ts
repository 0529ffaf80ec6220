import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AutoScalingClient, TerminateInstanceInAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import type { LocalRack } from './rack.js';

/**
 * Makes a LocalRack answer clients in other processes (the CLI) as an installed rack would. A small
 * HTTP front on moto forwards every request unchanged, and:
 *  - after a request that can put an event on EventBridge (an S3 upload, PutEvents, an SNS publish)
 *    delivers what the rack's rules matched — so an upload reaches start-deployment the way it does on AWS;
 *  - answers Step Functions calls through the rack's local Step Functions service (an execution a
 *    client starts runs here; DescribeExecution, GetExecutionHistory and ListExecutions tell its real
 *    status and history);
 *  - hands one-off tasks (RunTask) to the ECS simulator, which logs what would have run and stops them;
 *  - holds a scale-in (TerminateInstanceInAutoScalingGroup) behind the group's lifecycle hook, so the
 *    rack drains the instance before it goes (local/autoscaling.ts).
 * The rack's resources are the outputs of its CloudFormation stack in moto, so `--rack` resolves
 * them the same way as on AWS.
 */
export interface BridgeOptions {
  /** port of the front (default: a free one) */
  port?: number;
  /** one line per thing the bridge did */
  log?: (line: string) => void;
}

const EVENT_SOURCES = /^(PutObject|CompleteMultipartUpload|CopyObject|AWSEvents\.PutEvents|Publish)$/;

export interface BridgedRequest {
  /** the API operation, e.g. DescribeTaskDefinition, PutObject */
  operation: string;
  service: string;
}

/** An error the front answers in place of moto, for a JSON-protocol operation (ECR, Logs, SSM, ECS, …). */
export interface BridgeFault {
  /** the operation, e.g. DeleteRepository */
  operation: string;
  /** the AWS error code (`__type`), e.g. AccessDeniedException */
  type: string;
  message: string;
  /** HTTP status (default 400: not retried by the SDK) */
  status?: number;
}

export class LocalBridge {
  /** every request clients sent through the front, in order */
  readonly requests: BridgedRequest[] = [];
  /** errors answered in place of moto while armed (a CLI command's failure half-way) */
  readonly faults: BridgeFault[] = [];
  private server?: Server;
  private pending = new Set<Promise<unknown>>();
  private timer?: NodeJS.Timeout;
  url = '';

  constructor(
    readonly rack: LocalRack,
    readonly options: BridgeOptions = {},
  ) {}

  private log(line: string): void {
    this.options.log?.(line);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const handled = this.handle(req, res);
      this.pending.add(handled);
      void handled.finally(() => this.pending.delete(handled));
    });
    await new Promise<void>((resolve) => this.server!.listen(this.options.port ?? 0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    // with the real clock, anything that reached moto another way is delivered within a second
    if (this.rack.scheduler.mode === 'real')
      this.timer = setInterval(() => void this.rack.events.pump().catch((e: Error) => this.log(`bridge: delivery failed: ${e.message}`)), 1000);
    return this;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.pending]);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  private motoUrl(): URL {
    return new URL(this.rack.options.endpoint);
  }

  /** The operation a request asks for: the JSON target, or S3's by method and query. */
  private operation(req: IncomingMessage): string {
    const target = String(req.headers['x-amz-target'] ?? '');
    if (target) return target;
    const url = new URL(String(req.url), 'http://local');
    const query = [...url.searchParams.keys()].filter((k) => k !== 'x-id');
    // path-style S3: PUT /bucket/key with no sub-resource is an object write (SDK v3 adds ?x-id=PutObject)
    if (req.method === 'PUT' && query.length === 0 && url.pathname.split('/').filter(Boolean).length >= 2) return req.headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
    if (req.method === 'POST' && url.searchParams.has('uploadId')) return 'CompleteMultipartUpload';
    if (req.method === 'POST' && String(req.url) === '/') return 'Query';
    return '';
  }

  private describe(req: IncomingMessage, operation: string): BridgedRequest {
    const [prefix, name] = operation.includes('.') ? operation.split('.') : ['', operation];
    if (name) return { service: prefix || 'query', operation: name };
    // the rest is S3 (REST): reads are GET and HEAD
    return { service: 's3', operation: req.method === 'GET' ? 'GetObject' : req.method === 'HEAD' ? 'HeadObject' : `S3${req.method}` };
  }

  private async body(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await this.body(req);
      let operation = this.operation(req);
      // query-protocol services (SNS) name the action in the form body
      if (operation === 'Query') operation = new URLSearchParams(body.toString('utf8')).get('Action') ?? '';
      const described = this.describe(req, operation);
      this.requests.push(described);
      const fault = this.faults.find((f) => f.operation === described.operation);
      if (fault) {
        res.writeHead(fault.status ?? 400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: fault.type, message: fault.message }));
        return;
      }
      if (operation.startsWith('AWSStepFunctions.')) return await this.stepFunctions(operation.slice('AWSStepFunctions.'.length), req, body, res);
      // a scale-in holds the instance behind the group's lifecycle hook, as Auto Scaling does
      if (operation === 'TerminateInstanceInAutoScalingGroup') return await this.terminate(new URLSearchParams(body.toString('utf8')), res);
      const answer = await this.moto(req, body);
      if (operation === 'AmazonEC2ContainerServiceV20141113.RunTask' && answer.status === 200) {
        const input = JSON.parse(body.toString('utf8') || '{}');
        await this.rack.simulator.ranTasks(JSON.parse(answer.body.toString('utf8')).tasks ?? [], input);
        this.log('bridge: one-off task simulated and stopped');
      }
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
      if (EVENT_SOURCES.test(operation) && answer.status < 300) await this.rack.events.pump();
    } catch (error) {
      this.log(`bridge: ${req.method} ${req.url}: ${(error as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'InternalFailure', message: (error as Error).message }));
    }
  }

  /** Sends the request on to moto; its status, headers and body. */
  private moto(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const moto = this.motoUrl();
    return new Promise((resolve, reject) => {
      const upstream = httpRequest(
        { host: moto.hostname, port: moto.port, method: req.method, path: req.url, headers: { ...req.headers, 'content-length': String(body.length) } },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }));
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  private async terminate(params: URLSearchParams, res: ServerResponse): Promise<void> {
    const output = await this.rack.functionsAws(AutoScalingClient).send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: params.get('InstanceId') ?? '',
        ShouldDecrementDesiredCapacity: params.get('ShouldDecrementDesiredCapacity') === 'true',
      }),
    );
    const a: { ActivityId?: string; AutoScalingGroupName?: string; Description?: string; StatusCode?: string } = output.Activity ?? {};
    const field = (name: string, value: unknown) => (value === undefined ? '' : `<${name}>${String(value)}</${name}>`);
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<TerminateInstanceInAutoScalingGroupResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><TerminateInstanceInAutoScalingGroupResult><Activity>${field('ActivityId', a.ActivityId)}${field('AutoScalingGroupName', a.AutoScalingGroupName)}${field('Description', a.Description)}${field('Cause', a.Description)}${field('StartTime', new Date(this.rack.scheduler.now()).toISOString())}${field('StatusCode', a.StatusCode)}<Progress>0</Progress></Activity></TerminateInstanceInAutoScalingGroupResult><ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></TerminateInstanceInAutoScalingGroupResponse>`,
    );
  }

  private async stepFunctions(operation: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const input = body.length ? JSON.parse(body.toString('utf8')) : {};
    let failure: { status: number; body: Buffer; headers: Record<string, string | string[] | undefined> } | undefined;
    const output = await this.rack.stepFunctions
      .handle(operation, input, async () => {
        const answer = await this.moto(req, body);
        if (answer.status !== 200) {
          failure = answer;
          throw new Error(`moto answered ${answer.status}`);
        }
        return JSON.parse(answer.body.toString('utf8') || '{}');
      })
      .catch((error: Error) => {
        if (failure) return undefined;
        throw error;
      });
    if (failure) {
      res.writeHead(failure.status, failure.headers);
      res.end(failure.body);
      return;
    }
    const json = JSON.stringify(epochSeconds(output));
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(json);
  }
}

/** The JSON protocol carries timestamps as epoch seconds. */
function epochSeconds(node: unknown): unknown {
  if (node instanceof Date) return node.getTime() / 1000;
  if (Array.isArray(node)) return node.map(epochSeconds);
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, epochSeconds(v)]));
  return node;
}
