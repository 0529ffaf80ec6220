/**
 * What a manifest leaves out, filled in by parseManifest. Apart from the parser so that the rack's
 * settings (shared/rack.ts) and the bench's rollout model import the numbers without the validator.
 */
import type { HealthCheck } from './types.js';

// Convox's defaults (health path, interval, deployment 50/200, cpu 256, memory 512); see DESIGN §3.
// The rollout's defaults are chosen for a nominal rollout of a 2-task web service within 30 s and a
// crash loop judged within 90 s (bench/rollout-model.ts models both); why each is safe: README, "The
// rollout deadline, and the defaults behind it". interval 5 and healthy/unhealthy 2 are the ALB's minimums (ELB User Guide, Health checks
// for Application Load Balancer target groups: interval 5–300, thresholds 2–10,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html);
// a new target needs one passing check, whatever the healthy threshold ("For newly registered targets,
// only one successful health check is needed",
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-healthcheck.html).
export const DEFAULT_HEALTH: HealthCheck = {
  path: '/',
  interval: 5,
  timeout: 4,
  grace: 30,
  healthy: 2,
  unhealthy: 2,
  codes: '200-399',
};
export const DEFAULT_SCALE = { count: 1, cpu: 256, memory: 512 } as const;
export const DEFAULT_DEPLOYMENT = { minimum: 50, maximum: 200 } as const;
export const DEFAULT_ALARMS = { cpu: 90, memory: 90, http5xx: 10, unhealthy: 1 } as const;
// AWS's default is 300 s; ECS's guide suggests 5 s for responses under a second ("Do not set the value
// to 5 seconds when you have a service with long-lived requests",
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-connection-draining.html)
// — 10 s lets a request of up to 10 s finish; the rack (deregistrationDelay) or a service may set more.
export const DEFAULT_DEREGISTRATION_DELAY = 10;
// ECS's default is 30 s (ECS_CONTAINER_STOP_TIMEOUT, ContainerDefinition.stopTimeout); `docker stop`
// waits 10 s by default (docker-stop(1)). SIGTERM comes after the deregistration delay, when the ALB
// sends the task nothing new: 10 s is for closing connections and flushing, not for serving.
export const DEFAULT_STOP_TIMEOUT = 10;
