/**
 * The bad-input corpus: every way a user's upload can be wrong, as data. Each case builds its object
 * in memory (no binary fixtures). `npx tsx test/corpus/cases.ts OUTDIR` writes them all to OUTDIR,
 * e.g. to try them against a real rack with `aws s3 cp`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildTarball, type TarEntry } from '../support/tarballs.js';

export interface CorpusCase {
  name: string;
  /** the object key under the bucket; default apps/<app>/<case>.tar.gz */
  key?: (app: string) => string;
  body: () => Promise<Buffer>;
  /** key cases: start-deployment ignores the object (no deploy at all), the reason matches */
  ignored?: RegExp;
  /** deploy cases: the execution fails with this code... */
  code?: string;
  /** ...and the message names the entry, key or manifest path at fault */
  names?: RegExp;
  /** an app that must be deployed first (duplicate domains across apps) */
  needs?: { app: string; manifest: string };
}

const DOCKERFILE: TarEntry = { name: 'Dockerfile', body: 'FROM httpd:2.4\nEXPOSE 80\n' };
const good = (...extra: TarEntry[]) => buildTarball([DOCKERFILE, { name: 'index.html', body: 'ok' }, ...extra]);
const manifest = (yaml: string, ...extra: TarEntry[]) => good({ name: 'rackless.yml', body: yaml }, ...extra);
const service = (body: string) => manifest(`services:\n  web:\n${body.replace(/^/gm, '    ')}\n`);

