import { describe, expect, it } from 'vitest';
import { classifyDeployment, classifyServiceAction, classifyTaskStop, parseEcsEvent, parseServiceArn, type StopCause } from '../../../shared/events/classify.js';
import type { EcsDeploymentStateChangeEvent, EcsServiceActionEvent, EcsTaskStateChangeDetail, EcsTaskStateChangeEvent } from '../../../shared/events/types.js';
import { loadEvent } from '../../support/fixtures.js';

const CLUSTER = 'arn:aws:ecs:us-east-1:123456789012:cluster/rackless-demo';
const TARGET_GROUP = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-web-fl46l67rt4od/6d0ecf831eec9f09';
const NEW_DEPLOYMENT = 'ecs-svc/4921374503561749016';

function taskDetail(name: string): EcsTaskStateChangeDetail {
  return loadEvent<EcsTaskStateChangeEvent>(name).detail;
}

/** A stopped task from the exit-1 fixture with the stop fields replaced. */
function stoppedWith(change: Partial<EcsTaskStateChangeDetail>, container: Record<string, unknown> = {}): EcsTaskStateChangeDetail {
  const detail = taskDetail('ecs-task-stopped-exit-1');
  const web = { ...detail.containers[0]!, ...container };
  for (const key of Object.keys(container)) if (container[key] === undefined) delete (web as Record<string, unknown>)[key];
  return { ...detail, ...change, containers: [web] };
}

