import type { Store } from '../aws/store.js';
import { claimConflict, withClaims } from '../domains.js';
import { ManifestInvalid, TransientError } from '../errors.js';

// optimistic writes: each attempt reads the registry, decides, and writes only if nobody wrote since
const ATTEMPTS = 8;

/**
 * Claims `write` (service → hosts) for `app` in one conditional write, after checking `check`
 * against every other app's claims and the rack's reserved hosts. Two apps claiming the same host
 * at the same moment both read version N; one write lands, the other's condition fails, and its
 * next read sees the winner's claim: MANIFEST_DOMAIN_IN_USE. Nothing outside the table changes.
 */
export async function claimDomains(store: Store, args: { app: string; rackDomain: string; check: Record<string, string[]>; write: Record<string, string[]> }): Promise<void> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const registry = await store.getDomains();
    const conflict = claimConflict(registry, args.app, args.check, args.rackDomain);
    if (conflict) {
      const path = `services.${conflict.service}.domain`;
      throw new ManifestInvalid(conflict.code, `${path}: ${conflict.reason}`, { path, domain: conflict.host });
    }
    if (await store.putDomains(registry.version, withClaims(registry, args.app, args.write))) return;
  }
  throw new TransientError('DOMAIN_CLAIM_CONTENDED', `the rack's domain registry changed ${ATTEMPTS} times while app ${args.app} claimed its hosts; try again`, { app: args.app });
}

/** The app's claims become exactly `hosts` (what its current release routes; nothing for an app with none). */
export async function settleDomains(store: Store, app: string, hosts: Record<string, string[]>): Promise<void> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const registry = await store.getDomains();
    const next = withClaims(registry, app, hosts);
    if (JSON.stringify(next) === JSON.stringify(registry.claims)) return;
    if (await store.putDomains(registry.version, next)) return;
  }
  throw new TransientError('DOMAIN_CLAIM_CONTENDED', `the rack's domain registry changed ${ATTEMPTS} times while app ${app}'s claims were settled`, { app });
}
