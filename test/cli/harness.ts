import { bufferIo } from '../../cli/io.js';
import { run } from '../../cli/main.js';
import { LocalBridge } from '../../local/bridge.js';
import type { LocalRack } from '../../local/rack.js';
import type { Store } from '../../shared/aws/store.js';
import { localRack } from '../support/local-rack.js';
import { TEST_STAGE } from '../support/stage.js';

/**
 * The AWS side of CLI tests: a local rack in this worker's moto and the bridge in front of it, the
 * same pieces `rackless local up` runs. `cli(args)` runs a command as the bin would, against it;
 * while it runs, the rack's virtual clock moves whenever the rack is idle (rollouts take their time).
 */
export interface Harness {
  rack: LocalRack;
  bridge: LocalBridge;
  store: Store;
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** `make` builds the rack (default: a fresh one from the packaged template, as every CLI test uses). */
export async function startHarness(make: () => Promise<LocalRack> = () => localRack()): Promise<Harness> {
  const rack = await make();
  const bridge = await new LocalBridge(rack).start();
  return {
    rack,
    bridge,
    store: rack.store,
    async cli(args) {
      const io = bufferIo();
      // globals first: after `--` they would be the command's arguments
      const argv = ['--endpoint-url', bridge.url, ...(args.includes('--rack') ? [] : ['--rack', TEST_STAGE]), ...args];
      const code = await rack.scheduler.until(run(argv, io), { patient: true });
      return { code, stdout: io.stdout(), stderr: io.stderr() };
    },
    async stop() {
      await rack.settled();
      await bridge.stop();
    },
  };
}
