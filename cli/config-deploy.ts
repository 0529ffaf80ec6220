import type { DeployState } from '../shared/deploy/state.js';
import { redeployExecutionName } from '../shared/keys.js';

/**
 * Pure: the deploy input for a config change (`env set`/`env unset`): the current release's images
 * registered again with the app's new config. Prepare loads the release; Release re-registers.
 */
export function configDeployState(app: string, currentRelease: string, requestId: string, time: string): DeployState {
  return {
    app,
    trigger: 'config',
    redeployRelease: currentRelease,
    order: { time },
    execution: redeployExecutionName(app, 'config', requestId),
    startedAt: time,
    timings: [],
  };
}

/** The SSM parameter of an app secret: /rackless/<rack>/<app>/<KEY>. */
export function secretParameterName(rack: string, app: string, key: string): string {
  return `/rackless/${rack}/${app}/${key}`;
}

/** How app config marks a value held in SSM (CloudFormation's dynamic-reference spelling). */
export function secretReference(parameter: string): string {
  return `{{resolve:ssm-secure:${parameter}}}`;
}

export function parseSecretReference(value: string): string | undefined {
  return /^\{\{resolve:ssm-secure:(.+)\}\}$/.exec(value)?.[1];
}
