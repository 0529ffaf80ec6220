import { randomUUID } from 'node:crypto';
import {
  DescribeRuleCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
  PutTargetsCommand,
  RemoveTargetsCommand,
  type Target,
} from '@aws-sdk/client-eventbridge';
import { SubscribeCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ClientFactory } from '../shared/aws/clients.js';
import type { Scheduler } from './clock.js';
import type { LocalFunctions } from './lambda.js';
import type { ProvisionedStack } from './provision.js';

/**
 * Events travel in a local rack as on AWS: an event is put on moto's EventBridge (by S3's own
 * notifications, by the local ECS, Auto Scaling and Step Functions, or by a client's PutEvents),
 * moto matches it against the rules the template created, with their own patterns, and delivers it
 * to the rule's target. moto cannot invoke a Lambda target (it needs Docker), so each rule's Lambda
 * target is replaced by a queue of the same target id, and this module hands each message to the
 * function as an asynchronous invocation — with the target's Input, as EventBridge would.
 *
 * Where moto's event differs from AWS's documented shape it is mended here, and only here:
 *  - every event: `time` is epoch seconds (AWS: ISO 8601), and moto adds `ingestion-time`;
 *  - S3 Object Created: `eTag` for `etag`, one fixed `sequencer` for every write (S3's grows with
 *    each write of a key; assigned here in arrival order), `reason` "ObjectCreated" (AWS: PutObject,
 *    CopyObject, CompleteMultipartUpload…; moto does not say which: PutObject). The key arrives
 *    unencoded; start-deployment accepts it encoded and unencoded (shared/keys.ts).
 * SNS topics subscribed by a Lambda function get a queue in the function's place too; its messages
 * reach the function in Lambda's SNS event shape (Records[].Sns).
 *
 * Schedule rules (ScheduleExpression, no pattern): moto runs no schedule, and its EventBridge
 * (5.2.1) delivers every event put on the bus to a rule without a pattern. So their targets are
 * taken off in moto, and `fire(rule)` sends the function what EventBridge would on each tick.
 */
type Json = any;

interface Delivery {
  kind: 'rule' | 'sns';
  name: string;
  queueUrl: string;
  functionArn: string;
  target?: Target;
  subscriptionArn?: string;
}

export class LocalEvents {
  private readonly deliveries: Delivery[] = [];
  private sequence = 0;
  private pumping?: Promise<void>;
  /** while paused, events wait in their rules' queues (a test reorders or drops them) */
  paused = false;
  private again = false;
  /** every event delivered, in order: [rule or topic, event] */
  readonly delivered: Array<[string, Json]> = [];
  /** the schedule rules, fired only by `fire` */
  readonly schedules: Array<{ rule: string; ruleArn: string; expression: string; functionArn: string; target: Target }> = [];

  constructor(
    private readonly aws: ClientFactory,
    private readonly scheduler: Scheduler,
    private readonly functions: LocalFunctions,
  ) {}

