/** The resolved manifest: every default filled in, every path normalised. Produced by parseManifest. */
export interface HealthCheck {
  /** HTTP path the target group checks. */
  path: string;
  /** seconds between checks (ALB: 5–300) */
  interval: number;
  /** seconds before a check counts as failed (ALB: 2–120, < interval) */
  timeout: number;
  /** healthCheckGracePeriodSeconds on the ECS service */
  grace: number;
  healthy: number;
  unhealthy: number;
  /** ALB matcher HttpCode, e.g. "200-399" */
  codes: string;
  /** Optional container health check (ECS `healthCheck.command`, starting with CMD or CMD-SHELL); absent → none. */
  command?: string[];
}

export interface AlarmThresholds {
  /** percent CPU utilisation of the service over 5 minutes */
  cpu: number;
  /** percent memory utilisation of the service over 5 minutes */
  memory: number;
  /** target 5XX responses per minute */
  http5xx: number;
  /** unhealthy hosts in the target group */
  unhealthy: number;
}

export interface ServiceSpec {
  name: string;
  /** Build from the tarball: context dir and Dockerfile path, both relative to the tarball root, normalised ("." / "Dockerfile"). */
  build?: { context: string; dockerfile: string };
  /** Use a ready image instead of building. Exactly one of build / image is set. */
  image?: string;
  /** Container command (exec form). A string in the manifest becomes ["sh", "-c", command]. */
  command?: string[];
  /** Container port; absent → no load balancer for this service. */
  port?: number;
  /** Host headers routed to this service; default `<service>.<app>.<rack domain>` when port is set. */
  domains: string[];
  health: HealthCheck;
  scale: { count: number; cpu: number; memory: number };
  deployment: { minimum: number; maximum: number };
  /** "K=V" literals and bare "K" names (value comes from the app's config), app-wide then service. */
  environment: string[];
  /** env name → the app's SSM parameter ("/rackless/<rack>/<app>/x"), or an SSM / Secrets Manager ARN */
  secrets: Record<string, string>;
  /** target group deregistration delay, seconds */
  deregistrationDelay: number;
  /** container stopTimeout: seconds between SIGTERM and SIGKILL (manifest `termination.grace`, as Convox names it) */
  stopTimeout: number;
  alarms: AlarmThresholds;
}

export interface Manifest {
  services: ServiceSpec[];
  /** IAM managed policy ARNs attached to the app's task role (top-level and every service's `policies`) */
  policies?: string[];
  /** KMS key ARNs the app's execution role may decrypt with (secrets under a customer managed key) */
  kms?: string[];
}