describe('classifyTaskStop', () => {
  describe('on the sample events', () => {
    it.each<[string, StopCause, boolean, string]>([
      ['ecs-task-stopped-oom', 'oom', false, 'container web ran out of memory (exit 137)'],
      ['ecs-task-stopped-health-check', 'health-check', false, 'task failed the ELB health check of target group shop-web-fl46l67rt4od'],
      ['ecs-task-stopped-exit-1', 'exit', false, 'container web exited with code 1'],
      ['ecs-task-stopped-scale-in', 'scale-in', true, `task stopped by scale-in (deployment ${NEW_DEPLOYMENT})`],
      ['ecs-task-stopped-user', 'user', true, 'task stopped by a user'],
    ])('%s → %s', (fixture, cause, expected, summary) => {
      const stop = classifyTaskStop(taskDetail(fixture));
      expect(stop).toMatchObject({ cause, expected, summary, service: 'rackless-demo--shop--web', clusterArn: CLUSTER, lastStatus: 'STOPPED' });
    });

    it('keeps the OOM evidence a notification needs', () => {
      const stop = classifyTaskStop(taskDetail('ecs-task-stopped-oom'))!;
      expect(stop.evidence).toEqual({
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        container: 'web',
        exitCode: 137,
        containerReason: 'OutOfMemoryError: Container killed due to memory usage',
        oom: true,
      });
      expect(stop.version).toBe(5);
      expect(stop.taskDefinitionArn).toBe('arn:aws:ecs:us-east-1:123456789012:task-definition/rackless-demo--shop--web:4');
      expect(stop.startedBy).toBe(NEW_DEPLOYMENT);
    });

    it('extracts the target group of a failed ELB health check', () => {
      const stop = classifyTaskStop(taskDetail('ecs-task-stopped-health-check'))!;
      expect(stop.evidence.targetGroup).toBe(TARGET_GROUP);
      expect(stop.evidence.healthCheck).toBe('ELB health check of target group shop-web-fl46l67rt4od');
    });

    it('names a pull failure and the image error', () => {
      const stop = classifyTaskStop(taskDetail('ecs-task-stopped-cannot-pull'))!;
      expect(stop.cause).toBe('pull');
      expect(stop.expected).toBe(false);
      expect(stop.summary).toMatch(/^could not pull the image for container web: CannotPullContainerError: .*manifest unknown/);
      expect(stop.evidence.exitCode).toBeUndefined();
    });

    it('returns nothing for a running task', () => {
      expect(classifyTaskStop(taskDetail('ecs-task-running'))).toBeUndefined();
    });
  });

  describe('on variants', () => {
    const oomWords = { exitCode: 137, reason: 'Container killed: out of memory' };
    it.each<[string, Partial<EcsTaskStateChangeDetail>, Record<string, unknown>, StopCause, boolean]>([
      ['exit 137 with OOM wording', {}, oomWords, 'oom', false],
      ['exit 137 without a reason (SIGKILL, not OOM)', {}, { exitCode: 137 }, 'exit', false],
      ['exit 0 of an essential container', {}, { exitCode: 0 }, 'exit', false],
      ['non-zero exit without a stop code', { stopCode: undefined, stoppedReason: undefined }, { exitCode: 2 }, 'exit', false],
      [
        'container health check',
        { stopCode: 'ServiceSchedulerInitiated', stoppedReason: 'Task failed container health checks' },
        { exitCode: 143, healthStatus: 'UNHEALTHY' },
        'container-health-check',
        false,
      ],
      [
        'classic ELB health check',
        { stopCode: 'ServiceSchedulerInitiated', stoppedReason: 'Task failed ELB health checks in (elb shop-elb)' },
        { exitCode: 143 },
        'health-check',
        false,
      ],
      [
        'image manifest error in the container reason',
        { stopCode: 'TaskFailedToStart', stoppedReason: 'Task failed to start' },
        { exitCode: undefined, reason: 'CannotPullImageManifestError: failed to resolve ref' },
        'pull',
        false,
      ],
      ['PullImage error', { stopCode: 'TaskFailedToStart', stoppedReason: 'PullImageError: access denied' }, { exitCode: undefined }, 'pull', false],
      [
        'missing secret',
        {
          stopCode: 'TaskFailedToStart',
          stoppedReason: 'ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secrets from ssm: ParameterNotFound',
        },
        { exitCode: undefined },
        'start-failure',
        false,
      ],
      [
        'container cannot start',
        { stopCode: 'TaskFailedToStart', stoppedReason: 'CannotStartContainerError: Error response from daemon: OCI runtime create failed' },
        { exitCode: undefined },
        'start-failure',
        false,
      ],
      ['no room on any instance', { stopCode: 'TaskFailedToStart', stoppedReason: 'RESOURCE:MEMORY' }, { exitCode: undefined }, 'placement', false],
      ['Spot interruption', { stopCode: 'SpotInterruption', stoppedReason: 'Your Spot Task was interrupted.' }, { exitCode: 143 }, 'spot', true],
      ['termination notice', { stopCode: 'TerminationNotice', stoppedReason: 'Task stopped due to termination notice' }, { exitCode: 143 }, 'termination', true],
      [
        'infrastructure health',
        { stopCode: 'InfrastructureHealth', stoppedReason: 'Task stopped due to an infrastructure health issue' },
        { exitCode: 143 },
        'infrastructure',
        true,
      ],
      [
        'container instance DRAINING',
        { stopCode: 'ServiceSchedulerInitiated', stoppedReason: 'Stopped due to container instance DRAINING' },
        { exitCode: 143 },
        'termination',
        true,
      ],
      ['managed instance draining', { stopCode: 'ServiceSchedulerInitiated', stoppedReason: 'Task stopped during instance draining' }, { exitCode: 143 }, 'termination', true],
      ['host terminated', { stopCode: undefined, stoppedReason: 'Host EC2 (instance i-0abc1234def567890) stopped/terminated' }, { exitCode: undefined }, 'termination', true],
      ['forced deregistration', { stopCode: undefined, stoppedReason: 'Container instance deregistration forced by user' }, { exitCode: undefined }, 'user', true],
      [
        'old tasks scaled in by a new deployment',
        { stopCode: 'ServiceSchedulerInitiated', stoppedReason: `Scaling activity initiated by (deployment ${NEW_DEPLOYMENT})`, startedBy: 'ecs-svc/1187462538491620473' },
        { exitCode: 143 },
        'deployment',
        true,
      ],
      [
        'scaling text without parentheses',
        { stopCode: 'ServiceSchedulerInitiated', stoppedReason: 'Scaling activity initiated by deployment ecs-svc/42', startedBy: 'ecs-svc/42' },
        { exitCode: 143 },
        'scale-in',
        true,
      ],
      [
        'other scheduler stop naming a deployment',
        { stopCode: 'ServiceSchedulerInitiated', stoppedReason: 'Task replaced during deployment ecs-svc/42' },
        { exitCode: 143 },
        'deployment',
        true,
      ],
      ['other scheduler stop', { stopCode: 'ServiceSchedulerInitiated', stoppedReason: 'Task stopped for Availability Zone rebalancing' }, { exitCode: 143 }, 'unknown', true],
      ['user stop with a reason', { stopCode: 'UserInitiated', stoppedReason: 'rackless rollback' }, { exitCode: 143 }, 'user', true],
      ['nothing to go on', { stopCode: undefined, stoppedReason: 'Something new' }, { exitCode: undefined }, 'unknown', false],
    ])('%s', (_label, change, container, cause, expected) => {
      const stop = classifyTaskStop(stoppedWith(change, container))!;
      expect({ cause: stop.cause, expected: stop.expected }).toEqual({ cause, expected });
    });

    it('says which container exited with code 0 and why that matters', () => {
      expect(classifyTaskStop(stoppedWith({}, { exitCode: 0 }))!.summary).toBe("container web exited with code 0 (a service's essential container must keep running)");
    });

    it('names the signal of a killed container', () => {
      expect(classifyTaskStop(stoppedWith({}, { exitCode: 137 }))!.summary).toBe('container web was killed (exit 137, SIGKILL)');
    });

    it('names the unhealthy container of a container health check failure', () => {
      const stop = classifyTaskStop(
        stoppedWith({ stopCode: 'ServiceSchedulerInitiated', stoppedReason: 'Task failed container health checks' }, { exitCode: 143, healthStatus: 'UNHEALTHY' }),
      )!;
      expect(stop.evidence.healthCheck).toBe('container health check of web');
      expect(stop.evidence.container).toBe('web');
    });

    it('blames the failing container, not the sidecar ECS stopped after it', () => {
      const detail = taskDetail('ecs-task-stopped-exit-1');
      const web = detail.containers[0]!;
      detail.containers = [
        { ...web, name: 'log-router', exitCode: 143 },
        { ...web, exitCode: 3 },
      ];
      const stop = classifyTaskStop(detail)!;
      expect(stop.evidence).toMatchObject({ container: 'web', exitCode: 3 });
      expect(stop.summary).toBe('container web exited with code 3');
    });

    it('classifies a stop ECS announces through desiredStatus before the task is down', () => {
      const detail = stoppedWith(
        { lastStatus: 'RUNNING', desiredStatus: 'STOPPED', stoppedReason: `Task failed ELB health checks in (target-group ${TARGET_GROUP})` },
        { exitCode: undefined },
      );
      const stop = classifyTaskStop(detail)!;
      expect(stop).toMatchObject({ cause: 'health-check', lastStatus: 'RUNNING' });
    });

    it('waits while a task is only being told to stop, without a reason', () => {
      expect(classifyTaskStop(stoppedWith({ lastStatus: 'RUNNING', desiredStatus: 'STOPPED', stoppedReason: undefined }))).toBeUndefined();
    });

    it('leaves service out for standalone tasks', () => {
      expect(classifyTaskStop(stoppedWith({ group: 'family:rackless-demo--shop--web' }))!.service).toBeUndefined();
    });
  });
});

