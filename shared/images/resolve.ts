import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { getManifest } from '@snyk/docker-registry-v2-client';
import { ManifestInvalid } from '../errors.js';
import { ecrRegistry, parseImageReference, pinned } from './reference.js';

/**
 * Turns an image reference into the digest it names now, so a release runs the bytes it was
 * deployed with however its tag moves later. The answer is `name@sha256:…`; a reference that is
 * already pinned by digest is returned as it is.
 */
export interface ImageResolver {
  pin(reference: string): Promise<string>;
}

/** Digest of an image in an ECR repository of this region (DescribeImages by tag; `registryId` is the repository's account). */
export async function ecrDigest(ecr: ECRClient, repository: string, tag: string, registryId?: string): Promise<string | undefined> {
  try {
    const found = await ecr.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }], ...(registryId ? { registryId } : {}) }));
    return found.imageDetails?.[0]?.imageDigest;
  } catch (error) {
    if ((error as Error).name === 'ImageNotFoundException' || (error as Error).name === 'RepositoryNotFoundException') return undefined;
    throw error;
  }
}

export interface RegistryOptions {
  /** e.g. `[['registry-1.docker.io', '127.0.0.1:5000']]`: where a registry host is really reached */
  hostMappings?: Array<[RegExp | string, string]>;
  /** `http:` for a test registry; `https:` otherwise */
  protocol?: string;
  timeoutMs?: number;
}

/**
 * Images of ECR in the rack's region (read with ECR's API and the function's role), and of any other
 * registry by the Docker Registry HTTP API V2 (anonymous pull token, the way `docker pull` gets one):
 * `@snyk/docker-registry-v2-client`. A multi-platform image is pinned by its index digest, so each
 * container instance still pulls its own platform's image.
 */
export function imageResolver(args: { ecr: ECRClient; region: string; registry?: RegistryOptions }): ImageResolver {
  return {
    async pin(reference: string): Promise<string> {
      const ref = parseImageReference(reference);
      if (ref.digest) return reference;
      const tag = ref.tag ?? 'latest';
      const ecr = ecrRegistry(ref.registry);
      if (ecr) {
        // ECR wants signed requests: another region's registry would need a client of its own
        if (ecr.region !== args.region) throw notFound(reference, `it is in ECR of region ${ecr.region}, not the rack's ${args.region}; name it by digest (…@sha256:…)`);
        const digest = await ecrDigest(args.ecr, ref.repository, tag, ecr.account);
        if (!digest) throw notFound(reference, `ECR has no image tagged ${tag} in repository ${ref.repository}`);
        return pinned(reference, digest);
      }
      let manifest: Awaited<ReturnType<typeof getManifest>>;
      try {
        manifest = await getManifest(ref.registry, ref.repository, tag, undefined, undefined, {
          ...(args.registry?.hostMappings ? { hostMappings: args.registry.hostMappings } : {}),
          ...(args.registry?.protocol ? { protocol: args.registry.protocol } : {}),
          timeout: args.registry?.timeoutMs ?? 10_000,
        });
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        if (status === 404 || status === 401 || status === 403) throw notFound(reference, `${ref.registry} answered ${status} for ${ref.repository}:${tag}`);
        throw error;
      }
      const digest = manifest?.indexDigest ?? manifest?.manifestDigest;
      if (!digest) throw notFound(reference, `${ref.registry} gave no digest for ${ref.repository}:${tag}`);
      return pinned(reference, digest);
    },
  };
}

export function notFound(reference: string, why: string): ManifestInvalid {
  return new ManifestInvalid('MANIFEST_IMAGE', `image ${reference} cannot be pinned to a digest: ${why}`, { image: reference });
}
