import { LocalBridge } from '../../local/bridge.js';
import { resetMoto } from '../../local/moto.js';
import { LocalRack } from '../../local/rack.js';
import { bufferIo } from '../../cli/io.js';
import { run } from '../../cli/main.js';
import { documentClient, Store } from '../../shared/aws/store.js';

/**
 * The AWS side of CLI tests: a LocalRack in this worker's moto and the bridge in front of it, the
 * same pieces `rackless local up` runs. `cli(args)` runs a command as the bin would, against it.
 */
export interface Harness {
  rack: LocalRack;
  bridge: LocalBridge;
  store: Store;
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export async function startHarness(name: string): Promise<Harness> {
  const motoUrl = process.env.MOTO_URL!;
  await resetMoto(motoUrl);
  const rack = await new LocalRack({ endpoint: motoUrl, name, watchDeadlineSeconds: 5 }).create();
  await rack.loadHandlers();
  const bridge = await new LocalBridge(rack, { motoUrl }).start();
  const store = new Store(documentClient(rack.aws.dynamodb), rack.env.TABLE_NAME!);
  return {
    rack,
    bridge,
    store,
    async cli(args) {
      const io = bufferIo();
      // globals first: after `--` they would be the command's arguments
      const code = await run(['--endpoint-url', bridge.url, ...(args.includes('--rack') ? [] : ['--rack', name]), ...args], io);
      return { code, stdout: io.stdout(), stderr: io.stderr() };
    },
    async stop() {
      await bridge.idle();
      await bridge.stop();
    },
  };
}
