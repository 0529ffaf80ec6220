import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRack } from '../../local/rack.js';
import { loadEvent } from '../support/fixtures.js';
import { localRack } from '../support/local-rack.js';
import { TEST_RACK } from '../support/stage.js';

/**
 * Each EventBridge rule of the packaged template, judged by moto's EventBridge (not by a matcher of
 * ours): the events it must deliver and the ones it must not. Events go on the bus with PutEvents;
 * deliveries are taken from the rules' target queues before any function runs.
 */
let rack: LocalRack;
const RULES = ['tarball-uploaded', 'deploy-ended', 'ecs-events', 'redeploy-requested', 'image-pushed', 'instance-terminating', 'queue-sweep'].map((r) => `${TEST_RACK}-${r}`);

beforeAll(async () => {
  rack = await localRack();
  rack.events.paused = true;
});
afterAll(() => {
  rack.events.paused = false;
});

type Event = { source: string; 'detail-type': string; resources?: string[]; detail: any };

/** The rules that deliver the event. */
async function matching(event: Event): Promise<string[]> {
  await rack.sendEvent(event);
  const matched: string[] = [];
  for (const rule of RULES) if ((await rack.events.take(rule)).length) matched.push(rule.replace(`${TEST_RACK}-`, ''));
  return matched;
}

const sample = (name: string, edit: (e: any) => void = () => undefined): Event => {
  const event = loadEvent(name);
  edit(event);
  return event;
};
/** The sample's S3 bucket is a placeholder: the rack's own bucket, by its physical name. */
const inBucket = (e: any, bucket = rack.resources.bucket) => {
  e.detail.bucket.name = bucket;
  e.resources = [`arn:aws:s3:::${bucket}`];
};
const otherCluster = (e: any) => {
  e.resources = e.resources.map((r: string) => r.replace(`/${TEST_RACK}/`, '/another-rack/'));
  if (e.detail.clusterArn) e.detail.clusterArn = e.detail.clusterArn.replace(`cluster/${TEST_RACK}`, 'cluster/another-rack');
};
const statusChange = (status: string, machine = rack.resources.stateMachineArn): Event => ({
  source: 'aws.states',
  'detail-type': 'Step Functions Execution Status Change',
  resources: [`${machine.replace(':stateMachine:', ':execution:')}:shop-1`],
  detail: { executionArn: `${machine.replace(':stateMachine:', ':execution:')}:shop-1`, stateMachineArn: machine, name: 'shop-1', status, input: '{"app":"shop"}' },
});