describe('classifyDeployment', () => {
  it.each([
    ['ecs-deployment-in-progress', 'in-progress'],
    ['ecs-deployment-completed', 'completed'],
    ['ecs-deployment-failed', 'failed'],
  ])('%s → %s', (fixture, outcome) => {
    const deployment = classifyDeployment(loadEvent<EcsDeploymentStateChangeEvent>(fixture));
    expect(deployment).toMatchObject({ outcome, deploymentId: NEW_DEPLOYMENT, service: 'rackless-demo--shop--web', clusterArn: CLUSTER });
    expect(deployment.rollbackTo).toBeUndefined();
  });

  it('keeps the circuit breaker reason of a failed deployment', () => {
    const deployment = classifyDeployment(loadEvent<EcsDeploymentStateChangeEvent>('ecs-deployment-failed'));
    expect(deployment.reason).toBe('ECS deployment circuit breaker: task failed to start.');
    expect(deployment.updatedAt).toBe('2026-03-02T14:41:16.902Z');
  });

  it('reads the target of a circuit breaker rollback', () => {
    const event = loadEvent<EcsDeploymentStateChangeEvent>('ecs-deployment-in-progress');
    event.detail.reason = 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1187462538491620473.';
    expect(classifyDeployment(event).rollbackTo).toBe('ecs-svc/1187462538491620473');
  });

  it('rejects an eventName that is not a deployment state', () => {
    const event = loadEvent<EcsDeploymentStateChangeEvent>('ecs-deployment-completed');
    event.detail.eventName = 'SERVICE_DEPLOYMENT_PAUSED';
    expect(() => classifyDeployment(event)).toThrow(/SERVICE_DEPLOYMENT_PAUSED/);
  });
});

