import { benchSizes, runTarballBench, tarballRows } from './tarball-scan.js';
import type { BenchRow } from './table.js';

/** The tarball bench as rows of the common table (`npm run bench`): see bench/tarball-scan.ts. */
export async function runTarballRows({ quick = false } = {}): Promise<BenchRow[]> {
  return tarballRows(await runTarballBench({ ...benchSizes(quick), log: () => {} }), quick);
}
