// AWS calls: ecs:DescribeServices
/**
 * The check step of the polling reference (bench/polling-reference.asl.yml): one DescribeServices,
 * done once the watched deployment's rollout has ended. A function module as the rack's are
 * (`depsFromEnv` + `makeHandler`), so the local rack's Lambda service runs it; only the benchmark
 * deploys it (bench/deploy.ts), never the rack.
 */
import { type Deployment, DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import type { ClientFactory } from '../shared/aws/clients.js';
import type { Clock } from '../shared/aws/deps.js';
import type { Env } from '../shared/config.js';

export interface CheckInput {
  cluster: string;
  service: string;
  deploymentId: string;
}

export interface Deps {
  ecs: ECSClient;
  /** the deployment's rollout state, from the DescribeServices answer (on AWS: its rolloutState) */
  rolloutState: (deploymentId: string, deployments: Deployment[]) => string | undefined;
}

export function depsFromEnv(_env: Env, aws: ClientFactory, _now: Clock): Deps {
  return { ecs: aws(ECSClient), rolloutState: (id, deployments) => deployments.find((d) => d.id === id)?.rolloutState };
}

export function makeHandler(deps: Deps) {
  return async (event: CheckInput) => {
    const described = await deps.ecs.send(new DescribeServicesCommand({ cluster: event.cluster, services: [event.service] }));
    const state = deps.rolloutState(event.deploymentId, described.services?.[0]?.deployments ?? []);
    // the state's output is the next check's input
    return { ...event, rolloutState: state ?? 'UNKNOWN', done: state === 'COMPLETED' || state === 'FAILED' };
  };
}
