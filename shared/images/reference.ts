/**
 * Docker image references, split the way Docker does (distribution/reference, "normalize"): the
 * first path component is a registry when it holds a `.` or a `:` or is `localhost`; otherwise the
 * image is on Docker Hub (`registry-1.docker.io`), and a one-component name is under `library/`.
 * Pure.
 */
export interface ImageReference {
  /** registry host[:port], e.g. registry-1.docker.io, 123456789012.dkr.ecr.us-east-1.amazonaws.com */
  registry: string;
  /** the repository as the registry names it: library/httpd, shop/web */
  repository: string;
  /** the name as written, without tag and digest: httpd, ghcr.io/x/y */
  name: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'registry-1.docker.io';

export function parseImageReference(reference: string): ImageReference {
  const at = reference.indexOf('@');
  const digest = at === -1 ? undefined : reference.slice(at + 1);
  const withoutDigest = at === -1 ? reference : reference.slice(0, at);
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const tag = colon > lastSlash ? withoutDigest.slice(colon + 1) : undefined;
  const name = colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
  const [first, ...rest] = name.split('/');
  const isRegistry = rest.length > 0 && (first!.includes('.') || first!.includes(':') || first === 'localhost');
  const registry = isRegistry ? (first === 'docker.io' || first === 'index.docker.io' ? DOCKER_HUB : first!) : DOCKER_HUB;
  const path = isRegistry ? rest.join('/') : name;
  const repository = registry === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path;
  return { registry, repository, name, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `name@sha256:…`: the form a task definition pins an image by (ECS ContainerDefinition.image: `repository-url/image@digest`). */
export function pinned(reference: string, digest: string): string {
  return `${parseImageReference(reference).name}@${digest}`;
}

// <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]
const ECR_REGISTRY = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/** The account and region of an ECR registry host, or undefined for any other registry. */
export function ecrRegistry(registry: string): { account: string; region: string } | undefined {
  const match = ECR_REGISTRY.exec(registry);
  return match ? { account: match[1]!, region: match[2]! } : undefined;
}

/** The longest a pinned reference of this name can be: what Prepare sizes a task definition with. */
export function pinnedPlaceholder(reference: string): string {
  return pinned(reference, `sha256:${'0'.repeat(64)}`);
}
