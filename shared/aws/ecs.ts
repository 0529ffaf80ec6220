import { createHash } from 'node:crypto';
import { CreateServiceCommand, DescribeServicesCommand, UpdateServiceCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
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

function deploymentSettings(change: ServiceChange) {
  return {
    taskDefinition: change.taskDefinitionArn,
    desiredCount: change.spec.scale.count,
    deploymentConfiguration: {
      minimumHealthyPercent: change.spec.deployment.minimum,
      maximumPercent: change.spec.deployment.maximum,
      deploymentCircuitBreaker: { enable: true, rollback: true },
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
      : {}),
  };
}

/** Creates the service or rolls it to the new task definition; returns the service with its PRIMARY deployment. */
export async function applyService(ecs: ECSClient, change: ServiceChange, existing: Service | undefined): Promise<{ service: Service; created: boolean }> {
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
        ...deploymentSettings(change),
      }),
    );
    return { service: res.service!, created: true };
  }
  const res = await ecs.send(
    new UpdateServiceCommand({
      cluster: change.cluster,
      service: change.name,
      // a redeploy of the same task definition must still roll: always start a new deployment
      forceNewDeployment: true,
      ...deploymentSettings(change),
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
