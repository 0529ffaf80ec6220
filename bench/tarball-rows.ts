import { runTarballBench } from './tarball-scan.js';
import type { BenchRow } from './table.js';

/** The tarball scan bench as rows of the common table. */
export async function runTarballRows({ quick = false } = {}): Promise<BenchRow[]> {
  const sizeMb = quick ? 20 : 200;
  const [baseline, scanner] = await runTarballBench({ sizeMb, runs: quick ? 1 : 3, log: () => {} });
  return [
    {
      bench: 'tarball',
      row: `manifest scan of a ${sizeMb} MB tarball vs gzip -dc \\| tar -t`,
      value: `${scanner!.mbPerSec.toFixed(0)} vs ${baseline!.mbPerSec.toFixed(0)} MB/s = ${scanner!.ratio.toFixed(2)}×`,
      target: '≥ 0.7×',
      ok: scanner!.ratio >= 0.7,
      ...(quick ? { note: 'quick size: Node start-up (~0.1 s) weighs on a 20 MB file; the full 200 MB run is the figure' } : {}),
    },
    { bench: 'tarball', row: 'manifest scan peak RSS', value: `${scanner!.peakRssMb.toFixed(0)} MB`, target: '≤ 128 MB', ok: scanner!.peakRssMb <= 128 },
  ];
}
