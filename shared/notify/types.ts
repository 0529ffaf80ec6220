/**
 * Everything Rackless tells people goes through one renderer (shared/notify/render.ts) from one of
 * these shapes, so a deploy result, a crash loop, a drain timeout and a CloudWatch alarm read alike.
 */
export type Severity = 'info' | 'warning' | 'critical';

export interface StepTiming {
  step: string;
  /** milliseconds */
  durationMs: number;
}

export interface ServiceChange {
  service: string;
  image: string;
  /** "family:revision" */
  taskDefinition: string;
  previousTaskDefinition?: string;
  desiredCount: number;
  endpoints: string[];
}

export interface FailureReason {
  /** pipeline step that failed: Prepare, Build, Release, Promote, Watch, Rollback, Queue */
  step: string;
  /** error code, e.g. TARBALL_PARENT_PATH, ROLLOUT_FAILED, BUILD_FAILED */
  code: string;
  message: string;
  service?: string;
  stoppedReason?: string;
  exitCode?: number;
  oom?: boolean;
  healthCheck?: string;
  logLines?: string[];
  /** where to read more: a CodeBuild log URL, a console link */
  link?: string;
}

export type Notification =
  | {
      kind: 'deploy';
      status: 'succeeded' | 'failed' | 'rolled-back' | 'superseded';
      app: string;
      releaseId?: string;
      releaseNumber?: number;
      source?: string;
      changes: ServiceChange[];
      timings: StepTiming[];
      failure?: FailureReason;
      /** for superseded: the tarball that replaced this one */
      supersededBy?: string;
      /** services the previous release ran that this one's manifest dropped: deleted after the rollout */
      retired?: string[];
      /** what could not be cleaned up after a successful rollout (the release still serves) */
      retireProblem?: string;
      /** what Rollback did to each service it touched, failures with why */
      rollback?: Array<{ service: string; action: 'restored' | 'removed' | 'untouched' | 'failed'; reregistered?: boolean; error?: string }>;
    }
  | {
      kind: 'crash-loop';
      app: string;
      service: string;
      releaseId?: string;
      stops: number;
      windowSeconds: number;
      cause: string;
      evidence: Record<string, string | number | boolean>;
      logLines?: string[];
    }
  | { kind: 'recovered'; app: string; service: string; releaseId?: string; message: string }
  | {
      kind: 'drain';
      status: 'drained' | 'timed-out' | 'no-instance' | 'failed';
      instanceId: string;
      autoScalingGroup: string;
      tasksLeft: number;
      waitedSeconds: number;
      /** for failed: the step's error; the instance was released (CONTINUE) all the same */
      reason?: string;
    }
  | {
      kind: 'cloudwatch-alarm';
      alarmName: string;
      state: string;
      previousState?: string;
      reason: string;
      metric?: string;
      app?: string;
      service?: string;
      time?: string;
    }
  | { kind: 'redeploy-rejected'; app: string; reason: string; releaseId?: string };

export interface RenderedNotification {
  /** SNS Subject: ≤ 100 characters, ASCII, no newlines */
  subject: string;
  /** plain text body, short first line then details */
  message: string;
  /** SNS MessageAttributes as String values: kind, app, service, severity, status, release, step */
  attributes: Record<string, string>;
}
