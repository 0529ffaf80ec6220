import { describe, expect, it } from 'vitest';
import { ManifestInvalid } from '../../../shared/errors.js';
import { MANIFEST_LIMITS } from '../../../shared/manifest/limits.js';
import { parseManifest, type ManifestContext } from '../../../shared/manifest/parse.js';

const ctx = (): ManifestContext => ({
  app: 'shop',
  owner: { rack: 'prod', ecrPrefix: 'prod', account: '123456789012', region: 'us-east-1', secretsManager: true },
  rackDomain: 'rack.example.com',
  files: {
    Dockerfile: 'FROM node:22-alpine\nWORKDIR /app\nCOPY . .\nEXPOSE 3000\nCMD ["node", "server.js"]\n',
    'api/Dockerfile.prod': 'FROM python:3.12-slim\nEXPOSE 8000\n',
  },
  paths: ['Dockerfile', 'server.js', 'package.json', 'api/Dockerfile.prod', 'api/app.py', 'README'],
});

function rejection(text: string | undefined, context: ManifestContext = ctx()): ManifestInvalid {
  try {
    parseManifest(text, context);
  } catch (error) {
    if (error instanceof ManifestInvalid) return error;
    throw error;
  }
  throw new Error('expected parseManifest to throw ManifestInvalid');
}

const TWO_SERVICES = `
environment:
  - NODE_ENV=production
  - DATABASE_URL
services:
  web:
    build: .
    command: npm start
    port: 3000
    domain: [www.example.com, Shop.Example.com]
    health: {path: /healthz, interval: 10, timeout: 5, grace: 60, healthy: 3, unhealthy: 4, codes: "200-299"}
    scale: {count: 2, cpu: 512, memory: 1024}
    deployment: {minimum: 100, maximum: 200}
    environment: [NODE_ENV=staging, FEATURE_X=on]
    secrets:
      DB_PASSWORD: /rackless/prod/shop/db-password
      STRIPE_KEY: arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe-AbCdEf
    deregistrationDelay: 10
    termination: {grace: 45}
    alarms: {cpu: 80, http5xx: 25}
  api:
    build:
      path: api
      manifest: Dockerfile.prod
    command: [gunicorn, -b, "0.0.0.0:8000", app:app]
    port: 8000
    health: /ping
`;

const IMAGE_ONLY = `
services:
  web:
    image: httpd:2.4
    port: 80
  worker:
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/jobs@sha256:${'a'.repeat(64)}
    command: ./run-jobs
`;

