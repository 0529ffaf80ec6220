import type { AppRecord } from '../aws/store.js';
import type { EcrImageActionDetail } from '../events/types.js';
import { redeployExecutionName } from '../keys.js';
import { APP_NAME, NAME_RULES } from '../names.js';
import type { DeployState, Trigger } from './state.js';

/**
 * Redeploys enter the same deploy workflow as uploads, with an input that says what to promote:
 * a release (its task definitions, no build), or the app's last tarball built again.
 */
export type RedeployRequest = { app: string; release?: string; rebuild?: boolean; trigger: Trigger; requestId: string; time: string };

export type RedeployDecision = { accept: true; state: DeployState } | { accept: false; app?: string; reason: string };

/** Pure: the deploy input for a redeploy request, given the app's record. */
export function redeployState(request: RedeployRequest, app: AppRecord | undefined): RedeployDecision {
  if (typeof request.app !== 'string' || request.app === '') {
    return { accept: false, reason: 'a redeploy request must name an app, e.g. {"app": "shop"}; a schedule rule gives it as its target input' };
  }
  if (!APP_NAME.test(request.app)) return { accept: false, reason: `"${request.app}" is not a valid app name (2–30 characters: ${NAME_RULES})` };
  if (!app) return { accept: false, app: request.app, reason: `app ${request.app} does not exist in this rack: deploy a tarball to apps/${request.app}/ first` };
  const base = {
    app: request.app,
    order: { time: request.time },
    execution: redeployExecutionName(request.app, request.trigger, request.requestId),
    startedAt: request.time,
    timings: [],
  };
  if (request.rebuild) {
    if (!app.lastSource) return { accept: false, app: request.app, reason: `app ${request.app} has no tarball to rebuild` };
    return { accept: true, state: { ...base, trigger: request.trigger === 'upload' ? 'rebuild' : request.trigger, source: app.lastSource } };
  }
  const release = request.release ?? app.currentRelease;
  if (!release) return { accept: false, app: request.app, reason: `app ${request.app} has no current release to redeploy` };
  return { accept: true, state: { ...base, trigger: request.trigger, redeployRelease: release } };
}

/** Pure: which apps build on the pushed image (their Dockerfiles' FROM lines, recorded at Prepare). */
export function appsUsingImage(apps: AppRecord[], push: Pick<EcrImageActionDetail, 'repository-name' | 'image-tag'>): string[] {
  const repository = push['repository-name'];
  const tag = push['image-tag'] ?? 'latest';
  return apps
    .filter((app) =>
      (app.baseImages ?? []).some((image) => {
        const [name, imageTag = 'latest'] = splitImage(image);
        return (name === repository || name.endsWith(`/${repository}`)) && imageTag === tag;
      }),
    )
    .map((app) => app.app);
}

function splitImage(image: string): [string, string | undefined] {
  const withoutDigest = image.split('@')[0]!;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? [withoutDigest.slice(0, colon), withoutDigest.slice(colon + 1)] : [withoutDigest, undefined];
}
