import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManifestInvalid } from '../../shared/errors.js';
import { imageResolver } from '../../shared/images/resolve.js';
import { ecrRegistry, parseImageReference, pinned } from '../../shared/images/reference.js';
import { parseChallenge } from '../../shared/images/registry.js';

describe('parseImageReference', () => {
  it.each([
    ['httpd:2.4', { registry: 'registry-1.docker.io', repository: 'library/httpd', name: 'httpd', tag: '2.4' }],
    ['httpd', { registry: 'registry-1.docker.io', repository: 'library/httpd', name: 'httpd' }],
    ['bitnami/redis:7.2', { registry: 'registry-1.docker.io', repository: 'bitnami/redis', name: 'bitnami/redis', tag: '7.2' }],
    ['docker.io/library/php:8-apache', { registry: 'registry-1.docker.io', repository: 'library/php', name: 'docker.io/library/php', tag: '8-apache' }],
    ['ghcr.io/owner/app:v1', { registry: 'ghcr.io', repository: 'owner/app', name: 'ghcr.io/owner/app', tag: 'v1' }],
    ['localhost:5000/app', { registry: 'localhost:5000', repository: 'app', name: 'localhost:5000/app' }],
    [
      `123456789012.dkr.ecr.us-east-1.amazonaws.com/base/node:20@sha256:${'a'.repeat(64)}`,
      {
        registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
        repository: 'base/node',
        name: '123456789012.dkr.ecr.us-east-1.amazonaws.com/base/node',
        tag: '20',
        digest: `sha256:${'a'.repeat(64)}`,
      },
    ],
  ])('%s', (reference, expected) => {
    expect(parseImageReference(reference)).toEqual(expected);
  });

  it('pins a name by digest, dropping the tag, and knows ECR registries', () => {
    expect(pinned('httpd:2.4', 'sha256:abc')).toBe('httpd@sha256:abc');
    expect(ecrRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toEqual({ account: '123456789012', region: 'eu-west-1' });
    expect(ecrRegistry('ghcr.io')).toBeUndefined();
  });
});

/**
 * A registry speaking the Docker Registry HTTP API V2 with bearer-token auth (the flow Docker Hub
 * uses), on 127.0.0.1: the resolver's real code path, with the registry host mapped onto it.
 */
describe('parseChallenge', () => {
  it("reads Docker Hub's Bearer challenge", () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/httpd:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/httpd:pull' },
    });
  });
});

describe('imageResolver against a token-auth registry', () => {
  let server: Server;
  let port = 0;
  const requests: string[] = [];
  const platformManifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { digest: 'sha256:c', size: 1 },
    layers: [],
  });
  const platformDigest = `sha256:${createHash('sha256').update(platformManifest).digest('hex')}`;
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifests: [
      {
        digest: platformDigest,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        size: platformManifest.length,
        platform: { os: 'linux', architecture: 'amd64' },
      },
    ],
  });
  const indexDigest = `sha256:${createHash('sha256').update(index).digest('hex')}`;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.url?.startsWith('/token')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'anonymous-pull' }));
        return;
      }
      if (req.headers.authorization !== 'Bearer anonymous-pull') {
        res
          .writeHead(401, {
            'www-authenticate': 'Bearer realm="http://auth.docker.io/token",service="registry.docker.io",scope="repository:library/httpd:pull"', // Docker Hub's own challenge: the token comes from auth.docker.io
          })
          .end();
        return;
      }
      if (req.url === '/v2/library/httpd/manifests/2.4') {
        res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.list.v2+json', 'docker-content-digest': indexDigest }).end(index);
        return;
      }
      if (req.url === `/v2/library/httpd/manifests/${platformDigest}`) {
        res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json', 'docker-content-digest': platformDigest }).end(platformManifest);
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const resolver = () =>
    imageResolver({
      ecr: new ECRClient({ region: 'us-east-1' }),
      region: 'us-east-1',
      registry: { hostMappings: [[/(^|\.)docker\.io$/, `127.0.0.1:${port}`]], protocol: 'http:', timeoutMs: 5000 },
    });

  it('pins a multi-platform Docker Hub image by its index digest, after the anonymous token dance', async () => {
    expect(await resolver().pin('httpd:2.4')).toBe(`httpd@${indexDigest}`);
    expect(requests).toContain('HEAD /v2/library/httpd/manifests/2.4');
    expect(requests.filter((r) => r.startsWith('GET /v2/'))).toEqual([]);
    expect(requests.some((r) => r.startsWith('GET /token'))).toBe(true);
  });

  it('leaves a reference that is already pinned as it is, asking no registry', async () => {
    const before = requests.length;
    expect(await resolver().pin(`httpd@${indexDigest}`)).toBe(`httpd@${indexDigest}`);
    expect(requests.length).toBe(before);
  });

  it('fails with MANIFEST_IMAGE for a tag the registry does not have', async () => {
    const error = await resolver()
      .pin('httpd:9.9')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManifestInvalid);
    expect((error as Error).message).toMatch(/^MANIFEST_IMAGE: image httpd:9\.9 cannot be pinned to a digest: registry-1\.docker\.io answered 404/);
  });
});
