import type { Manifest } from '../manifest/types.js';

/**
 * The document that flows through the deploy state machine. Each Lambda step receives it whole and
 * returns it enriched; service integrations write under their own ResultPath. Kept small (no
 * tarball content) — Step Functions payloads stop at 256 KiB.
 */
export interface SourceObject {
  bucket: string;
  key: string;
  versionId?: string;
  etag?: string;
  size?: number;
  /** S3 event sequencer: for one key, the larger hex value is the later write */
  sequencer?: string;
}

export type Trigger = 'upload' | 'redeploy' | 'rebuild' | 'schedule' | 'base-image' | 'config';

export interface DeployOrder {
  /** event time, ISO 8601 */
  time: string;
  sequencer?: string;
}

export interface StepTimingEntry {
  step: string;
  startedAt: string;
  durationMs: number;
}

export interface BuildPlan {
  needed: boolean;
  id?: string;
  project?: string;
  tag?: string;
  repositoryUri?: string;
  /** CodeBuild EnvironmentVariablesOverride, ready for the ASL */
  environment?: Array<{ Name: string; Value: string; Type: 'PLAINTEXT' }>;
  /** service → image URI */
  images: Record<string, string>;
  /** written by the CodeBuild .sync task's ResultSelector */
  result?: { id: string; status: string; logs?: string; startTime?: string; endTime?: string };
}

export interface ReleaseRef {
  id: string;
  number: number;
  /** service → task definition ARN */
  taskDefinitions: Record<string, string>;
  images: Record<string, string>;
  buildId?: string;
}

export interface PromotedService {
  service: string;
  serviceName: string;
  serviceArn: string;
  created: boolean;
  deploymentId: string;
  taskDefinitionArn: string;
  desiredCount: number;
  targetGroupArn?: string;
  endpoints: string[];
}

/** What Rollback did to one service: put back as it was, removed (this deploy created it), left alone, or failed (with why). */
export interface RolledBackService {
  service: string;
  action: 'restored' | 'removed' | 'untouched' | 'failed';
  taskDefinitionArn?: string;
  /** the previous task definition had been deregistered and was registered again */
  reregistered?: boolean;
  error?: string;
}

export interface DeployState {
  app: string;
  trigger: Trigger;
  source?: SourceObject;
  order: DeployOrder;
  /** redeploy: promote this existing release */
  redeployRelease?: string;
  execution: string;
  startedAt: string;
  timings: StepTimingEntry[];
  queue?: { waitedMs: number };
  manifest?: Manifest;
  stripComponents?: 0 | 1;
  build?: BuildPlan;
  release?: ReleaseRef;
  previous?: ReleaseRef;
  promoted?: PromotedService[];
  /** Watch's settings, from Prepare: the rollout deadline (the ASL's TimeoutSecondsPath) and how it was reached */
  watch?: { deadlineSeconds: number; deadline?: string; failFastStops: number };
  rollout?: { outcome: 'completed'; detail: string };
  /** set by a Catch: the raw Step Functions failure */
  failure?: { Error?: string; Cause?: string };
  failedStep?: string;
  rollback?: { services: RolledBackService[] };
  /** services deleted after the rollout because the manifest dropped them */
  retired?: string[];
  /** set when Retire failed: the release serves, the cleanup did not finish */
  retireFailure?: { Error?: string; Cause?: string };
  outcome?: { status: 'succeeded' | 'failed' | 'rolled-back' | 'superseded'; code?: string; message?: string };
}

/** Appends this step's duration; handlers call it with the times (epoch ms, their clock's) it started and ended. */
export function withTiming<T extends DeployState>(state: T, step: string, startedAt: number, endedAt: number): T {
  return {
    ...state,
    timings: [...(state.timings ?? []), { step, startedAt: new Date(startedAt).toISOString(), durationMs: Math.max(0, endedAt - startedAt) }],
  };
}
