import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RegistryOptions } from '../shared/images/resolve.js';

/**
 * The public registries (Docker Hub, ghcr.io, …) a local rack cannot reach: one server on
 * 127.0.0.1 that speaks the Docker Registry HTTP API V2 with the same bearer-token challenge Docker
 * Hub sends, and knows every image — each tag's digest is a hash of the reference, so a
 * deploy pins the same digest every time until a test moves the tag. The functions' resolver reaches
 * it through host mappings (the real client code, only the host differs). A test can make an image
 * missing, or move a tag to new bytes.
 */
export class LocalRegistry {
  private server?: Server;
  private port = 0;
  private readonly missing = new Set<string>();
  private readonly moved = new Map<string, number>();
  /** every manifest request: `<repository>:<reference>` */
  readonly requests: string[] = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://registry.local');
      if (url.pathname === '/token') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'local-anonymous' }));
        return;
      }
      if (req.headers.authorization !== 'Bearer local-anonymous') {
        const scope = /^\/v2\/(.+)\/manifests\//.exec(url.pathname)?.[1] ?? '';
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://auth.docker.io/token",service="registry.docker.io",scope="repository:${scope}:pull"` }).end();
        return;
      }
      const match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
      if (!match) {
        res.writeHead(404).end();
        return;
      }
      const [, repository, reference] = match as unknown as [string, string, string];
      this.requests.push(`${repository}:${reference}`);
      if (this.missing.has(`${repository}:${reference}`)) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
        return;
      }
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: {
          mediaType: 'application/vnd.docker.container.image.v1+json',
          size: 1,
          digest: `sha256:${hash(`${repository}:${reference}#${this.moved.get(`${repository}:${reference}`) ?? 0}`)}`,
        },
        layers: [],
      });
      res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json', 'docker-content-digest': `sha256:${hash(body)}` }).end(body);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    // a rack has no stop: the registry must not keep its process alive
    this.server.unref();
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** How the functions' resolver reaches this registry in place of every public one. */
  get options(): RegistryOptions {
    return { hostMappings: [[/^(?!\d{12}\.dkr\.ecr)/, `127.0.0.1:${this.port}`]], protocol: 'http:', timeoutMs: 5000 };
  }

  /** `library/httpd:9.9` answers 404 from now on. */
  remove(repositoryAndTag: string): void {
    this.missing.add(repositoryAndTag);
  }

  /** Someone pushed new bytes under this tag: its digest changes. */
  move(repositoryAndTag: string): void {
    this.moved.set(repositoryAndTag, (this.moved.get(repositoryAndTag) ?? 0) + 1);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex');
