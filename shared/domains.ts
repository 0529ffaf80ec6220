/**
 * Who may route which host on the rack's one load balancer. Pure: the Store holds the claims
 * (one versioned item, written conditionally), these functions decide.
 *
 * ALB host-header conditions match case-insensitively, and `*` matches zero or more characters
 * (Elastic Load Balancing User Guide, "Listener rules for your Application Load Balancer", Host
 * conditions). The manifest accepts `*` only as a leading `*.` label, so a wildcard `*.S` covers
 * exactly the hosts that end in `.S`.
 */

export interface DomainClaim {
  host: string;
  app: string;
  service: string;
}

/** Every claim on the rack, with the version a conditional write compares against. */
export interface DomainRegistry {
  version: number;
  claims: DomainClaim[];
}

export type DomainConflictCode = 'MANIFEST_DOMAIN_IN_USE' | 'MANIFEST_DOMAIN_RESERVED';

export interface DomainConflict {
  code: DomainConflictCode;
  service: string;
  host: string;
  reason: string;
}

const isWildcard = (host: string) => host.startsWith('*.');
const suffixOf = (wildcard: string) => wildcard.slice(1); // "*.example.com" → ".example.com"

/** True when some host matches both patterns (each an exact host or a leading-`*.` wildcard). */
export function hostsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  if (isWildcard(a) && isWildcard(b)) return suffixOf(a).endsWith(suffixOf(b)) || suffixOf(b).endsWith(suffixOf(a));
  if (isWildcard(a)) return b.endsWith(suffixOf(a));
  if (isWildcard(b)) return a.endsWith(suffixOf(b));
  return false;
}

/**
 * Why the rack's own domain keeps `host` from `app`, or undefined. Every host under the rack's
 * domain belongs to the app named by the label just before it — `web.shop.<domain>` and
 * `*.shop.<domain>` are app shop's, whether or not shop exists yet — so no app can take another's
 * default hosts; the rack's domain itself and a wildcard over it (or over a parent of it) are no app's.
 */
export function reservedFor(host: string, app: string, rackDomain: string): string | undefined {
  const domain = rackDomain.toLowerCase();
  if (host === domain) return `${host} is the rack's own domain`;
  if (isWildcard(host)) {
    const suffix = suffixOf(host).slice(1); // "*.shop.rack.example" → "shop.rack.example"
    if (suffix === domain || domain.endsWith(`.${suffix}`)) return `${host} would cover the rack's domain ${domain} and every app's default hosts`;
  }
  if (!host.endsWith(`.${domain}`)) return undefined;
  const labels = host.slice(0, -(domain.length + 1)).split('.');
  const owner = labels.at(-1)!;
  if (owner === '*') return `${host} would cover every app's default hosts under ${domain}`;
  return owner === app ? undefined : `hosts under ${owner}.${domain} are reserved for app ${owner}`;
}

/** The first reason `wanted` (service → hosts) cannot be claimed by `app`, or undefined. */
export function claimConflict(registry: DomainRegistry, app: string, wanted: Record<string, string[]>, rackDomain: string): DomainConflict | undefined {
  const others = registry.claims.filter((claim) => claim.app !== app);
  for (const [service, hosts] of Object.entries(wanted)) {
    for (const host of hosts) {
      const reserved = reservedFor(host, app, rackDomain);
      if (reserved) return { code: 'MANIFEST_DOMAIN_RESERVED', service, host, reason: reserved };
      const taken = others.find((claim) => hostsOverlap(claim.host, host));
      if (taken) {
        const owner = `app ${taken.app} (service ${taken.service})`;
        const reason =
          taken.host === host
            ? `${host} is claimed by ${owner}`
            : isWildcard(host) && hostsOverlap(host, taken.host) && !isWildcard(taken.host)
              ? `${host} covers ${taken.host}, claimed by ${owner}`
              : `${host} is covered by ${taken.host}, claimed by ${owner}`;
        return { code: 'MANIFEST_DOMAIN_IN_USE', service, host, reason };
      }
    }
  }
  return undefined;
}

/** The registry's claims with `app`'s replaced by `hosts` (service → hosts); other apps' untouched. */
export function withClaims(registry: DomainRegistry, app: string, hosts: Record<string, string[]>): DomainClaim[] {
  const kept = registry.claims.filter((claim) => claim.app !== app);
  const added = Object.entries(hosts).flatMap(([service, list]) => [...new Set(list)].map((host) => ({ host, app, service })));
  return [...kept, ...added].sort((a, b) => a.host.localeCompare(b.host));
}

/** service → hosts of a manifest's routed services. */
export function hostsOf(manifest: { services: Array<{ name: string; domains: string[] }> } | undefined): Record<string, string[]> {
  const hosts: Record<string, string[]> = {};
  for (const service of manifest?.services ?? []) if (service.domains.length > 0) hosts[service.name] = [...service.domains];
  return hosts;
}

/** Both sets at once: a deploy holds its release's hosts and the current release's until it ends. */
export function unionHosts(a: Record<string, string[]>, b: Record<string, string[]>): Record<string, string[]> {
  const union: Record<string, string[]> = {};
  for (const source of [a, b]) for (const [service, hosts] of Object.entries(source)) union[service] = [...new Set([...(union[service] ?? []), ...hosts])];
  return union;
}

/**
 * ELBv2 tag values allow letters, digits, spaces and `_ . : / = + - @` only (AddTags, Tag.Value
 * pattern `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`): a wildcard host goes into a tag with `*` spelled `_`,
 * which no host name can hold, so the tag still names one host.
 */
export function hostTagValue(host: string): string {
  return host.replace(/\*/g, '_');
}
