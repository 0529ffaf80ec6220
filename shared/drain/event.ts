import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { KeyRejected } from '../errors.js';
import type { LifecycleAction } from './types.js';

export const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';

const nonEmpty = v.pipe(v.string(), v.minLength(1));

const lifecycleEvent = v.object({
  'detail-type': v.literal('EC2 Instance-terminate Lifecycle Action'),
  detail: v.object({
    LifecycleActionToken: nonEmpty,
    LifecycleHookName: nonEmpty,
    AutoScalingGroupName: nonEmpty,
    EC2InstanceId: v.pipe(v.string(), v.regex(/^i-[0-9a-f]+$/)),
    LifecycleTransition: v.string(),
  }),
});

/**
 * Reads the Auto Scaling terminate lifecycle event. Returns null for another transition (nothing to
 * drain); throws KeyRejected, naming the field, for an event that is not one at all.
 */
export function lifecycleActionOf(event: unknown): LifecycleAction | null {
  const parsed = v.safeParse(lifecycleEvent, event);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = v.getDotPath(issue) || 'event';
    throw new KeyRejected('DRAIN_EVENT_INVALID', `not an EC2 Instance-terminate Lifecycle Action event: ${where}: ${issue.message}`, { path: where });
  }
  const { detail } = parsed.output;
  if (detail.LifecycleTransition !== TERMINATING) return null;
  return {
    instanceId: detail.EC2InstanceId,
    autoScalingGroupName: detail.AutoScalingGroupName,
    lifecycleHookName: detail.LifecycleHookName,
    lifecycleActionToken: detail.LifecycleActionToken,
  };
}

const NAME_MAX = 80;

/**
 * Execution name for one lifecycle action: the same action always gets the same name, so a
 * duplicate event cannot start a second drain. ≤ 80 chars of 0-9A-Za-z-_ (Step Functions' rule).
 */
export function drainExecutionName(action: LifecycleAction): string {
  const name = `${action.instanceId}-${action.lifecycleActionToken}`.replace(/[^0-9A-Za-z_-]/g, '-');
  if (name.length <= NAME_MAX) return name;
  // an unexpectedly long token keeps its identity in a hash rather than being cut to a prefix
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `${name.slice(0, NAME_MAX - hash.length - 1)}-${hash}`;
}
