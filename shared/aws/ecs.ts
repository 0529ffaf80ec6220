import { createHash } from 'node:crypto';
import { CreateServiceCommand, DescribeServicesCommand, UpdateServiceCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import type { ServiceAction } from '../deploy/undo.js';
import type { ServiceSpec } from '../manifest/types.js';
import { serviceNames } from '../names.js';
import { assertOwned, tagMap } from './owner.js';

/** The ECS service of an app's service (shared/names.ts makes every name). */
export function serviceName(rack: string, app: string, service: string): string {
  return serviceNames({ name: rack }, app, service).service;
}

/** The live (not INACTIVE) services of these names, with their tags (`include: TAGS`). */
export async function describeServices(ecs: ECSClient, cluster: string, names: string[]): Promise<Record<string, Service | undefined>> {
  const found: Record<string, Service | undefined> = {};
  // DescribeServices takes at most 10 names per call
  for (let i = 0; i < names.length; i += 10) {
    const res = await ecs.send(new DescribeServicesCommand({ cluster, services: names.slice(i, i + 10), include: ['TAGS'] }));
    for (const service of res.services ?? []) {
      if (service.serviceName && service.status !== 'INACTIVE') found[service.serviceName] = service;
    }
  }
  return found;
}

export interface ServiceChange {
  cluster: string;
  name: string;
  spec: ServiceSpec;
  taskDefinitionArn: string;
  targetGroupArn?: string;
  tags: Record<string, string>;
  /** idempotency token for CreateService: one per release and service */
  clientToken: string;
}

/**
 * The circuit breaker detects a deployment that cannot reach a steady state ("a service deployment
 * will transition to a failed state and stop launching new tasks" — ECS API Reference,
 * DeploymentCircuitBreaker) but does not roll back: Rackless's Rollback owns that, and restores more
 * than the task definition (health check, port, host rules, alarms). With ECS rolling back too, two
 * deployments would race back to the same revision.
 */
export const CIRCUIT_BREAKER = Object.freeze({ enable: true, rollback: false });

function deploymentSettings(change: ServiceChange, update: boolean) {
  return {
    taskDefinition: change.taskDefinitionArn,
    desiredCount: change.spec.scale.count,
    deploymentConfiguration: {
      minimumHealthyPercent: change.spec.deployment.minimum,
      maximumPercent: change.spec.deployment.maximum,
      deploymentCircuitBreaker: { ...CIRCUIT_BREAKER },
    },
    placementStrategy: [
      { type: 'spread' as const, field: 'attribute:ecs.availability-zone' },
      { type: 'spread' as const, field: 'instanceId' },
    ],
    ...(change.targetGroupArn
      ? {
          loadBalancers: [{ targetGroupArn: change.targetGroupArn, containerName: change.spec.name, containerPort: change.spec.port! }],
          healthCheckGracePeriodSeconds: change.spec.health.grace,
        }
      : // UpdateService without loadBalancers leaves the mapping as it was; an empty list removes it
        // ("For services that use rolling updates, you can add, update, or remove Elastic Load
        // Balancing target groups" — ECS API Reference, UpdateService loadBalancers)
        update
        ? { loadBalancers: [] }
        : {}),
  };
}

/**
 * Creates the service or rolls it to the new task definition, as `action` says (shared/deploy/undo.ts
 * serviceAction decides); returns the service with its PRIMARY deployment.
 */
export async function applyService(ecs: ECSClient, change: ServiceChange, existing: Service | undefined, action: ServiceAction): Promise<{ service: Service; created: boolean }> {
  if (action === 'applied' && existing) return { service: existing, created: false };
  if (!existing) {
    const res = await ecs.send(
      new CreateServiceCommand({
        cluster: change.cluster,
        serviceName: change.name,
        launchType: 'EC2',
        schedulingStrategy: 'REPLICA',
        enableECSManagedTags: true,
        propagateTags: 'TASK_DEFINITION',
        clientToken: change.clientToken,
        tags: Object.entries(change.tags).map(([key, value]) => ({ key, value })),
        ...deploymentSettings(change, false),
      }),
    );
    return { service: res.service!, created: true };
  }
  const res = await ecs.send(
    new UpdateServiceCommand({
      cluster: change.cluster,
      service: change.name,
      // one call, one deployment: forced so that a redeploy of the serving task definition rolls too
      // (a retried Promote sends no second call: serviceAction says 'applied')
      forceNewDeployment: true,
      ...deploymentSettings(change, true),
    }),
  );
  return { service: res.service!, created: false };
}

/** Throws NotOwned when a found service is tagged for another app or rack. */
export function assertServicesOwned(found: Record<string, Service | undefined>, rack: string, app: string): void {
  for (const [name, service] of Object.entries(found)) if (service) assertOwned('ECS service', name, tagMap(service.tags), rack, app);
}

export function primaryDeploymentId(service: Service): string {
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY') ?? service.deployments?.[0];
  if (!primary?.id) throw new Error(`service ${service.serviceName} has no PRIMARY deployment after the update`);
  return primary.id;
}

export function clientToken(...parts: string[]): string {
  return createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 32);
}
