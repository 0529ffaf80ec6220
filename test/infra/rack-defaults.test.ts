import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configOf } from '../../shared/config.js';
import { RACK_DEFAULTS, rackOf } from '../../shared/rack.js';
import { ROOT } from './template.js';

// serverless.yml as written: its `params.default` are what every function's environment gets on AWS
const template = parse(readFileSync(`${ROOT}serverless.yml`, 'utf8'));
const rackEnv: Record<string, unknown> = template.custom.rackEnv;

describe('the rack defaults', () => {
  it.each([
    ['deregistrationDelay', 'DEREGISTRATION_DELAY'],
    ['watchDeadlineSeconds', 'WATCH_DEADLINE_SECONDS'],
    ['failFastStops', 'FAIL_FAST_STOPS'],
  ] as const)('serverless.yml gives %s to the functions as %s, with the value shared/rack.ts falls back to', (param, env) => {
    expect(rackEnv[env]).toBe(`\${param:${param}}`);
    expect(template.params.default[param]).toBe(RACK_DEFAULTS[param]);
  });

  it('reads the same settings from the template defaults as from an environment that leaves them out', () => {
    const base = { RACK_NAME: 'r', CLUSTER: 'c', LISTENER_ARN: 'l', VPC_ID: 'v' };
    const fromTemplate = rackOf(
      configOf({
        ...base,
        DEREGISTRATION_DELAY: String(template.params.default.deregistrationDelay),
        WATCH_DEADLINE_SECONDS: String(template.params.default.watchDeadlineSeconds),
        FAIL_FAST_STOPS: String(template.params.default.failFastStops),
      }),
    );
    expect(fromTemplate).toEqual(rackOf(configOf(base)));
  });
});