  private async queue(name: string): Promise<{ url: string; arn: string }> {
    const sqs = this.aws(SQSClient);
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: name.slice(0, 80) }))).QueueUrl!;
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    return { url, arn };
  }

  /** Puts a queue in place of every Lambda target and Lambda subscription of the stack. */
  async wire(stack: ProvisionedStack): Promise<void> {
    const events = this.aws(EventBridgeClient);
    for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
      if (resource.Type !== 'AWS::Events::Rule' || !(logicalId in stack.physical)) continue;
      const rule = resource.Properties.Name as string;
      const { Targets = [] } = await events.send(new ListTargetsByRuleCommand({ Rule: rule }));
      const expression = resource.Properties.ScheduleExpression as string | undefined;
      for (const target of Targets) {
        if (!target.Arn?.startsWith('arn:aws:lambda:')) continue;
        if (expression && !resource.Properties.EventPattern) {
          await events.send(new RemoveTargetsCommand({ Rule: rule, Ids: [target.Id!] }));
          const { Arn } = await events.send(new DescribeRuleCommand({ Name: rule }));
          this.schedules.push({ rule, ruleArn: Arn!, expression, functionArn: target.Arn, target });
          continue;
        }
        const queue = await this.queue(`${stack.stackName}-local-${target.Id}`);
        // moto evaluates the eight JSONPaths of its default input template for every event, each
        // with a freshly built parser (~40 ms); a template that is the whole event — EventBridge's
        // predefined <aws.events.event.json> — delivers the same event for one path
        const whole = { InputPathsMap: { source: '$.source' }, InputTemplate: '<aws.events.event.json>' };
        await events.send(new PutTargetsCommand({ Rule: rule, Targets: [{ Id: target.Id!, Arn: queue.arn, InputTransformer: whole }] }));
        this.deliveries.push({ kind: 'rule', name: rule, queueUrl: queue.url, functionArn: target.Arn, target });
      }
    }
    for (const part of stack.local) {
      if (part.kind !== 'lambda-subscription') continue;
      const queue = await this.queue(`${stack.stackName}-local-${part.logicalId}`);
      const subscribed = await this.aws(SNSClient).send(new SubscribeCommand({ TopicArn: part.topicArn, Protocol: 'sqs', Endpoint: queue.arn }));
      this.deliveries.push({ kind: 'sns', name: part.topicArn, queueUrl: queue.url, functionArn: part.functionArn, subscriptionArn: subscribed.SubscriptionArn ?? '' });
    }
  }

  /** PutEvents on moto's EventBridge, then delivers what the rules matched. */
  put(entries: PutEventsRequestEntry[]): Promise<void> {
    return this.scheduler.track(
      (async () => {
        for (let i = 0; i < entries.length; i += 10) {
          const res = await this.aws(EventBridgeClient).send(new PutEventsCommand({ Entries: entries.slice(i, i + 10) }));
          if (res.FailedEntryCount) throw new Error(`PutEvents refused ${res.FailedEntryCount} entries: ${JSON.stringify(res.Entries?.filter((e) => e.ErrorCode))}`);
        }
        await this.pump();
      })(),
    );
  }

  /**
   * Delivers every message the rules' and subscriptions' queues hold, one at a time in queue order
   * (races between deliveries are tested with the in-memory store, not by chance here).
   */
  pump(): Promise<void> {
    if (this.paused) return Promise.resolve();
    if (this.pumping) {
      this.again = true;
      return this.pumping;
    }
    this.pumping = this.scheduler
      .track(
        (async () => {
          do {
            this.again = false;
            for (const delivery of this.deliveries) await this.drain(delivery);
          } while (this.again);
        })(),
      )
      .finally(() => (this.pumping = undefined));
    return this.pumping;
  }

  private async drain(delivery: Delivery): Promise<void> {
    const sqs = this.aws(SQSClient);
    for (;;) {
      const res = await sqs.send(new ReceiveMessageCommand({ QueueUrl: delivery.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!res.Messages?.length) return;
      for (const message of res.Messages) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: delivery.queueUrl, ReceiptHandle: message.ReceiptHandle }));
        const body = JSON.parse(message.Body ?? '{}');
        const event = delivery.kind === 'rule' ? this.targetInput(delivery.target!, this.mend(body)) : this.snsEvent(delivery, body);
        this.delivered.push([delivery.name, event]);
        await this.functions.invokeAsync(delivery.functionArn, event);
      }
    }
  }

  /**
   * One tick of a schedule rule: its function gets the Scheduled Event EventBridge sends (detail {},
   * the rule's ARN in resources; https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-events.html),
   * or the target's Input, as an asynchronous invocation.
   */
  fire(rule: string): Promise<{ result?: unknown; failed?: unknown }> {
    const schedule = this.schedules.find((s) => s.rule === rule || s.rule.endsWith(`-${rule}`));
    if (!schedule) throw new Error(`no schedule rule ${rule} in the local rack (it has ${this.schedules.map((s) => s.rule).join(', ') || 'none'})`);
    const [, , , region, account] = schedule.ruleArn.split(':');
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account,
      time: new Date(this.scheduler.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: [schedule.ruleArn],
      detail: {},
    };
    this.delivered.push([schedule.rule, event]);
    return this.functions.invokeAsync(schedule.functionArn, this.targetInput(schedule.target, event));
  }

  /** Takes the events waiting in a rule's queue (mended, as its target would get them), without delivering them. */
  async take(rule: string): Promise<Json[]> {
    const sqs = this.aws(SQSClient);
    const taken: Json[] = [];
    for (const delivery of this.deliveries.filter((d) => d.name === rule)) {
      for (;;) {
        const res = await sqs.send(new ReceiveMessageCommand({ QueueUrl: delivery.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        if (!res.Messages?.length) break;
        for (const message of res.Messages) {
          await sqs.send(new DeleteMessageCommand({ QueueUrl: delivery.queueUrl, ReceiptHandle: message.ReceiptHandle }));
          taken.push(this.mend(JSON.parse(message.Body ?? '{}')));
        }
      }
    }
    return taken;
  }

  /** What the target receives: the event, or the target's constant Input / InputPath. */
  private targetInput(target: Target, event: Json): Json {
    if (target.Input !== undefined) return JSON.parse(target.Input);
    if (target.InputPath) {
      if (!/^\$(\.[A-Za-z0-9_-]+)*$/.test(target.InputPath)) throw new Error(`InputPath ${target.InputPath}: only $.a.b paths are delivered locally`);
      return target.InputPath.split('.')
        .slice(1)
        .reduce((node, key) => node?.[key], event);
    }
    if (target.InputTransformer) throw new Error(`rule target ${target.Id}: InputTransformer is not delivered locally`);
    return event;
  }

  /** moto's envelope → AWS's documented one (see the header). */
  mend(event: Json): Json {
    const mended = { ...event };
    if (typeof mended.time === 'number') mended.time = new Date(mended.time * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    delete mended['ingestion-time'];
    if (mended.source === 'aws.s3' && mended.detail?.object) {
      const object = { ...mended.detail.object };
      if (object.eTag !== undefined && object.etag === undefined) object.etag = object.eTag;
      delete object.eTag;
      if (object.sequencer === '617f08299329d189') {
        this.sequence += 1;
        object.sequencer = (0x0066a0000000 + this.sequence).toString(16).toUpperCase().padStart(18, '0');
      }
      if (object['version-id'] === null) delete object['version-id'];
      mended.detail = { ...mended.detail, object, reason: mended.detail.reason === 'ObjectCreated' ? 'PutObject' : mended.detail.reason };
    }
    return mended;
  }

  /** An SQS-delivered SNS envelope as Lambda's SNS event (Records[].Sns). */
  private snsEvent(delivery: Delivery, envelope: Json): Json {
    return {
      Records: [
        {
          EventSource: 'aws:sns',
          EventVersion: '1.0',
          EventSubscriptionArn: delivery.subscriptionArn,
          Sns: {
            Type: envelope.Type ?? 'Notification',
            MessageId: envelope.MessageId,
            TopicArn: envelope.TopicArn,
            Subject: envelope.Subject ?? null,
            Message: envelope.Message,
            Timestamp: envelope.Timestamp,
            SignatureVersion: envelope.SignatureVersion ?? '1',
            Signature: envelope.Signature ?? '',
            SigningCertUrl: envelope.SigningCertURL ?? '',
            UnsubscribeUrl: envelope.UnsubscribeURL ?? '',
            MessageAttributes: envelope.MessageAttributes ?? {},
          },
        },
      ],
    };
  }
}
