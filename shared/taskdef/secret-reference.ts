import { parameterPath } from '../names.js';

/**
 * App config values held in SSM: `rackless env set --secret` stores the value as a SecureString and
 * the config keeps a reference in CloudFormation's dynamic-reference spelling. Task definitions turn
 * such a value into `secrets[].valueFrom`, never into plaintext environment.
 */
export function secretParameterName(rack: string, app: string, key: string): string {
  return `${parameterPath({ name: rack }, app)}${key}`;
}

export function secretReference(parameter: string): string {
  return `{{resolve:ssm-secure:${parameter}}}`;
}

export function parseSecretReference(value: string): string | undefined {
  return /^\{\{resolve:ssm-secure:(.+)\}\}$/.exec(value)?.[1];
}
