import { createHash } from 'node:crypto';

/**
 * The digest a tag names now, from any registry speaking the Docker Registry HTTP API V2 (OCI
 * Distribution Specification, "Pulling manifests"): one `HEAD /v2/<name>/manifests/<tag>`, whose
 * `Docker-Content-Digest` header is the digest of the manifest (or index) the tag points at. A 401
 * with a `Bearer` challenge is answered the way `docker pull` answers it (Docker's "Token
 * Authentication Specification"): an anonymous token from the challenge's realm, then the request
 * again. Docker Hub does not count HEAD requests against its pull rate limit.
 *
 * Written here rather than taken from a registry client library: the one well-kept client
 * (@snyk/docker-registry-v2-client) brings needle and the public suffix list, 700 KB more in both
 * functions that pin images, for one HEAD request and one token request.
 */
export interface RegistryOptions {
  /** e.g. `[[/docker\.io$/, '127.0.0.1:5000']]`: where a registry (or token) host is really reached */
  hostMappings?: Array<[RegExp | string, string]>;
  /** `http:` for a test registry; `https:` otherwise */
  protocol?: 'http:' | 'https:';
  timeoutMs?: number;
}

export type DigestLookup = { digest: string } | { missing: string };

// a multi-platform index first: pinning it lets each container instance pull its own platform
const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function mapped(url: URL, options: RegistryOptions): URL {
  const out = new URL(url);
  if (options.protocol) out.protocol = options.protocol;
  const mapping = options.hostMappings?.find(([matcher]) => (typeof matcher === 'string' ? out.host === matcher : matcher.test(out.host)));
  if (mapping) out.host = mapping[1];
  return out;
}

/** `Bearer realm="…",service="…",scope="…"` → its parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const scheme = header.trim().split(/\s+/, 1)[0]!.toLowerCase();
  const params: Record<string, string> = {};
  for (const match of header.slice(scheme.length).matchAll(/([a-zA-Z]+)="([^"]*)"/g)) params[match[1]!.toLowerCase()] = match[2]!;
  return { scheme, params };
}

async function anonymousToken(challenge: string, options: RegistryOptions, signal: AbortSignal): Promise<string | undefined> {
  const { scheme, params } = parseChallenge(challenge);
  if (scheme !== 'bearer' || !params.realm) return undefined;
  const realm = new URL(params.realm);
  // no credentials go out, but the request must not be steered to a plain-HTTP host
  if (realm.protocol !== 'https:' && options.protocol !== 'http:') return undefined;
  if (params.service) realm.searchParams.set('service', params.service);
  if (params.scope) realm.searchParams.set('scope', params.scope);
  const res = await fetch(mapped(realm, options), { signal });
  if (!res.ok) return undefined;
  const body = (await res.json()) as { token?: string; access_token?: string };
  return body.token ?? body.access_token;
}

export async function manifestDigest(registry: string, repository: string, tag: string, options: RegistryOptions = {}): Promise<DigestLookup> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const url = mapped(new URL(`https://${registry}/v2/${repository}/manifests/${encodeURIComponent(tag)}`), options);
  let authorization: string | undefined;
  const request = (method: 'HEAD' | 'GET') => fetch(url, { method, headers: { accept: ACCEPT, ...(authorization ? { authorization } : {}) }, signal });
  let res = await request('HEAD');
  if (res.status === 401) {
    const token = await anonymousToken(res.headers.get('www-authenticate') ?? '', options, signal);
    if (!token) return { missing: `${registry} wants credentials for ${repository}` };
    authorization = `Bearer ${token}`;
    res = await request('HEAD');
  }
  if (res.status === 404 || res.status === 401 || res.status === 403) return { missing: `${registry} answered ${res.status} for ${repository}:${tag}` };
  if (!res.ok) throw new Error(`${registry} answered ${res.status} ${res.statusText} for ${repository}:${tag}`);
  const digest = res.headers.get('docker-content-digest');
  if (digest && DIGEST.test(digest)) return { digest };
  // a registry that leaves the header out: the digest is the hash of the manifest's bytes
  const body = Buffer.from(await (await request('GET')).arrayBuffer());
  return { digest: `sha256:${createHash('sha256').update(body).digest('hex')}` };
}
