import { type HandoverDeps, type KickResult, kick } from './queue.js';

/**
 * The queue sweep (functions/queue-sweep, on a schedule): looks once at every app whose lock is held
 * or that has a waiting deploy, as a handover would, so nothing depends on an event arriving:
 *  - a holder whose lease is due is asked about: still running → lease renewed (this is what keeps
 *    the lease of a deploy that builds or watches for hours: no Lambda of it runs meanwhile);
 *    ended (its status-change event lost, its Hand over failed) → its lock is released and handed on;
 *  - a lock taken for a waiter whose token was never confirmed sent → the token is sent again;
 *  - a free lock with waiters (a handover that died half-way) → the newest waiter that runs is woken.
 * An idle rack has nothing in the index: the sweep reads one empty index page and stops.
 */
export interface SweepReport {
  apps: number;
  /** what the sweep changed, per app (apps where it changed nothing are left out) */
  healed: Array<{ app: string } & KickResult>;
  failed: Array<{ app: string; error: string }>;
}

export async function sweep(deps: HandoverDeps): Promise<SweepReport> {
  const apps = await deps.store.appsToSweep();
  const report: SweepReport = { apps: apps.length, healed: [], failed: [] };
  for (const app of apps) {
    try {
      const result = await kick(deps, app, { onlyDue: true });
      if (result.woken || result.renewed || result.rewoken || result.released.length || result.abandoned.length) report.healed.push({ app, ...result });
    } catch (error) {
      // one app's trouble does not keep the others waiting; the next sweep tries it again
      report.failed.push({ app, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    }
  }
  return report;
}
