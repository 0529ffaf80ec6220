import { readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { localRack } from '../support/local-rack.js';
import type { LocalRack } from '../../local/rack.js';
import { loadEvent } from '../support/fixtures.js';

/** Which function the rack's rules deliver each sample to (serverless.yml events), as `npm run invoke` does. */
function targetOf(event: Record<string, any>): string {
  if (event.Records?.[0]?.Sns) return 'alarm-notify';
  switch (event.source) {
    case 'aws.s3':
      return 'start-deployment';
    case 'aws.ecs':
      return 'task-events';
    case 'aws.autoscaling':
      return 'drain-start';
    case 'rackless':
    case 'aws.ecr':
    case 'aws.events':
      return 'redeploy';
    default:
      throw new Error(`no rule delivers source ${event.source}`);
  }
}

const samples = readdirSync(new URL('../../events/', import.meta.url))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''));
let rack: LocalRack;

beforeAll(async () => {
  rack = await localRack({ name: 'rackless-samples' });
});

describe('sample events', () => {
  it.each(samples)('%s is handled by the function its rule targets', async (name) => {
    const event = loadEvent(name);
    const target = targetOf(event);
    if (!['start-deployment', 'task-events', 'redeploy'].includes(target)) {
      // drain-start and alarm-notify are not in the deploy rack's handler set: checked by their own tests
      expect(['drain-start', 'alarm-notify']).toContain(target);
      return;
    }
    await expect(rack.handler(target)(event, {})).resolves.toBeDefined();
  });
});
