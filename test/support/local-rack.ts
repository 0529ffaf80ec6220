import { resetMoto } from '../../local/moto.js';
import { LocalRack, type LocalRackOptions } from '../../local/rack.js';

/** A fresh rack in this worker's moto with the real handlers loaded: the start of every end-to-end test file. */
export async function localRack(options: Omit<LocalRackOptions, 'endpoint'> & { endpoint?: string }): Promise<LocalRack> {
  await resetMoto(process.env.MOTO_URL!);
  const rack = await new LocalRack({ endpoint: process.env.MOTO_URL!, ...options }).create();
  await rack.loadHandlers();
  return rack;
}