describe('classifyServiceAction', () => {
  it('marks steady state as info', () => {
    const action = classifyServiceAction(loadEvent<EcsServiceActionEvent>('ecs-service-action-steady'));
    expect(action).toEqual({
      eventName: 'SERVICE_STEADY_STATE',
      service: 'rackless-demo--shop--web',
      clusterArn: CLUSTER,
      severity: 'info',
      summary: 'service rackless-demo--shop--web reached a steady state',
      steady: true,
    });
  });

  it('explains a placement failure and marks it critical', () => {
    const action = classifyServiceAction(loadEvent<EcsServiceActionEvent>('ecs-service-action-placement-failure'));
    expect(action.severity).toBe('critical');
    expect(action.steady).toBe(false);
    expect(action.reason).toBe('RESOURCE:MEMORY');
    expect(action.summary).toBe('service rackless-demo--shop--web cannot place a task: no container instance has enough free memory (RESOURCE:MEMORY)');
  });

  it.each([
    ['WARN', 'SERVICE_TASK_START_IMPAIRED', 'warning', 'service rackless-demo--shop--web is unable to consistently start tasks'],
    ['ERROR', 'SERVICE_TASK_CONFIGURATION_FAILURE', 'critical', 'service rackless-demo--shop--web cannot start a task because of its configuration: RESOURCE:MEMORY'],
    ['INFO', 'SERVICE_DESIRED_COUNT_UPDATED', 'info', 'service rackless-demo--shop--web: SERVICE_DESIRED_COUNT_UPDATED (RESOURCE:MEMORY)'],
  ])('maps %s %s to %s', (eventType, eventName, severity, summary) => {
    const event = loadEvent<EcsServiceActionEvent>('ecs-service-action-placement-failure');
    Object.assign(event.detail, { eventType, eventName });
    expect(classifyServiceAction(event)).toMatchObject({ severity, summary });
  });
});

describe('parseServiceArn', () => {
  it('reads the long format', () => {
    expect(parseServiceArn('arn:aws:ecs:us-east-1:123456789012:service/rackless-demo/rackless-demo--shop--web')).toEqual({
      service: 'rackless-demo--shop--web',
      clusterArn: CLUSTER,
    });
  });

  it('reads the old short format, which names no cluster', () => {
    expect(parseServiceArn('arn:aws:ecs:us-east-1:123456789012:service/rackless-demo--shop--web')).toEqual({ service: 'rackless-demo--shop--web' });
  });

  it('rejects other ARNs', () => {
    expect(() => parseServiceArn('arn:aws:ecs:us-east-1:123456789012:task/rackless-demo/abc')).toThrow(/not an ECS service ARN/);
  });
});

describe('parseEcsEvent', () => {
  it('routes a stopped task to its stop', () => {
    const parsed = parseEcsEvent(loadEvent('ecs-task-stopped-oom'));
    expect(parsed.type).toBe('task');
    if (parsed.type !== 'task') return;
    expect(parsed.stop?.cause).toBe('oom');
    expect(parsed.running).toBeUndefined();
  });

  it('routes a running task to running', () => {
    const parsed = parseEcsEvent(loadEvent('ecs-task-running'));
    expect(parsed).toEqual({
      type: 'task',
      taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/rackless-demo/0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5',
      service: 'rackless-demo--shop--web',
      lastStatus: 'RUNNING',
      running: {
        taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/rackless-demo/0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5',
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/rackless-demo--shop--web:4',
        clusterArn: CLUSTER,
        service: 'rackless-demo--shop--web',
        startedBy: NEW_DEPLOYMENT,
        startedAt: '2026-03-02T14:08:36.266Z',
        version: 3,
      },
    });
  });

  it('reports a pending task with neither stop nor running', () => {
    const event = loadEvent<EcsTaskStateChangeEvent>('ecs-task-running');
    event.detail.lastStatus = 'PENDING';
    const parsed = parseEcsEvent(event);
    expect(parsed).toMatchObject({ type: 'task', lastStatus: 'PENDING' });
    expect(parsed).not.toHaveProperty('stop');
    expect(parsed).not.toHaveProperty('running');
  });

  it('routes deployment and service action events', () => {
    expect(parseEcsEvent(loadEvent('ecs-deployment-failed'))).toMatchObject({ type: 'deployment', deployment: { outcome: 'failed' } });
    expect(parseEcsEvent(loadEvent('ecs-service-action-steady'))).toMatchObject({ type: 'service-action', action: { steady: true } });
  });

  it.each([
    ['another source', 's3-object-created', /source aws.s3/],
    ['a container instance event', 'ecs-task-running', /ECS Container Instance State Change is not classified/],
    ['an untracked deployment event', 'ecs-deployment-completed', /SERVICE_DEPLOYMENT_PAUSED is not tracked/],
    ['a task event without a task', 'ecs-task-running', /lacks taskArn/],
  ])('ignores %s, saying why', (label, fixture, reason) => {
    const event = loadEvent(fixture);
    if (label === 'a container instance event') event['detail-type'] = 'ECS Container Instance State Change';
    if (label === 'an untracked deployment event') event.detail.eventName = 'SERVICE_DEPLOYMENT_PAUSED';
    if (label === 'a task event without a task') delete event.detail.taskArn;
    const parsed = parseEcsEvent(event);
    expect(parsed.type).toBe('ignored');
    expect(parsed.type === 'ignored' && parsed.reason).toMatch(reason);
  });
});
