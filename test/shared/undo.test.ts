import type { Service } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { rulesToRestore, serviceAction, serviceBefore, serviceDiffers } from '../../shared/deploy/undo.js';

const service = (taskDefinition: string, primary: { id: string; taskDefinition: string }, extra: Partial<Service> = {}): Service => ({
  serviceName: 'r--shop--web',
  taskDefinition,
  desiredCount: 2,
  loadBalancers: [{ targetGroupArn: 'tg/1', containerName: 'web', containerPort: 80 }],
  healthCheckGracePeriodSeconds: 30,
  deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200 },
  deployments: [{ status: 'PRIMARY', ...primary }],
  ...extra,
});

describe('serviceAction: what Promote sends, first time and retried', () => {
  const before = serviceBefore(service('td:1', { id: 'd-1', taskDefinition: 'td:1' }));
  it.each([
    ['no service: create it', undefined, undefined, 'td:2', 'create'],
    ['a new task definition: one update', before, service('td:1', { id: 'd-1', taskDefinition: 'td:1' }), 'td:2', 'update'],
    ['the serving task definition again (a redeploy): one update', before, service('td:1', { id: 'd-1', taskDefinition: 'td:1' }), 'td:1', 'update'],
    ['retried after its update: the new PRIMARY is ours, nothing sent', before, service('td:2', { id: 'd-2', taskDefinition: 'td:2' }), 'td:2', 'applied'],
    ['retried after a forced redeploy: a new PRIMARY on the same revision is ours', before, service('td:1', { id: 'd-2', taskDefinition: 'td:1' }), 'td:1', 'applied'],
    ['retried after it created the service', undefined, service('td:2', { id: 'd-1', taskDefinition: 'td:2' }), 'td:2', 'applied'],
    ['someone else moved it to another revision meanwhile: update', before, service('td:3', { id: 'd-3', taskDefinition: 'td:3' }), 'td:2', 'update'],
  ] as const)('%s', (_, recorded, current, target, action) => {
    expect(serviceAction(recorded, current, target)).toBe(action);
  });
});

describe('serviceDiffers: whether Rollback must update the service', () => {
  const original = service('td:1', { id: 'd-1', taskDefinition: 'td:1' });
  const before = serviceBefore(original);
  it.each([
    ['unchanged (Promote failed before touching it)', original, false],
    ['another task definition', { ...original, taskDefinition: 'td:2' }, true],
    ['another count', { ...original, desiredCount: 5 }, true],
    ['another container port', { ...original, loadBalancers: [{ targetGroupArn: 'tg/1', containerName: 'web', containerPort: 8080 }] }, true],
    ['the mapping removed', { ...original, loadBalancers: [] }, true],
    ['another grace period', { ...original, healthCheckGracePeriodSeconds: 90 }, true],
    ['other deployment percentages', { ...original, deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 } }, true],
  ] as const)('%s', (_, current, differs) => {
    expect(serviceDiffers(before, current as Service)).toBe(differs);
  });
});

describe('rulesToRestore: the host rules Promote added go, the ones it removed come back', () => {
  const L = 'listener/1';
  it.each([
    ['nothing changed', [{ listenerArn: L, host: 'a.example.com', priority: 5 }], [{ listenerArn: L, host: 'a.example.com', ruleArn: 'r1' }], [], []],
    ['a domain added', [], [{ listenerArn: L, host: 'b.example.com', ruleArn: 'r2' }], ['r2'], []],
    ['a domain removed', [{ listenerArn: L, host: 'a.example.com', priority: 5 }], [], [], ['a.example.com']],
    ['a domain replaced', [{ listenerArn: L, host: 'a.example.com', priority: 5 }], [{ listenerArn: L, host: 'b.example.com', ruleArn: 'r2' }], ['r2'], ['a.example.com']],
    [
      'per listener: the HTTPS copy is its own rule',
      [{ listenerArn: 'https', host: 'a.example.com', priority: 5 }],
      [{ listenerArn: L, host: 'a.example.com', ruleArn: 'r1' }],
      ['r1'],
      ['a.example.com'],
    ],
  ] as const)('%s', (_, before, now, removed, recreated) => {
    const change = rulesToRestore([...before], [...now]);
    expect(change.remove.map((r) => r.ruleArn)).toEqual(removed);
    expect(change.recreate.map((r) => r.host)).toEqual(recreated);
  });
});
