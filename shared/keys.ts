import { createHash } from 'node:crypto';
import type { SourceObject } from './deploy/state.js';

/** apps/<app>/<file>.tar.gz|.tgz — one level below the app, no hidden names. */
export { APP_NAME } from './names.js';
import { APP_NAME, NAME_RULES } from './names.js';
const KEY = /^apps\/([^/]+)\/([^/]+)$/;
const SUFFIX = /\.(tar\.gz|tgz)$/;

export type KeyDecision = { accept: true; app: string; file: string } | { accept: false; reason: string };

/** Decides whether an S3 key is a deployable tarball. S3 event keys arrive URL-encoded. */
export function parseSourceKey(rawKey: string): KeyDecision {
  let key: string;
  try {
    key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
  } catch {
    return { accept: false, reason: `key "${rawKey}" is not valid URL encoding` };
  }
  const match = KEY.exec(key);
  if (!match) return { accept: false, reason: `key "${key}" is not of the form apps/<app>/<file>.tar.gz` };
  const [, app, file] = match as unknown as [string, string, string];
  if (!APP_NAME.test(app)) {
    return { accept: false, reason: `app name "${app}" in key "${key}" must be 2–30 characters: ${NAME_RULES}` };
  }
  if (!SUFFIX.test(file)) return { accept: false, reason: `file "${file}" in key "${key}" does not end in .tar.gz or .tgz` };
  if (file.startsWith('.')) return { accept: false, reason: `file "${file}" in key "${key}" is hidden` };
  return { accept: true, app, file };
}

/**
 * A deterministic Step Functions execution name (≤ 80 chars of 0-9A-Za-z-_) for one object version,
 * so a duplicated S3 event maps onto the execution it already started.
 */
export function executionName(app: string, source: SourceObject): string {
  // a version id names one write; without versioning, the sequencer tells two writes of one key apart
  const identity = source.versionId ? [source.bucket, source.key, source.versionId].join('\n') : [source.bucket, source.key, source.etag ?? '', source.sequencer ?? ''].join('\n');
  const digest = createHash('sha256').update(identity).digest('hex').slice(0, 24);
  return `${app}-${digest}`;
}

/** Execution names for redeploys: one per request id (EventBridge event id). */
export function redeployExecutionName(app: string, trigger: string, requestId: string): string {
  const digest = createHash('sha256').update(`${trigger}\n${requestId}`).digest('hex').slice(0, 24);
  return `${app}-${trigger}-${digest}`.slice(0, 80);
}

/**
 * Orders two deploy requests of one app. S3 sequencers are hex of varying length: compare padded.
 * Requests without sequencers (redeploys) fall back to event time.
 */
export function compareOrder(a: { time: string; sequencer?: string }, b: { time: string; sequencer?: string }): number {
  if (a.sequencer && b.sequencer) {
    const width = Math.max(a.sequencer.length, b.sequencer.length);
    const left = a.sequencer.toUpperCase().padStart(width, '0');
    const right = b.sequencer.toUpperCase().padStart(width, '0');
    return left < right ? -1 : left > right ? 1 : 0;
  }
  return Date.parse(a.time) - Date.parse(b.time);
}