export const CASES: CorpusCase[] = [
  // --- keys: ignored before any deploy starts
  { name: 'uppercase app name', key: () => 'apps/Shop/x.tar.gz', body: () => good(), ignored: /app name "Shop"/ },
  { name: 'app name starting with a digit', key: () => 'apps/1shop/x.tar.gz', body: () => good(), ignored: /app name "1shop"/ },
  { name: 'app name too long', key: () => `apps/${'a'.repeat(31)}/x.tar.gz`, body: () => good(), ignored: /app name/ },
  { name: 'one-letter app name', key: () => 'apps/a/x.tar.gz', body: () => good(), ignored: /app name "a"/ },
  { name: 'nested path segment', key: (app) => `apps/${app}/sub/x.tar.gz`, body: () => good(), ignored: /not of the form/ },
  { name: 'outside apps/', key: (app) => `${app}/x.tar.gz`, body: () => good(), ignored: /not of the form/ },
  { name: 'wrong suffix .zip', key: (app) => `apps/${app}/x.zip`, body: () => good(), ignored: /does not end in \.tar\.gz/ },
  { name: 'wrong suffix .tar', key: (app) => `apps/${app}/x.tar`, body: () => good(), ignored: /does not end in \.tar\.gz/ },
  { name: 'hidden file', key: (app) => `apps/${app}/.x.tar.gz`, body: () => good(), ignored: /hidden/ },
  { name: 'encoded slash in the app name', key: () => 'apps/sh%2Fop/x.tar.gz', body: () => good(), ignored: /not of the form|app name/ },
  { name: 'non-ASCII app name', key: () => 'apps/shöp/x.tar.gz', body: () => good(), ignored: /app name/ },
  // --- archives
  { name: 'zero-byte object', body: async () => Buffer.alloc(0), code: 'TARBALL_EMPTY', names: /\.tar\.gz|empty|0 bytes/ },
  { name: 'plain text', body: async () => Buffer.from('hello, I am not an archive\n'), code: 'TARBALL_NOT_GZIP', names: /gzip/ },
  { name: 'zip renamed to .tar.gz', body: async () => Buffer.from('PK\u0003\u0004\u0014\u0000\u0000\u0000\u0008\u0000 fake zip'), code: 'TARBALL_NOT_GZIP', names: /zip/ },
  { name: 'gzip of non-tar', body: async () => gzipSync(Buffer.from('just some text that is not a tar archive '.repeat(40))), code: 'TARBALL_NOT_TAR', names: /tar/ },
  {
    name: 'truncated gzip',
    body: async () => buildTarball([DOCKERFILE, { name: 'big.bin', body: randomBytes(64 * 1024) }], { truncate: 20_000 }),
    code: 'TARBALL_TRUNCATED',
    names: /truncated|ends|end/,
  },
  {
    name: 'truncated tar inside complete gzip',
    body: async () => gzipSync((await buildTarball([DOCKERFILE, { name: 'big.bin', body: randomBytes(8192) }], { gzip: false })).subarray(0, 3000)),
    code: 'TARBALL_TRUNCATED',
    names: /big\.bin|truncated|end/,
  },
  { name: 'absolute path', body: () => good({ name: '/etc/cron.d/evil', body: 'x' }), code: 'TARBALL_ABSOLUTE_PATH', names: /\/etc\/cron\.d\/evil/ },
  { name: 'parent segment', body: () => good({ name: '../outside.txt', body: 'x' }), code: 'TARBALL_PARENT_PATH', names: /\.\.\/outside\.txt/ },
  { name: 'parent segment in the middle', body: () => good({ name: 'a/../../outside.txt', body: 'x' }), code: 'TARBALL_PARENT_PATH', names: /a\/\.\.\/\.\.\/outside\.txt/ },
  { name: 'symlink escaping the root', body: () => good({ name: 'link', type: 'symlink', linkname: '../../etc/passwd' }), code: 'TARBALL_LINK_ESCAPE', names: /link/ },
  { name: 'absolute symlink', body: () => good({ name: 'passwd', type: 'symlink', linkname: '/etc/passwd' }), code: 'TARBALL_LINK_ESCAPE', names: /passwd/ },
  {
    name: 'symlink chain escaping',
    body: () => good({ name: 'a', type: 'symlink', linkname: '.' }, { name: 'b', type: 'symlink', linkname: 'a/..' }),
    code: 'TARBALL_LINK_ESCAPE',
    names: /"b"|b\b/,
  },
  { name: 'hardlink escaping the root', body: () => good({ name: 'hard', type: 'link', linkname: '../etc/shadow' }), code: 'TARBALL_LINK_ESCAPE', names: /hard/ },
  { name: 'character device', body: () => good({ name: 'dev/null', type: 'character-device' }), code: 'TARBALL_SPECIAL_FILE', names: /dev\/null/ },
  { name: 'block device', body: () => good({ name: 'dev/sda', type: 'block-device' }), code: 'TARBALL_SPECIAL_FILE', names: /dev\/sda/ },
  { name: 'fifo', body: () => good({ name: 'pipe', type: 'fifo' }), code: 'TARBALL_SPECIAL_FILE', names: /pipe/ },
  {
    name: 'PAX long name hiding a parent segment',
    body: () => good({ name: `${'d/'.repeat(60)}../../${'../'.repeat(60)}x.txt`, body: 'x' }),
    code: 'TARBALL_PARENT_PATH',
    names: /x\.txt/,
  },
  // over 255 characters the packer writes a PAX path record, which keeps the leading slash
  { name: 'PAX long absolute name', body: () => good({ name: `/${'long-directory-name/'.repeat(14)}x.txt`, body: 'x' }), code: 'TARBALL_ABSOLUTE_PATH', names: /x\.txt/ },
  { name: 'duplicate entries', body: () => good({ name: 'index.html', body: 'again' }), code: 'TARBALL_DUPLICATE_ENTRY', names: /index\.html/ },
  { name: 'NUL byte in a name', body: () => good({ name: 'bad\u0001name', body: 'x' }), code: 'TARBALL_BAD_NAME', names: /bad/ },
  {
    name: 'too many entries',
    body: () => good(...Array.from({ length: 1100 }, (_, i) => ({ name: `f/${i}.txt`, body: '' }))),
    code: 'TARBALL_TOO_MANY_ENTRIES',
    names: /1000|entries/,
  },
  { name: 'gzip bomb by ratio', body: () => good({ name: 'zeros.bin', size: 6 * 1024 * 1024 }), code: 'TARBALL_RATIO', names: /zeros\.bin|ratio/ },
  { name: 'gzip bomb by size', body: () => good({ name: 'random.bin', body: randomBytes(9 * 1024 * 1024) }), code: 'TARBALL_TOO_LARGE', names: /random\.bin|bytes/ },
  {
    name: 'Dockerfile over the capture limit',
    body: () => buildTarball([{ name: 'Dockerfile', body: `FROM x\n${'# comment\n'.repeat(30_000)}` }]),
    code: 'TARBALL_CAPTURE_TOO_LARGE',
    names: /Dockerfile/,
  },
  // --- manifests
  { name: 'invalid YAML', body: () => manifest('services: [unclosed'), code: 'MANIFEST_YAML', names: /line \d+|\d+:\d+/ },
  {
    name: 'alias bomb',
    body: () =>
      manifest(
        [
          'a: &a [x, x, x, x, x, x, x, x, x]',
          ...Array.from(
            { length: 8 },
            (_, i) =>
              `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`,
          ),
          'services: {web: {build: .}}',
        ].join('\n'),
      ),
    code: 'MANIFEST_ALIAS_BOMB',
    names: /alias/,
  },
  { name: 'duplicate keys', body: () => manifest('services:\n  web:\n    build: .\n  web:\n    image: x\n'), code: 'MANIFEST_DUPLICATE_KEY', names: /services\.web|web/ },
  { name: 'unknown top-level key', body: () => manifest('servces:\n  web:\n    build: .\n'), code: 'MANIFEST_UNKNOWN_KEY', names: /servces/ },
  { name: 'unknown service key', body: () => service('build: .\nhelth: /'), code: 'MANIFEST_UNKNOWN_KEY', names: /services\.web\.helth/ },
  { name: 'wrong type for count', body: () => service('build: .\nscale: {count: two}'), code: 'MANIFEST_TYPE', names: /services\.web\.scale\.count/ },
  { name: 'wrong type for services', body: () => manifest('services: [web]'), code: 'MANIFEST_TYPE', names: /services/ },
  { name: 'port out of range', body: () => service('build: .\nport: 70000'), code: 'MANIFEST_PORT', names: /services\.web\.port/ },
  { name: 'port zero', body: () => service('build: .\nport: 0'), code: 'MANIFEST_PORT', names: /services\.web\.port/ },
  { name: 'cpu ECS refuses', body: () => service('build: .\nscale: {cpu: 64}'), code: 'MANIFEST_CPU_MEMORY', names: /services\.web\.scale\.cpu/ },
  { name: 'memory ECS refuses', body: () => service('build: .\nscale: {memory: 4}'), code: 'MANIFEST_CPU_MEMORY', names: /services\.web\.scale\.memory/ },
  {
    name: 'health timeout not below interval',
    body: () => service('build: .\nport: 80\nhealth: {interval: 5, timeout: 5}'),
    code: 'MANIFEST_HEALTH',
    names: /services\.web\.health/,
  },
  {
    name: 'domain used by another app',
    needs: { app: 'owner', manifest: 'services:\n  web:\n    image: httpd:2.4\n    port: 80\n    domain: taken.example.com\n' },
    body: () => service('build: .\nport: 80\ndomain: taken.example.com'),
    code: 'MANIFEST_DOMAIN_IN_USE',
    names: /services\.web\.domain.*taken\.example\.com/,
  },
  {
    name: 'same domain on two services',
    body: () => manifest('services:\n  a:\n    image: x\n    port: 80\n    domain: d.example.com\n  b:\n    image: y\n    port: 80\n    domain: d.example.com\n'),
    code: 'MANIFEST_DOMAIN',
    names: /d\.example\.com/,
  },
  { name: 'invalid host name', body: () => service('build: .\nport: 80\ndomain: "bad host!"'), code: 'MANIFEST_DOMAIN', names: /services\.web\.domain/ },
  {
    name: 'secret that is a plaintext value',
    body: () => service('build: .\nsecrets: {DB_PASSWORD: "hunter2 is my password"}'),
    code: 'MANIFEST_SECRET',
    names: /services\.web\.secrets\.DB_PASSWORD/,
  },
  { name: 'service with neither build nor image', body: () => service('port: 80'), code: 'MANIFEST_NO_SOURCE', names: /services\.web/ },
  { name: 'service with both build and image', body: () => service('build: .\nimage: httpd:2.4'), code: 'MANIFEST_BOTH_SOURCES', names: /services\.web/ },
  { name: 'invalid service name', body: () => manifest('services:\n  Web_1:\n    build: .\n'), code: 'MANIFEST_SERVICE_NAME', names: /Web_1/ },
  { name: 'no services', body: () => manifest('services: {}'), code: 'MANIFEST_NO_SERVICES', names: /services/ },
  {
    name: 'Dockerfile missing for a build service',
    body: () =>
      buildTarball([
        { name: 'rackless.yml', body: 'services:\n  web:\n    build: .\n' },
        { name: 'index.html', body: 'x' },
      ]),
    code: 'DOCKERFILE_MISSING',
    names: /Dockerfile/,
  },
  { name: 'no manifest and no Dockerfile', body: () => buildTarball([{ name: 'index.html', body: 'x' }]), code: 'DOCKERFILE_MISSING', names: /Dockerfile/ },
  { name: 'build context missing', body: () => manifest('services:\n  api:\n    build: api\n'), code: 'BUILD_CONTEXT_MISSING', names: /services\.api\.build|api/ },
  { name: 'build path escaping the root', body: () => manifest('services:\n  web:\n    build: ../elsewhere\n'), code: 'MANIFEST_PATH', names: /services\.web\.build/ },
  // --- the rack's limits on one manifest (shared/manifest/limits.ts), each with its code and the limit
  {
    name: 'too many services',
    body: () => manifest(`services:\n${Array.from({ length: 21 }, (_, i) => `  s${i}:\n    build: .\n`).join('')}`),
    code: 'MANIFEST_TOO_MANY_SERVICES',
    names: /services: 21 services; an app may have at most 20/,
  },
  {
    name: 'too many domains on one service',
    body: () => service(`build: .\nport: 80\ndomain:\n${Array.from({ length: 11 }, (_, i) => `  - d${i}.corpus.example.com\n`).join('')}`),
    code: 'MANIFEST_TOO_MANY_DOMAINS',
    names: /services\.web\.domain: 11 domains; a service may have at most 10/,
  },
  {
    name: 'too many secrets on one service',
    body: () => service(`build: .\nsecrets:\n${Array.from({ length: 41 }, (_, i) => `  S${i}: s${i}\n`).join('')}`),
    code: 'MANIFEST_TOO_MANY_SECRETS',
    names: /services\.web\.secrets: 41 secrets; a service may have at most 40/,
  },
  {
    name: 'rendered environment over 32 KiB',
    // 40 × 1 KB fits the task definition's 64 KiB but not the environment's half of it
    body: () => service(`build: .\nenvironment:\n${Array.from({ length: 40 }, (_, i) => `  - V${i}=${'x'.repeat(1000)}\n`).join('')}`),
    code: 'MANIFEST_ENVIRONMENT_TOO_LARGE',
    names: /services\.web\.environment: the rendered environment .* is 40,\d{3} bytes; a service may have at most 32,768/,
  },
  // --- rollouts that cannot end within the rack's cap (shared/rollout/deadline.ts)
  {
    name: 'rollout longer than the deadline cap (interval 300, healthy 10, deregistration delay 3600)',
    body: () => service('build: .\nport: 80\nhealth: {interval: 300, timeout: 120, healthy: 10}\nderegistrationDelay: 3600'),
    code: 'MANIFEST_ROLLOUT_TOO_LONG',
    names: /services\.web: a healthy rollout may take 2 × 1 batch × \(60 s start \+ 3,030 s to healthy .* = 13,400 s, more than the rack allows a rollout \(1,800 s/,
  },
  {
    name: 'deployment settings ECS can never roll out',
    body: () => service('build: .\nscale: {count: 1}\ndeployment: {minimum: 50, maximum: 150}'),
    code: 'MANIFEST_ROLLOUT_STUCK',
    names: /services\.web\.deployment: with count 1, minimum 50 keeps 1 task running and maximum 150 allows 1/,
  },
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: npx tsx test/corpus/cases.ts OUTDIR');
  await mkdir(out, { recursive: true });
  for (const c of CASES) {
    const file = join(out, `${c.name.replace(/[^a-z0-9]+/gi, '-')}${c.ignored ? '.key' : ''}.tar.gz`);
    await writeFile(file, await c.body());
    console.log(`${c.code ?? 'ignored'}\t${file}`);
  }
}
