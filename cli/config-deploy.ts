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

export { parseSecretReference, secretParameterName, secretReference } from '../shared/taskdef/secret-reference.js';
