/**
 * AWS limits the manifest is checked against, with no validator attached: a module that only needs a
 * number (the task definition renderer) imports this file and keeps the schema library out of its bundle.
 */

// EC2 launch type, task level: "Supported values are between 128 CPU units (0.125 vCPUs) and 196608
// CPU units (192 vCPUs)" — ECS API RegisterTaskDefinition `cpu`. Fargate's fixed cpu→memory table does
// not apply to EC2 ("If your tasks runs on Amazon EC2 instances … any value can be used" for `memory`).
export const TASK_CPU = { min: 128, max: 196_608 } as const;
// Container `memoryReservation` mirrors task memory: "The Docker 20.10.0 or later daemon reserves a
// minimum of 6 MiB of memory for a container. So, don't specify less than 6 MiB" — ECS API
// ContainerDefinition `memory`/`memoryReservation`. The upper bound is the API's int32.
export const TASK_MEMORY = { min: 6, max: 2_147_483_647 } as const;

// ELBv2 CreateTargetGroup: interval 5–300, timeout 2–120 (and below interval), thresholds 2–10.
export const ALB_HEALTH = { interval: [5, 300], timeout: [2, 120], threshold: [2, 10] } as const;
// ECS ContainerDefinition.healthCheck: timeout 2–60, startPeriod 0–300 (interval/retries fit the ALB ranges).
export const CONTAINER_HEALTH = { timeout: [2, 60], startPeriod: 300 } as const;
// ELBv2 target group attribute deregistration_delay.timeout_seconds: "The range is 0-3600 seconds"
// (ELB API Reference, TargetGroupAttribute).
export const DEREGISTRATION_DELAY = { min: 0, max: 3600 } as const;
// ECS ContainerDefinition.stopTimeout: "The valid values for Fargate are 2-120 seconds"; for the EC2
// launch type the API states no range (the agent's ECS_CONTAINER_STOP_TIMEOUT applies when unset).
// Rackless keeps Fargate's range on EC2 too, so a rollout's drain stays bounded.
export const STOP_TIMEOUT = { min: 2, max: 120 } as const;

export { SERVICE_NAME } from '../names.js';
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Limits on one app's manifest, each with its own error code. These are the rack's, chosen from the AWS
 * quotas they protect on a load balancer and an account that every app of the rack shares.
 */
export const MANIFEST_LIMITS = Object.freeze({
  // ELB: "Target Groups per Application Load Balancer 100, not adjustable" (Quotas for your Application
  // Load Balancers). One target group per service with a port: one app may hold at most a fifth.
  servicesPerApp: 20,
  // ELB: "Rules per Application Load Balancer 100" by default; Rackless writes one host-header rule per
  // domain, so one service may hold at most a tenth of the shared listener's rules.
  domainsPerService: 10,
  // ECS reads every secret at every task start; Parameter Store's default throughput is 40 TPS shared
  // by GetParameter, GetParameters and GetParametersByPath across the account and Region (AWS Systems
  // Manager endpoints and quotas). Forty secrets is one second of that budget per task start.
  secretsPerService: 40,
  // ECS: "Task definition size 64 KiB" (Amazon ECS service quotas). The environment as the container
  // sees it (NAME=value, app config included) may take half, leaving room for secrets, health check,
  // labels and log options; a larger value belongs in a secret or the image.
  environmentBytes: 32 * 1024,
});