describe('parseManifest', () => {
  describe('without a manifest', () => {
    it('builds one web service from ./Dockerfile with the port of its first EXPOSE and every default', () => {
      const manifest = parseManifest(undefined, ctx());

      expect(manifest.services).toEqual([
        {
          name: 'web',
          build: { context: '.', dockerfile: 'Dockerfile' },
          port: 3000,
          domains: ['web.shop.rack.example.com'],
          health: { path: '/', interval: 5, timeout: 4, grace: 30, healthy: 2, unhealthy: 2, codes: '200-399' },
          scale: { count: 1, cpu: 256, memory: 512 },
          deployment: { minimum: 50, maximum: 200 },
          environment: [],
          secrets: {},
          deregistrationDelay: 10,
          stopTimeout: 10,
          alarms: { cpu: 90, memory: 90, http5xx: 10, unhealthy: 1 },
        },
      ]);
    });

    it('gives the service no port and no domain when the Dockerfile exposes none', () => {
      const context = { ...ctx(), files: { Dockerfile: 'FROM alpine\nCMD ["sleep", "infinity"]\n' } };

      const [web] = parseManifest(undefined, context).services;

      expect(web?.port).toBeUndefined();
      expect(web?.domains).toEqual([]);
    });

    it('uses the rack deregistration delay', () => {
      const [web] = parseManifest(undefined, { ...ctx(), deregistrationDelay: 5 }).services;

      expect(web?.deregistrationDelay).toBe(5);
    });

    it('fails with DOCKERFILE_MISSING naming ./Dockerfile when the tarball has none', () => {
      const error = rejection(undefined, { ...ctx(), files: {}, paths: ['index.html'] });

      expect(error.code).toBe('DOCKERFILE_MISSING');
      expect(error.message).toContain('services.web.build:');
      expect(error.message).toContain('"Dockerfile"');
    });
  });

  describe('a two-service app with domains', () => {
    it('resolves each key and fills in what is left out', () => {
      const [web, api] = parseManifest(TWO_SERVICES, ctx()).services;

      expect(web).toMatchObject({
        name: 'web',
        build: { context: '.', dockerfile: 'Dockerfile' },
        command: ['sh', '-c', 'npm start'],
        port: 3000,
        domains: ['www.example.com', 'shop.example.com'],
        health: { path: '/healthz', interval: 10, timeout: 5, grace: 60, healthy: 3, unhealthy: 4, codes: '200-299' },
        scale: { count: 2, cpu: 512, memory: 1024 },
        deployment: { minimum: 100, maximum: 200 },
        deregistrationDelay: 10,
        stopTimeout: 45,
        alarms: { cpu: 80, memory: 90, http5xx: 25, unhealthy: 1 },
        secrets: {
          DB_PASSWORD: '/rackless/prod/shop/db-password',
          STRIPE_KEY: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe-AbCdEf',
        },
      });
      // a service entry replaces the app-wide one of the same name
      expect(web?.environment).toEqual(['NODE_ENV=staging', 'DATABASE_URL', 'FEATURE_X=on']);
      expect(api).toMatchObject({
        name: 'api',
        build: { context: 'api', dockerfile: 'api/Dockerfile.prod' },
        command: ['gunicorn', '-b', '0.0.0.0:8000', 'app:app'],
        port: 8000,
        domains: ['api.shop.rack.example.com'],
        health: { path: '/ping', interval: 5, timeout: 4, codes: '200-399' },
        environment: ['NODE_ENV=production', 'DATABASE_URL'],
        secrets: {},
        deregistrationDelay: 10,
        stopTimeout: 10,
      });
      expect(api?.health.command).toBeUndefined();
    });
  });

  describe('an image-only app', () => {
    it('needs no Dockerfile and leaves a portless worker without domains', () => {
      const [web, worker] = parseManifest(IMAGE_ONLY, { ...ctx(), files: {}, paths: [] }).services;

      expect(web).toMatchObject({ image: 'httpd:2.4', port: 80, domains: ['web.shop.rack.example.com'] });
      expect(web?.build).toBeUndefined();
      expect(worker).toMatchObject({ command: ['sh', '-c', './run-jobs'], domains: [] });
      expect(worker?.port).toBeUndefined();
    });
  });

  it('does not take a port from EXPOSE when a manifest service leaves port out', () => {
    const [web] = parseManifest('services:\n  web:\n    build: .\n', ctx()).services;

    expect(web?.port).toBeUndefined();
    expect(web?.domains).toEqual([]);
  });

  it.each([
    ['./api/', 'Dockerfile.prod', { context: 'api', dockerfile: 'api/Dockerfile.prod' }],
    ['api', '../Dockerfile', { context: 'api', dockerfile: 'Dockerfile' }],
    ['.', 'api/Dockerfile.prod', { context: '.', dockerfile: 'api/Dockerfile.prod' }],
  ])('normalises build path %s with manifest %s', (path, dockerfile, expected) => {
    const text = `services:\n  web:\n    build: {path: "${path}", manifest: "${dockerfile}"}\n`;

    const [web] = parseManifest(text, ctx()).services;

    expect(web?.build).toEqual(expected);
  });

  it.each([
    ['a list', '[CMD, /bin/healthcheck]', ['CMD', '/bin/healthcheck']],
    ['exec words', '[/bin/healthcheck, --quiet]', ['CMD', '/bin/healthcheck', '--quiet']],
    ['a shell string', '"curl -f http://localhost/ || exit 1"', ['CMD-SHELL', 'curl -f http://localhost/ || exit 1']],
  ])('reads health.command given as %s', (_, yaml, expected) => {
    const text = `services:\n  web:\n    image: httpd:2.4\n    health: {command: ${yaml}}\n`;

    const [web] = parseManifest(text, ctx()).services;

    expect(web?.health.command).toEqual(expected);
  });

  it.each([
    ['codes as a number', 'codes: 200', { codes: '200' }],
    ['a list of codes', 'codes: "200,302"', { codes: '200,302' }],
    ['the ALB maximum interval', 'interval: 300, timeout: 120', { interval: 300, timeout: 120 }],
  ])('accepts health with %s', (_, fields, expected) => {
    const text = `services:\n  web:\n    image: httpd:2.4\n    port: 80\n    health: {${fields}}\n`;

    const [web] = parseManifest(text, ctx()).services;

    expect(web?.health).toMatchObject(expected);
  });

  it.each([
    ['/rackless/prod/shop/db', '/rackless/prod/shop/db'],
    ['db-password', '/rackless/prod/shop/db-password'],
    ['arn:aws:ssm:us-east-1:123456789012:parameter/rackless/prod/shop/db', 'arn:aws:ssm:us-east-1:123456789012:parameter/rackless/prod/shop/db'],
    ['arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password::', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password::'],
  ])('accepts the secret reference %s as %s', (reference, resolved) => {
    const text = `services:\n  web:\n    image: httpd:2.4\n    secrets: {DB: "${reference}"}\n`;

    const [web] = parseManifest(text, ctx()).services;

    expect(web?.secrets).toEqual({ DB: resolved });
  });

  it.each([
    ["another app's parameter", '/rackless/prod/cart/db', "/rackless/prod/cart/db is app cart's parameter; the app's tasks read only parameters under /rackless/prod/shop/"],
    ['a parameter outside the app', '/shared/db', "/shared/db is outside the app's parameters; the app's tasks read only parameters under /rackless/prod/shop/"],
    ['another rack’s parameter', '/rackless/staging/shop/db', "/rackless/staging/shop/db is outside the app's parameters"],
    ["another account's parameter", 'arn:aws:ssm:us-east-1:999999999999:parameter/rackless/prod/shop/db', 'is a parameter of account 999999999999'],
    ["another region's parameter", 'arn:aws:ssm:eu-west-1:123456789012:parameter/rackless/prod/shop/db', 'is a parameter of region eu-west-1'],
    ["another app's parameter by ARN", 'arn:aws:ssm:us-east-1:123456789012:parameter/rackless/prod/cart/db', "is app cart's parameter"],
    ["another account's secret", 'arn:aws:secretsmanager:us-east-1:999999999999:secret:db-AbCdEf', 'is a secret of account 999999999999'],
  ])('refuses %s with MANIFEST_SECRET, naming why', (_label, reference, message) => {
    const error = rejection(`services:\n  web:\n    image: httpd:2.4\n    secrets: {DB: "${reference}"}\n`);

    expect(error.code).toBe('MANIFEST_SECRET');
    expect(error.message).toContain(`services.web.secrets.DB: `);
    expect(error.message).toContain(message);
  });

  it('refuses a Secrets Manager secret on a rack that does not allow them', () => {
    const context = { ...ctx(), owner: { ...ctx().owner, secretsManager: false } };
    const error = rejection('services:\n  web:\n    image: httpd:2.4\n    secrets: {DB: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}\n', context);

    expect(error.code).toBe('MANIFEST_SECRET');
    expect(error.message).toContain('this rack does not let apps read them (rack parameter appSecretsManager: true allows it)');
  });

  it("refuses another app's repository as an image, and takes its own or any outside the rack", () => {
    const image = (ref: string) => `services:\n  web:\n    image: ${ref}\n`;
    const error = rejection(image('123456789012.dkr.ecr.us-east-1.amazonaws.com/prod/cart:web-1'));
    expect(error.code).toBe('MANIFEST_IMAGE');
    expect(error.message).toBe(
      "MANIFEST_IMAGE: services.web.image: prod/cart is app cart's repository; an app runs images from its own repository (prod/shop) or from outside the rack",
    );
    for (const ok of ['123456789012.dkr.ecr.us-east-1.amazonaws.com/prod/shop:web-1', '123456789012.dkr.ecr.us-east-1.amazonaws.com/base/node:20', 'httpd:2.4']) {
      expect(parseManifest(image(ok), ctx()).services[0]?.image).toBe(ok);
    }
  });

  it("collects the task role's policies from the top level and every service (Convox's per-service policies), once each", () => {
    const text =
      'policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\nkms: [arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab]\nservices:\n  web:\n    image: a\n    policies: [arn:aws:iam::123456789012:policy/shop-queue, arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n';
    const manifest = parseManifest(text, ctx());
    expect(manifest.policies).toEqual(['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess', 'arn:aws:iam::123456789012:policy/shop-queue']);
    expect(manifest.kms).toEqual(['arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab']);
  });

  it.each([
    ['a policy that is no ARN', 'policies: [AdministratorAccess]', 'MANIFEST_POLICY', 'policies[0]: expected an IAM managed policy ARN'],
    ["another account's policy", 'policies: [arn:aws:iam::999999999999:policy/x]', 'MANIFEST_POLICY', 'is a policy of account 999999999999'],
    ['eleven policies', `policies: [${Array.from({ length: 11 }, (_, i) => `arn:aws:iam::aws:policy/P${i}`).join(', ')}]`, 'MANIFEST_POLICY', 'IAM attaches at most 10'],
    ['a key alias', 'kms: [arn:aws:kms:us-east-1:123456789012:alias/app]', 'MANIFEST_SECRET', 'kms[0]: expected a KMS key ARN'],
    ["another account's key", 'kms: [arn:aws:kms:us-east-1:999999999999:key/abc]', 'MANIFEST_SECRET', 'is a key of account 999999999999'],
  ])('refuses %s', (_label, top, code, message) => {
    const error = rejection(`${top}\nservices:\n  web:\n    image: a\n`);
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
  });

  it.each([
    ['a lowest cpu', 'cpu: 128, memory: 6'],
    ['192 vCPUs', 'cpu: 196608, memory: 786432'],
    ['more cpu than memory units (no Fargate table on EC2)', 'cpu: 4096, memory: 256'],
  ])('accepts scale with %s', (_, fields) => {
    const text = `services:\n  web:\n    image: httpd:2.4\n    scale: {${fields}}\n`;

    expect(() => parseManifest(text, ctx())).not.toThrow();
  });

  it('expands a merge key of a shared block', () => {
    const withMerge = `services:\n  web: &web\n    image: httpd:2.4\n    port: 80\n  admin:\n    <<: *web\n    domain: admin.example.com\n`;

    const [, admin] = parseManifest(withMerge, ctx()).services;

    expect(admin).toMatchObject({ image: 'httpd:2.4', port: 80, domains: ['admin.example.com'] });
  });

  const service = (body: string) => `services:\n  web:\n${body.replace(/^/gm, '    ')}\n`;

  it.each([
    // YAML level
    ['bad YAML syntax', 'services:\n  web: [\n', 'MANIFEST_YAML', 'rackless.yml'],
    ['two documents', 'services: {}\n---\nservices: {}\n', 'MANIFEST_YAML', 'rackless.yml'],
    ['a duplicate key', service('image: httpd:2.4\nport: 80\nport: 81'), 'MANIFEST_DUPLICATE_KEY', 'services.web.port'],
    ['a duplicate service', 'services:\n  web: {image: a}\n  web: {image: b}\n', 'MANIFEST_DUPLICATE_KEY', 'services.web'],
    [
      'an alias bomb',
      'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nservices: {web: {image: c}}\n',
      'MANIFEST_ALIAS_BOMB',
      'rackless.yml',
    ],
    // top level
    ['an empty file', '# nothing yet\n', 'MANIFEST_NO_SERVICES', 'rackless.yml'],
    ['no services key', 'environment: [A=1]\n', 'MANIFEST_NO_SERVICES', 'services'],
    ['an empty services map', 'services: {}\n', 'MANIFEST_NO_SERVICES', 'services'],
    ['a list at the top', '- web\n', 'MANIFEST_TYPE', 'rackless.yml'],
    ['an unknown top-level key', 'servces: {}\nservices: {web: {image: a}}\n', 'MANIFEST_UNKNOWN_KEY', 'servces'],
    ['an upper-case service name', 'services:\n  Web: {image: a}\n', 'MANIFEST_SERVICE_NAME', 'services.Web'],
    ['a 31-character service name', `services:\n  ${'a'.repeat(31)}: {image: a}\n`, 'MANIFEST_SERVICE_NAME', `services.${'a'.repeat(31)}`],
    ['a service name starting with a digit', 'services:\n  1web: {image: a}\n', 'MANIFEST_SERVICE_NAME', 'services.1web'],
    ['services as a list', 'services: [web]\n', 'MANIFEST_TYPE', 'services'],
    // the rack's limits on one app (shared/manifest/limits.ts)
    ['21 services', `services:\n${Array.from({ length: 21 }, (_, i) => `  s${i}: {image: a}\n`).join('')}`, 'MANIFEST_TOO_MANY_SERVICES', 'services'],
    [
      '11 domains on one service',
      service(`image: a\nport: 80\ndomain: [${Array.from({ length: 11 }, (_, i) => `d${i}.example.com`).join(', ')}]`),
      'MANIFEST_TOO_MANY_DOMAINS',
      'services.web.domain',
    ],
    [
      '41 secrets on one service',
      service(`image: a\nsecrets:\n${Array.from({ length: 41 }, (_, i) => `  S${i}: s${i}\n`).join('')}`),
      'MANIFEST_TOO_MANY_SECRETS',
      'services.web.secrets',
    ],
    // service keys
    ['a typo in a service key', service('image: a\nhelth: /'), 'MANIFEST_UNKNOWN_KEY', 'services.web.helth'],
    ['a typo in a nested key', service('image: a\nscale: {cont: 2}'), 'MANIFEST_UNKNOWN_KEY', 'services.web.scale.cont'],
    ['a typo in build', service('build: {path: api, manfest: Dockerfile.prod}'), 'MANIFEST_UNKNOWN_KEY', 'services.web.build.manfest'],
    ['neither build nor image', service('port: 80'), 'MANIFEST_NO_SOURCE', 'services.web'],
    ['both build and image', service('build: .\nimage: httpd:2.4'), 'MANIFEST_BOTH_SOURCES', 'services.web'],
    ['build as a number', service('build: 3'), 'MANIFEST_TYPE', 'services.web.build'],
    ['an image with spaces', service('image: "httpd 2.4"'), 'MANIFEST_IMAGE', 'services.web.image'],
    ['an upper-case image path', service('image: Library/HTTPD'), 'MANIFEST_IMAGE', 'services.web.image'],
    ['an empty command', service('image: a\ncommand: ""'), 'MANIFEST_TYPE', 'services.web.command'],
    ['a command list with a number', service('image: a\ncommand: [sleep, 10]'), 'MANIFEST_TYPE', 'services.web.command[1]'],
    // build sources
    ['a build path leaving the root', service('build: ../other'), 'MANIFEST_PATH', 'services.web.build.path'],
    ['an absolute build path', service('build: /srv/app'), 'MANIFEST_PATH', 'services.web.build.path'],
    ['a Dockerfile leaving the root', service('build: {path: api, manifest: ../../Dockerfile}'), 'MANIFEST_PATH', 'services.web.build.manifest'],
    ['a missing build directory', service('build: web'), 'BUILD_CONTEXT_MISSING', 'services.web.build'],
    ['a build path naming a file', service('build: README'), 'BUILD_CONTEXT_MISSING', 'services.web.build'],
    ['a missing Dockerfile', service('build: {path: api, manifest: Dockerfile}'), 'DOCKERFILE_MISSING', 'services.web.build'],
    // port
    ['port 0', service('image: a\nport: 0'), 'MANIFEST_PORT', 'services.web.port'],
    ['port 65536', service('image: a\nport: 65536'), 'MANIFEST_PORT', 'services.web.port'],
    ['a port as text', service('image: a\nport: http'), 'MANIFEST_TYPE', 'services.web.port'],
    ['a fractional port', service('image: a\nport: 80.5'), 'MANIFEST_TYPE', 'services.web.port'],
    // scale
    ['cpu as text', service('image: a\nscale: {cpu: lots}'), 'MANIFEST_TYPE', 'services.web.scale.cpu'],
    ['cpu below 128 units', service('image: a\nscale: {cpu: 64}'), 'MANIFEST_CPU_MEMORY', 'services.web.scale.cpu'],
    ['cpu above 192 vCPUs', service('image: a\nscale: {cpu: 196609}'), 'MANIFEST_CPU_MEMORY', 'services.web.scale.cpu'],
    ['memory below 6 MiB', service('image: a\nscale: {memory: 4}'), 'MANIFEST_CPU_MEMORY', 'services.web.scale.memory'],
    ['a negative count', service('image: a\nscale: {count: -1}'), 'MANIFEST_TYPE', 'services.web.scale.count'],
    ['a count over 1000', service('image: a\nscale: {count: 1001}'), 'MANIFEST_TYPE', 'services.web.scale.count'],
    // deployment
    ['minimum over 100', service('image: a\ndeployment: {minimum: 101}'), 'MANIFEST_TYPE', 'services.web.deployment.minimum'],
    ['maximum over 200', service('image: a\ndeployment: {maximum: 250}'), 'MANIFEST_TYPE', 'services.web.deployment.maximum'],
    ['maximum not above minimum', service('image: a\ndeployment: {minimum: 100, maximum: 100}'), 'MANIFEST_TYPE', 'services.web.deployment.maximum'],
    // domain
    ['a domain without a port', service('image: a\ndomain: www.example.com'), 'MANIFEST_DOMAIN', 'services.web.domain'],
    ['a domain with a space', service('image: a\nport: 80\ndomain: [ok.example.com, "bad host.com"]'), 'MANIFEST_DOMAIN', 'services.web.domain[1]'],
    ['a label starting with a hyphen', service('image: a\nport: 80\ndomain: -x.example.com'), 'MANIFEST_DOMAIN', 'services.web.domain[0]'],
    ['a wildcard in the middle', service('image: a\nport: 80\ndomain: "www.*.example.com"'), 'MANIFEST_DOMAIN', 'services.web.domain[0]'],
    ['a single-label host', service('image: a\nport: 80\ndomain: localhost'), 'MANIFEST_DOMAIN', 'services.web.domain[0]'],
    ['a host over 128 characters', service(`image: a\nport: 80\ndomain: ${'a'.repeat(60)}.${'b'.repeat(60)}.example.com`), 'MANIFEST_DOMAIN', 'services.web.domain[0]'],
    [
      'one domain on two services',
      'services:\n  web: {image: a, port: 80, domain: www.example.com}\n  admin: {image: b, port: 80, domain: WWW.example.com}\n',
      'MANIFEST_DOMAIN',
      'services.admin.domain',
    ],
    // health
    ['a health timeout equal to the interval', service('image: a\nhealth: {interval: 5, timeout: 5}'), 'MANIFEST_HEALTH', 'services.web.health.timeout'],
    ['a health interval below the ALB minimum', service('image: a\nhealth: {interval: 4, timeout: 2}'), 'MANIFEST_HEALTH', 'services.web.health.interval'],
    ['a health timeout above the ALB maximum', service('image: a\nhealth: {interval: 300, timeout: 121}'), 'MANIFEST_HEALTH', 'services.web.health.timeout'],
    ['a healthy threshold of 1', service('image: a\nhealth: {healthy: 1}'), 'MANIFEST_HEALTH', 'services.web.health.healthy'],
    ['an unhealthy threshold of 11', service('image: a\nhealth: {unhealthy: 11}'), 'MANIFEST_HEALTH', 'services.web.health.unhealthy'],
    ['a health path without a slash', service('image: a\nhealth: healthz'), 'MANIFEST_HEALTH', 'services.web.health.path'],
    ['a 5xx matcher', service('image: a\nhealth: {codes: "200-599"}'), 'MANIFEST_HEALTH', 'services.web.health.codes'],
    ['a backwards matcher', service('image: a\nhealth: {codes: "399-200"}'), 'MANIFEST_HEALTH', 'services.web.health.codes'],
    ['a word matcher', service('image: a\nhealth: {codes: ok}'), 'MANIFEST_HEALTH', 'services.web.health.codes'],
    ['a container check timeout over 60 s', service('image: a\nhealth: {command: [CMD, /bin/true], interval: 90, timeout: 61}'), 'MANIFEST_HEALTH', 'services.web.health.timeout'],
    ['a typo in health', service('image: a\nhealth: {intervall: 10}'), 'MANIFEST_UNKNOWN_KEY', 'services.web.health.intervall'],
    // environment
    ['an environment map', service('image: a\nenvironment: {A: 1}'), 'MANIFEST_TYPE', 'services.web.environment'],
    ['an environment name with a dash', service('image: a\nenvironment: [MY-VAR=1]'), 'MANIFEST_ENV', 'services.web.environment[0]'],
    ['a reserved RACKLESS_ name', service('image: a\nenvironment: [RACKLESS_APP=x]'), 'MANIFEST_ENV', 'services.web.environment[0]'],
    ['a name set twice in one list', service('image: a\nenvironment: [A=1, B, A=2]'), 'MANIFEST_ENV', 'services.web.environment[2]'],
    ['a bad app-wide name', 'environment: ["1A=x"]\nservices: {web: {image: a}}\n', 'MANIFEST_ENV', 'environment[0]'],
    // secrets
    ['a plaintext secret', service('image: a\nsecrets: {DB_PASSWORD: "hunter2 is my password"}'), 'MANIFEST_SECRET', 'services.web.secrets.DB_PASSWORD'],
    ['a secret with a URL', service('image: a\nsecrets: {DB_URL: "postgres://u:p@db/x"}'), 'MANIFEST_SECRET', 'services.web.secrets.DB_URL'],
    ['a nested name without a leading slash', service('image: a\nsecrets: {DB: rackless/db}'), 'MANIFEST_SECRET', 'services.web.secrets.DB'],
    ['a reserved aws prefix', service('image: a\nsecrets: {DB: /aws/reference/x}'), 'MANIFEST_SECRET', 'services.web.secrets.DB'],
    ['an ARN of another service', service('image: a\nsecrets: {DB: "arn:aws:s3:::bucket/key"}'), 'MANIFEST_SECRET', 'services.web.secrets.DB'],
    ['a secret name that is no env name', service('image: a\nsecrets: {db-password: /x}'), 'MANIFEST_SECRET', 'services.web.secrets.db-password'],
    ['a secret also in environment', service('image: a\nenvironment: [DB=x]\nsecrets: {DB: /x}'), 'MANIFEST_SECRET', 'services.web.secrets.DB'],
    ['a secret value as a number', service('image: a\nsecrets: {DB: 42}'), 'MANIFEST_TYPE', 'services.web.secrets.DB'],
    // other ranges
    ['a deregistration delay over an hour', service('image: a\nderegistrationDelay: 3601'), 'MANIFEST_TYPE', 'services.web.deregistrationDelay'],
    ["a stop timeout under ECS's 2 s", service('image: a\ntermination: {grace: 1}'), 'MANIFEST_TYPE', 'services.web.termination.grace'],
    ["a stop timeout over ECS's 120 s", service('image: a\ntermination: {grace: 121}'), 'MANIFEST_TYPE', 'services.web.termination.grace'],
    ['a typo in termination', service('image: a\ntermination: {grase: 5}'), 'MANIFEST_UNKNOWN_KEY', 'services.web.termination.grase'],
    ['a cpu alarm over 100 percent', service('image: a\nalarms: {cpu: 150}'), 'MANIFEST_TYPE', 'services.web.alarms.cpu'],
    ['a typo in alarms', service('image: a\nalarms: {http500: 3}'), 'MANIFEST_UNKNOWN_KEY', 'services.web.alarms.http500'],
  ])('rejects %s with %s at %s', (_, text, code, path) => {
    const error = rejection(text);

    expect(error.code).toBe(code);
    expect(error.message.startsWith(`${code}: ${path}: `)).toBe(true);
    expect(error.details.path).toBe(path);
  });

  it.each([
    ['helth', 'services.web.helth: unknown key (did you mean "health"?)'],
    ['domains', 'services.web.domains: unknown key (did you mean "domain"?)'],
    ['replicas', 'services.web.replicas: unknown key'],
  ])('suggests the nearest key for %s', (key, message) => {
    const error = rejection(`services:\n  web:\n    image: a\n    ${key}: 1\n`);

    expect(error.message).toBe(`MANIFEST_UNKNOWN_KEY: ${message}`);
  });

  it('takes a manifest at every limit, and names the limit when one is crossed', () => {
    const { servicesPerApp, domainsPerService, secretsPerService } = MANIFEST_LIMITS;
    const services = Array.from({ length: servicesPerApp }, (_, i) => `  s${i}: {image: a}\n`).join('');
    expect(parseManifest(`services:\n${services}`, ctx()).services).toHaveLength(servicesPerApp);
    const domains = Array.from({ length: domainsPerService }, (_, i) => `d${i}.example.com`).join(', ');
    const secrets = Array.from({ length: secretsPerService }, (_, i) => `  S${i}: s${i}\n`).join('');
    const [web] = parseManifest(service(`image: a\nport: 80\ndomain: [${domains}]\nsecrets:\n${secrets}`), ctx()).services;
    expect(web!.domains).toHaveLength(domainsPerService);
    expect(Object.keys(web!.secrets)).toHaveLength(secretsPerService);

    const over = rejection(`services:\n${services}  extra: {image: a}\n`);
    expect(over.message).toContain(`${servicesPerApp + 1} services; an app may have at most ${servicesPerApp}`);
    expect(over.details).toMatchObject({ count: servicesPerApp + 1, limit: servicesPerApp });
  });

  it('says what it expected and what it got', () => {
    const error = rejection('services:\n  web:\n    image: a\n    scale: {cpu: lots}\n');

    expect(error.message).toBe('MANIFEST_TYPE: services.web.scale.cpu: expected an integer between 128 and 196608, got "lots"');
  });

  it('gives the line and column of a YAML syntax error', () => {
    const error = rejection('services:\n  web:\n    image: a\n   port: 80\n');

    expect(error.code).toBe('MANIFEST_YAML');
    expect(error.message).toMatch(/line \d+, column \d+/);
  });
});

describe('parseManifest: a misspelt top-level key', () => {
  it('reports the unknown key, not the missing services map', () => {
    expect(() =>
      parseManifest('servces:\n  web:\n    build: .\n', {
        app: 'shop',
        owner: { rack: 'prod', ecrPrefix: 'prod' },
        rackDomain: 'r.example.com',
        files: { Dockerfile: 'FROM x' },
        paths: ['Dockerfile'],
      }),
    ).toThrow(/MANIFEST_UNKNOWN_KEY: servces: unknown key \(did you mean "services"\?\)/);
  });
});
