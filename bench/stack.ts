/**
 * The packaged template's stack in moto's CloudFormation: created (local/provision.ts) and removed
 * (local/remove-stack.ts) as the smoke test (test/infra/stack.test.ts) does, timed. Each run gets a
 * fresh moto. Usage: `npx tsx bench/run.ts --only=stack [--quick]` (full: median of 3 runs; quick: 1).
 */
import { clientFactory } from '../shared/aws/clients.js';
import { startMoto } from '../local/moto.js';
import { provisionStack } from '../local/provision.js';
import { removeStack } from '../local/remove-stack.js';
import { packagedTemplate, rackName } from '../local/template.js';
import type { BenchRow } from './table.js';

const STAGE = 'bench';

export async function runStackBench({ quick = false } = {}): Promise<BenchRow[]> {
  const template = await packagedTemplate(STAGE);
  const create: number[] = [];
  const remove: number[] = [];
  let resources = 0;
  for (let run = 0; run < (quick ? 1 : 3); run++) {
    const moto = await startMoto();
    try {
      const aws = clientFactory({ region: 'us-east-1', endpoint: moto.url, forcePathStyle: true, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 4 });
      let started = Date.now();
      const stack = await provisionStack({ template, stackName: rackName(STAGE), aws, region: 'us-east-1', account: '123456789012' });
      create.push(Date.now() - started);
      resources = Object.keys(stack.physical).length;
      started = Date.now();
      await removeStack(stack, { aws });
      remove.push(Date.now() - started);
    } finally {
      await moto.stop();
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const runs = `median of ${create.length} run${create.length > 1 ? 's' : ''}, ${resources} resources`;
  return [
    {
      bench: 'stack',
      row: 'moto CloudFormation: create the rack (with the local gaps filled)',
      value: `${(median(create) / 1000).toFixed(1)} s`,
      target: 'reference',
      ok: true,
      note: runs,
    },
    {
      bench: 'stack',
      row: 'moto CloudFormation: remove the rack (DeleteStack to DELETE_COMPLETE)',
      value: `${(median(remove) / 1000).toFixed(1)} s`,
      target: 'reference',
      ok: true,
      note: runs,
    },
  ];
}
