import { inject } from 'vitest';
import { resetMoto } from '../../local/moto.js';
import { LocalRack, type LocalRackOptions } from '../../local/rack.js';
import { TEST_STAGE } from './stage.js';

/** This worker's moto (one per worker: tests in different workers never reset each other's state). */
export function motoUrl(): string {
  const urls = inject('motoUrls');
  const poolId = Number(process.env.VITEST_POOL_ID ?? '1');
  return urls[(poolId - 1) % urls.length]!;
}

/** A fresh rack in this worker's moto, made from the packaged template: the start of every end-to-end test file. */
export async function localRack(options: Partial<LocalRackOptions> = {}): Promise<LocalRack> {
  const endpoint = options.endpoint ?? motoUrl();
  await resetMoto(endpoint);
  return LocalRack.start({ stage: TEST_STAGE, ...options, endpoint });
}
