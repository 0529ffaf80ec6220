import { describe, expect, it } from 'vitest';
import { drainExecutionName, lifecycleActionOf } from '../../../shared/drain/event.js';
import { isStandaloneTask, stopReason } from '../../../shared/drain/evict.js';
import { isLifecycleActionGone } from '../../../shared/drain/lifecycle.js';
import { KeyRejected } from '../../../shared/errors.js';
import { loadEvent } from '../../support/fixtures.js';

describe('lifecycleActionOf', () => {
  it('reads the lifecycle action from the terminate event', () => {
    expect(lifecycleActionOf(loadEvent('autoscaling-terminate-lifecycle'))).toEqual({
      instanceId: 'i-0abc1234def567890',
      autoScalingGroupName: 'rackless-demo-instances',
      lifecycleHookName: 'rackless-demo-drain',
      lifecycleActionToken: '87654321-4321-4321-4321-210987654321',
    });
  });

  it('ignores a transition other than terminating', () => {
    const event = loadEvent('autoscaling-terminate-lifecycle');
    event.detail.LifecycleTransition = 'autoscaling:EC2_INSTANCE_LAUNCHING';
    expect(lifecycleActionOf(event)).toBeNull();
  });

  it('rejects an event without a token, naming the field', () => {
    const event = loadEvent('autoscaling-terminate-lifecycle');
    delete event.detail.LifecycleActionToken;
    expect(() => lifecycleActionOf(event)).toThrow(KeyRejected);
    expect(() => lifecycleActionOf(event)).toThrow(/detail\.LifecycleActionToken/);
  });

  it('rejects another kind of event', () => {
    expect(() => lifecycleActionOf(loadEvent('s3-object-created'))).toThrow(/detail-type/);
  });
});

describe('drainExecutionName', () => {
  const action = { instanceId: 'i-0abc1234def567890', autoScalingGroupName: 'g', lifecycleHookName: 'h', lifecycleActionToken: '87654321-4321-4321-4321-210987654321' };

  it('names the execution after the instance and the token', () => {
    expect(drainExecutionName(action)).toBe('i-0abc1234def567890-87654321-4321-4321-4321-210987654321');
  });

  it('is the same for the same action and different for another token', () => {
    expect(drainExecutionName({ ...action })).toBe(drainExecutionName(action));
    expect(drainExecutionName({ ...action, lifecycleActionToken: '11111111-4321-4321-4321-210987654321' })).not.toBe(drainExecutionName(action));
  });

  it.each([
    ['characters Step Functions refuses', 'tok/en:with spaces'],
    ['a token too long for 80 characters', 'x'.repeat(200)],
  ])('keeps to 80 chars of 0-9A-Za-z-_ with %s', (_name, lifecycleActionToken) => {
    const name = drainExecutionName({ ...action, lifecycleActionToken });
    expect(name).toMatch(/^[0-9A-Za-z_-]{1,80}$/);
  });

  it('tells apart long tokens that share their first 80 characters', () => {
    const a = drainExecutionName({ ...action, lifecycleActionToken: `${'x'.repeat(100)}a` });
    const b = drainExecutionName({ ...action, lifecycleActionToken: `${'x'.repeat(100)}b` });
    expect(a).not.toBe(b);
  });
});

describe('isStandaloneTask', () => {
  it.each([
    [{ group: 'service:web' }, false],
    [{ group: 'family:migrate' }, true],
    [{ group: 'nightly' }, true],
    [{}, true],
  ])('%o → %s', (task, expected) => {
    expect(isStandaloneTask(task)).toBe(expected);
  });

  it('names the drain, the instance and the group in the stop reason', () => {
    expect(stopReason({ instanceId: 'i-1', autoScalingGroupName: 'rack-asg' })).toBe('Rackless drain: instance i-1 is leaving Auto Scaling group rack-asg');
  });
});

describe('isLifecycleActionGone', () => {
  it.each([
    [Object.assign(new Error('No active Lifecycle Action found with token 8765'), { name: 'ValidationError' }), true],
    [Object.assign(new Error('1 validation error detected'), { name: 'ValidationError' }), false],
    [Object.assign(new Error('No active Lifecycle Action found'), { name: 'Throttling' }), false],
    ['No active Lifecycle Action', false],
  ])('%s → %s', (error, expected) => {
    expect(isLifecycleActionGone(error)).toBe(expected);
  });
});