describe('EventBridge rules of the packaged template, evaluated by moto', () => {
  it('covers every rule the template declares', () => {
    const declared = Object.values(rack.stack.template.Resources)
      .filter((r) => r.Type === 'AWS::Events::Rule')
      .map((r) => r.Properties.Name);
    expect(declared.sort()).toEqual([...RULES].sort());
  });

  it.each([
    ['an upload under apps/ of the rack bucket', () => sample('s3-object-created', (e) => inBucket(e)), ['tarball-uploaded']],
    ['an upload outside apps/', () => sample('s3-object-created-ignored', (e) => inBucket(e)), []],
    ['an upload to another bucket', () => sample('s3-object-created', (e) => inBucket(e, 'someone-elses-bucket')), []],
    [
      'an object deleted from the bucket',
      () =>
        sample('s3-object-created', (e) => {
          e['detail-type'] = 'Object Deleted';
          inBucket(e);
        }),
      [],
    ],
  ])('tarball-uploaded: %s', async (_label, event, rules) => {
    expect(await matching(event())).toEqual(rules);
  });

  it.each([
    ...[
      'ecs-task-running',
      'ecs-task-stopped-exit-1',
      'ecs-task-stopped-oom',
      'ecs-task-stopped-health-check',
      'ecs-task-stopped-cannot-pull',
      'ecs-task-stopped-scale-in',
      'ecs-task-stopped-user',
      'ecs-deployment-in-progress',
      'ecs-deployment-completed',
      'ecs-deployment-failed',
      'ecs-service-action-steady',
      'ecs-service-action-placement-failure',
    ].map((name): [string, () => Event, string[]] => [`${name} of the rack's cluster`, () => sample(name), ['ecs-events']]),
    ['a deployment completed in another cluster', () => sample('ecs-deployment-completed', otherCluster), []],
    ['a task stopped in another cluster', () => sample('ecs-task-stopped-exit-1', otherCluster), []],
    ['a service action in another cluster', () => sample('ecs-service-action-steady', otherCluster), []],
    ['a container instance state change', () => sample('ecs-task-running', (e) => (e['detail-type'] = 'ECS Container Instance State Change')), []],
  ] as Array<[string, () => Event, string[]]>)('ecs-events: %s', async (_label, event, rules) => {
    expect(await matching(event())).toEqual(rules);
  });

  it.each([
    ['a redeploy request', () => sample('rackless-redeploy-requested'), ['redeploy-requested']],
    ['a rebuild request', () => sample('rackless-rebuild-requested'), ['redeploy-requested']],
    ['another rackless detail type', () => sample('rackless-redeploy-requested', (e) => (e['detail-type'] = 'Deploy Requested')), []],
    ['the same detail type from another source', () => sample('rackless-redeploy-requested', (e) => (e.source = 'acme')), []],
  ])('redeploy-requested: %s', async (_label, event, rules) => {
    expect(await matching(event())).toEqual(rules);
  });

  it.each([
    ['a successful push', () => sample('ecr-image-push'), ['image-pushed']],
    ['a failed push', () => sample('ecr-image-push', (e) => (e.detail.result = 'FAILURE')), []],
    ['a delete', () => sample('ecr-image-push', (e) => (e.detail['action-type'] = 'DELETE')), []],
    // only the base-image repositories (BaseImagePrefix): not the rack's own app repositories, which every build pushes to
    ['a push to one of the rack’s app repositories', () => sample('ecr-image-push', (e) => (e.detail['repository-name'] = `${TEST_RACK}/shop`)), []],
    ['a push to a repository outside the prefix', () => sample('ecr-image-push', (e) => (e.detail['repository-name'] = 'team/base/node')), []],
  ])('image-pushed: %s', async (_label, event, rules) => {
    expect(await matching(event())).toEqual(rules);
  });

  it.each([
    ['FAILED', () => statusChange('FAILED'), ['deploy-ended']],
    ['TIMED_OUT', () => statusChange('TIMED_OUT'), ['deploy-ended']],
    ['ABORTED', () => statusChange('ABORTED'), ['deploy-ended']],
    // a deploy whose Hand over failed hands over on this one (idempotent after a Hand over)
    ['SUCCEEDED', () => statusChange('SUCCEEDED'), ['deploy-ended']],
    ['RUNNING', () => statusChange('RUNNING'), []],
    ['FAILED, of the drain machine', () => statusChange('FAILED', rack.resources.drainStateMachineArn), []],
  ])('deploy-ended: a deploy execution %s', async (_label, event, rules) => {
    expect(await matching(event())).toEqual(rules);
  });

  it.each([
    ['the rack group terminating an instance', () => sample('autoscaling-terminate-lifecycle'), ['instance-terminating']],
    ['another group', () => sample('autoscaling-terminate-lifecycle', (e) => (e.detail.AutoScalingGroupName = 'someone-elses-instances')), []],
    ['another hook of the rack group', () => sample('autoscaling-terminate-lifecycle', (e) => (e.detail.LifecycleHookName = 'someone-elses-hook')), []],
    ['a launch lifecycle action', () => sample('autoscaling-terminate-lifecycle', (e) => (e['detail-type'] = 'EC2 Instance-launch Lifecycle Action')), []],
  ])('instance-terminating: %s', async (_label, event, rules) => {
    expect(await matching(event())).toEqual(rules);
  });
});
