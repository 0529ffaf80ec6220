import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { ManifestInvalid } from '../errors.js';
import { ecrRegistry, parseImageReference, pinned } from './reference.js';
import { manifestDigest, type RegistryOptions } from './registry.js';

export type { RegistryOptions } from './registry.js';

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

/**
 * Images of ECR in the rack's region (read with ECR's API and the function's role), and of any other
 * registry by the Docker Registry HTTP API V2 (shared/images/registry.ts: one HEAD, with an anonymous
 * pull token the way `docker pull` gets one). A multi-platform image is pinned by its index digest,
 * so each container instance still pulls its own platform's image.
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
      const found = await manifestDigest(ref.registry, ref.repository, tag, args.registry);
      if ('missing' in found) throw notFound(reference, found.missing);
      return pinned(reference, found.digest);
    },
  };
}

export function notFound(reference: string, why: string): ManifestInvalid {
  return new ManifestInvalid('MANIFEST_IMAGE', `image ${reference} cannot be pinned to a digest: ${why}`, { image: reference });
}
