import type { EventBridgeEvent } from 'aws-lambda';
import { executionName, parseSourceKey } from '../keys.js';
import type { DeployState, SourceObject } from './state.js';

export interface S3ObjectCreatedDetail {
  version?: string;
  bucket: { name: string };
  object: { key: string; size?: number; etag?: string; 'version-id'?: string; sequencer?: string };
  'request-id'?: string;
  requester?: string;
  reason?: string;
}

/**
 * Pure: the execution input for an S3 Object Created event. Built only from the object's identity
 * (never the event id or arrival time), so a duplicated event yields the same name and input.
 */
export function deployRequestFromS3(event: EventBridgeEvent<string, S3ObjectCreatedDetail>): { accept: true; state: DeployState } | { accept: false; reason: string } {
  const object = event.detail?.object;
  const bucket = event.detail?.bucket?.name;
  if (!object?.key || !bucket) return { accept: false, reason: 'event has no detail.bucket.name or detail.object.key' };
  const key = parseSourceKey(object.key);
  if (!key.accept) return key;
  const source: SourceObject = {
    bucket,
    key: decodeURIComponent(object.key.replace(/\+/g, ' ')),
    ...(object['version-id'] ? { versionId: object['version-id'] } : {}),
    ...(object.etag ? { etag: object.etag } : {}),
    ...(object.size !== undefined ? { size: object.size } : {}),
    ...(object.sequencer ? { sequencer: object.sequencer } : {}),
  };
  const execution = executionName(key.app, source);
  return {
    accept: true,
    state: {
      app: key.app,
      trigger: 'upload',
      source,
      order: { time: event.time, ...(object.sequencer ? { sequencer: object.sequencer } : {}) },
      execution,
      startedAt: event.time,
      timings: [],
    },
  };
}
