import { posix } from 'node:path';
import { isPair, isScalar, parseDocument, visit, type Document } from 'yaml';
import * as v from 'valibot';
import { ManifestInvalid } from '../errors.js';
import { parameterPath } from '../names.js';
import { dockerfileExposedPort, dockerfileStages } from './dockerfile.js';
import { MANIFEST_LIMITS } from './limits.js';
import { allowedKeys, CONTAINER_HEALTH, describeValue, issueCode, manifestSchema, type RawManifest, type RawService } from './schema.js';
import { DEFAULT_ALARMS, DEFAULT_DEPLOYMENT, DEFAULT_DEREGISTRATION_DELAY, DEFAULT_HEALTH, DEFAULT_SCALE, DEFAULT_STOP_TIMEOUT } from './defaults.js';
import type { HealthCheck, Manifest, ServiceSpec } from './types.js';

export { dockerfileBaseImages, dockerfileExposedPort } from './dockerfile.js';
export { DEFAULT_ALARMS, DEFAULT_DEPLOYMENT, DEFAULT_DEREGISTRATION_DELAY, DEFAULT_HEALTH, DEFAULT_SCALE, DEFAULT_STOP_TIMEOUT } from './defaults.js';

/** Whose manifest this is: its secrets, images and keys are checked against the app's own. */
export interface ManifestOwner {
  rack: string;
  /** prefix of the rack's ECR repositories: `<ecrPrefix>/<app>` is the app's own */
  ecrPrefix: string;
  /** the rack's account and region, when known: references to another account's are refused */
  account?: string;
  region?: string;
  /** the rack lets apps read Secrets Manager secrets (rack parameter appSecretsManager) */
  secretsManager?: boolean;
}

export interface ManifestContext {
  app: string;
  owner: ManifestOwner;
  /** default domain of a service with a port: `<service>.<app>.<rackDomain>` */
  rackDomain: string;
  /** captured texts from the tarball: "Dockerfile", "api/Dockerfile.prod", … */
  files: Record<string, string>;
  /** every regular file path in the tarball (normalised, relative to root) */
  paths: string[];
  /** paths that are symlinks or hard links in the tarball (the scan's `links`) */
  links?: Record<string, { type: 'symlink' | 'link'; target: string }>;
  /** rack default target group deregistration delay, seconds (default DEFAULT_DEREGISTRATION_DELAY) */
  deregistrationDelay?: number;
}

export const MANIFEST_FILE = 'rackless.yml';
const MANIFEST_FILES = ['rackless.yml', 'rackless.yaml'] as const;

/**
 * The manifest's text from a scanned tarball, or undefined when it has none. Both spellings at once,
 * or a manifest that is a link, are errors naming the file: a link's target is not what was read.
 */
export function manifestText(scan: { files: Record<string, string>; links: Record<string, { type: 'symlink' | 'link'; target: string }> }): string | undefined {
  const present = MANIFEST_FILES.filter((name) => name in scan.files || name in scan.links);
  if (present.length > 1) {
    throw new ManifestInvalid('MANIFEST_AMBIGUOUS', `${present.join(' and ')}: the tarball holds both; expected one manifest (rename or remove one)`, { path: present.join(', ') });
  }
  const name = present[0];
  if (name === undefined) return undefined;
  const link = scan.links[name];
  if (link) {
    throw new ManifestInvalid(
      'MANIFEST_LINKED',
      `${name}: is a ${link.type === 'symlink' ? 'symlink' : 'hard link'} to ${JSON.stringify(link.target)}; expected the manifest as a regular file`,
      {
        path: name,
        target: link.target,
      },
    );
  }
  return scan.files[name];
}

// yaml counts alias expansions; a real manifest reuses a block a handful of times, a bomb millions
const MAX_ALIAS_COUNT = 100;

type Path = ReadonlyArray<PropertyKey>;

/** `services.web.environment[2]` */
export function formatPath(path: Path): string {
  return path.map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`)).join('');
}

function invalid(code: string, path: Path, message: string, details: Record<string, unknown> = {}): ManifestInvalid {
  const where = path.length === 0 ? MANIFEST_FILE : formatPath(path);
  return new ManifestInvalid(code, `${where}: ${message}`, { path: where, ...details });
}

/**
 * Reads rackless.yml (or, when `text` is undefined, the implied one-service manifest) into a Manifest
 * with every default filled in. Throws ManifestInvalid naming the key's path; nothing touches AWS.
 */
export function parseManifest(text: string | undefined, ctx: ManifestContext): Manifest {
  if (text === undefined) return impliedManifest(ctx);
  const raw = validate(readYaml(text));
  const appEnvironment = raw.environment ?? [];
  const services = Object.entries(raw.services).map(([name, service]) => resolveService(name, service, appEnvironment, ctx));
  checkDomainsUnique(services);
  const policies = resolvePolicies(raw, ctx);
  const kms = (raw.kms ?? []).map((key, index) => checkKey(key, ['kms', index], ctx));
  return { services, policies, kms: [...new Set(kms)] };
}

/** No manifest: one `web` service from ./Dockerfile, its port from the first EXPOSE (none → no load balancer). */
function impliedManifest(ctx: ManifestContext): Manifest {
  const dockerfile = ctx.files.Dockerfile;
  const port = dockerfile === undefined ? undefined : dockerfileExposedPort(dockerfile);
  const raw: RawService = { build: { path: '.', manifest: 'Dockerfile' }, ...(port ? { port } : {}) };
  return { services: [resolveService('web', raw, [], ctx, { implied: true })], policies: [], kms: [] };
}

function readYaml(text: string): unknown {
  // uniqueKeys: a repeated key silently overriding the first is how a typo'd manifest deploys the wrong thing
  const doc = parseDocument(text, { uniqueKeys: true, merge: true });
  const error = doc.errors[0];
  if (error) {
    const at = error.linePos?.[0];
    const where = at ? ` at line ${at.line}, column ${at.col}` : '';
    const position = at ? `line ${at.line}, column ${at.col}: ` : '';
    if (error.code === 'DUPLICATE_KEY') {
      const path = keyPathAt(doc, error.pos[0]);
      const what = path.length > 0 ? `key ${JSON.stringify(path.at(-1))}` : 'a key';
      throw invalid('MANIFEST_DUPLICATE_KEY', path, `${what} appears twice${where}`);
    }
    // prettyErrors appends " at line L, column C:" and a code excerpt; keep the reason, place our own position
    const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ManifestInvalid('MANIFEST_YAML', `${MANIFEST_FILE}: ${position}${reason}`, {
      path: MANIFEST_FILE,
      line: at?.line,
      col: at?.col,
    });
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (cause) {
    if (cause instanceof ReferenceError && /alias/i.test(cause.message)) {
      throw new ManifestInvalid(
        'MANIFEST_ALIAS_BOMB',
        `${MANIFEST_FILE}: aliases expand more than ${MAX_ALIAS_COUNT} times; refusing to expand`,
        { path: MANIFEST_FILE },
        { cause },
      );
    }
    throw new ManifestInvalid('MANIFEST_YAML', `${MANIFEST_FILE}: ${(cause as Error).message}`, { path: MANIFEST_FILE }, { cause });
  }
}

/** The manifest path of the map key starting at `offset`, e.g. ["services", "web", "port"]. */
function keyPathAt(doc: Document, offset: number): string[] {
  let found: string[] = [];
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== offset) return undefined;
      const keys = ancestors.filter(isPair).map((p) => String(isScalar(p.key) ? p.key.value : p.key));
      found = [...keys, String(pair.key.value)];
      return visit.BREAK;
    },
  });
  return found;
}

function validate(value: unknown): RawManifest {
  if (value === null || value === undefined) {
    throw invalid('MANIFEST_NO_SERVICES', [], 'the manifest is empty; expected a services map');
  }
  if (isPlainObject(value)) {
    // a misspelt top-level key ("servces") is the real problem, not the missing services map
    const unknown = Object.keys(value).find((key) => !allowedKeys([]).includes(key));
    if (unknown !== undefined) {
      const hint = closest(unknown, allowedKeys([]));
      throw invalid('MANIFEST_UNKNOWN_KEY', [unknown], `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`);
    }
    const services = value.services;
    if (services === undefined || services === null || (isPlainObject(services) && Object.keys(services).length === 0)) {
      throw invalid('MANIFEST_NO_SERVICES', ['services'], 'expected at least one service');
    }
    const count = isPlainObject(services) ? Object.keys(services).length : 0;
    if (count > MANIFEST_LIMITS.servicesPerApp) {
      throw invalid(
        'MANIFEST_TOO_MANY_SERVICES',
        ['services'],
        `${count} services; an app may have at most ${MANIFEST_LIMITS.servicesPerApp} (each service with a port takes one of the shared load balancer's 100 target groups)`,
        { count, limit: MANIFEST_LIMITS.servicesPerApp },
      );
    }
  }
  const result = v.safeParse(manifestSchema, value);
  if (result.success) return result.output;
  const issues = result.issues.map(describeIssue);
  const first = issues[0]!;
  throw invalid(first.code, first.path, first.message, { issues: issues.map((i) => `${formatPath(i.path)}: ${i.message}`) });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Maps a valibot issue to our code, path and message. Wrong types are MANIFEST_TYPE; value checks carry their own code. */
function describeIssue(issue: v.BaseIssue<unknown>): { code: string; path: Path; message: string } {
  const path = (issue.path ?? []).map((item) => item.key as PropertyKey);
  // a strict object reports an unknown key as the key's own issue, expecting nothing there
  if (issue.type === 'strict_object' && issue.expected === 'never') {
    const key = String(path.at(-1));
    const hint = closest(key, allowedKeys(path.slice(0, -1)));
    return { code: 'MANIFEST_UNKNOWN_KEY', path, message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}` };
  }
  return { code: issueCode(issue) ?? 'MANIFEST_TYPE', path, message: issue.message };
}

/** The allowed key nearest to a typo (edit distance ≤ 2, or a prefix either way). */
function closest(key: string, candidates: string[]): string | undefined {
  let best: { word: string; distance: number } | undefined;
  for (const word of candidates) {
    const distance = word.startsWith(key) || key.startsWith(word) ? 1 : editDistance(key.toLowerCase(), word.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { word, distance };
  }
  return best?.word;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function resolveService(name: string, raw: RawService, appEnvironment: string[], ctx: ManifestContext, options: { implied?: boolean } = {}): ServiceSpec {
  const at = (...keys: PropertyKey[]): PropertyKey[] => ['services', name, ...keys];
  if (raw.build && raw.image !== undefined) {
    throw invalid('MANIFEST_BOTH_SOURCES', at(), 'set either build or image, not both');
  }
  if (!raw.build && raw.image === undefined) {
    throw invalid('MANIFEST_NO_SOURCE', at(), 'set build (a directory with a Dockerfile) or image (e.g. httpd:2.4)');
  }

  const source: Pick<ServiceSpec, 'build' | 'image'> = {};
  if (raw.build) {
    const context = normaliseRelative(raw.build.path, at('build', 'path'));
    const dockerfile = normaliseRelative(posix.join(context, raw.build.manifest), at('build', 'manifest'));
    source.build = { context, dockerfile };
    checkBuildSources(name, source.build, ctx, options);
  } else {
    source.image = checkImage(raw.image!, at('image'), ctx);
  }

  // Like Convox, a manifest service has a port only when it says so: no port means a worker with no
  // load balancer, even if its Dockerfile EXPOSEs one (EXPOSE is a hint, the manifest is the contract).
  const port = raw.port;
  const domains = resolveDomains(name, raw.domain, port, ctx);
  const health = resolveHealth(raw.health, at('health'));
  const scale = { ...DEFAULT_SCALE, ...raw.scale };
  const deployment = { ...DEFAULT_DEPLOYMENT, ...raw.deployment };
  // with maximum ≤ minimum a rolling update can neither start a new task nor stop an old one
  if (deployment.maximum <= deployment.minimum) {
    throw invalid('MANIFEST_TYPE', at('deployment', 'maximum'), `maximum (${deployment.maximum}) must be greater than minimum (${deployment.minimum}) or the rollout cannot move`);
  }
  const environment = mergeEnvironment(appEnvironment, raw.environment ?? []);
  const secrets = resolveSecrets(raw.secrets ?? {}, environment, at('secrets'), ctx);

  return {
    name,
    ...source,
    ...(raw.command ? { command: raw.command } : {}),
    ...(port !== undefined ? { port } : {}),
    domains,
    health,
    scale,
    deployment,
    environment,
    secrets,
    deregistrationDelay: raw.deregistrationDelay ?? ctx.deregistrationDelay ?? DEFAULT_DEREGISTRATION_DELAY,
    stopTimeout: raw.termination?.grace ?? DEFAULT_STOP_TIMEOUT,
    alarms: { ...DEFAULT_ALARMS, ...raw.alarms },
  };
}

/** "./api/" → "api", "." → "."; absolute paths and paths leaving the tarball root are refused. */
function normaliseRelative(value: string, path: Path): string {
  const trimmed = value.trim();
  if (trimmed === '' || posix.isAbsolute(trimmed) || /^[A-Za-z]:[\\/]/.test(trimmed) || trimmed.includes('\\')) {
    throw invalid('MANIFEST_PATH', path, `expected a path relative to the tarball root, got ${describeValue(value)}`);
  }
  const normalised = posix.normalize(trimmed).replace(/\/+$/, '') || '.';
  if (normalised === '..' || normalised.startsWith('../')) {
    throw invalid('MANIFEST_PATH', path, `${describeValue(value)} leaves the tarball root`);
  }
  return normalised;
}

function checkBuildSources(name: string, build: { context: string; dockerfile: string }, ctx: ManifestContext, options: { implied?: boolean } = {}): void {
  const at: Path = ['services', name, 'build'];
  if (build.context !== '.' && !ctx.paths.some((p) => p.startsWith(`${build.context}/`))) {
    const isFile = ctx.paths.includes(build.context);
    throw invalid('BUILD_CONTEXT_MISSING', at, isFile ? `build context "${build.context}" is a file; expected a directory` : `no files under "${build.context}/" in the tarball`);
  }
  const link = ctx.links?.[build.dockerfile];
  if (link) {
    throw invalid(
      'DOCKERFILE_LINKED',
      at,
      `"${build.dockerfile}" is a ${link.type === 'symlink' ? 'symlink' : 'hard link'} to ${JSON.stringify(link.target)}; expected the Dockerfile as a regular file`,
      {
        dockerfile: build.dockerfile,
      },
    );
  }
  if (!(build.dockerfile in ctx.files) && !ctx.paths.includes(build.dockerfile)) {
    const why = options.implied ? ` (there is no ${MANIFEST_FILE}, so the app builds from ./Dockerfile)` : '';
    throw invalid('DOCKERFILE_MISSING', at, `expected a Dockerfile at "${build.dockerfile}" in the tarball${why}`, {
      dockerfile: build.dockerfile,
    });
  }
  const text = ctx.files[build.dockerfile];
  if (text !== undefined && dockerfileStages(text) === 0) {
    throw invalid('DOCKERFILE_NO_STAGE', at, `"${build.dockerfile}" has no FROM instruction; expected at least one build stage`, { dockerfile: build.dockerfile });
  }
}

// Docker's reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest]
const IMAGE_HOST = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)';
const IMAGE_PATH = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*';
const IMAGE_REFERENCE = new RegExp(`^${IMAGE_HOST}?${IMAGE_PATH}(?::[\\w][\\w.-]{0,127})?(?:@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,})?$`);

// <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:tag|@digest] (ECR User Guide, "Private registry concepts")
const ECR_IMAGE = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/;

function checkImage(image: string, path: Path, ctx: ManifestContext): string {
  if (!IMAGE_REFERENCE.test(image) || image.length > 512) {
    throw invalid('MANIFEST_IMAGE', path, `expected an image reference like "httpd:2.4" or "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:tag", got ${describeValue(image)}`);
  }
  // another app's repository is another app's images: the app's execution role cannot pull them
  const ecr = ECR_IMAGE.exec(image);
  const { ecrPrefix, account } = ctx.owner;
  if (ecr && (account === undefined || ecr[1] === account) && ecr[3]!.startsWith(`${ecrPrefix}/`) && ecr[3] !== `${ecrPrefix}/${ctx.app}`) {
    const other = ecr[3]!.slice(ecrPrefix.length + 1);
    throw invalid('MANIFEST_IMAGE', path, `${ecr[3]} is app ${other}'s repository; an app runs images from its own repository (${ecrPrefix}/${ctx.app}) or from outside the rack`, {
      repository: ecr[3],
    });
  }
  return image;
}

// IAM policy ARNs: AWS managed (account "aws") or the rack's account's own
const POLICY_ARN = /^arn:aws(?:-[a-z]+)*:iam::(aws|\d{12}):policy\/[\w+=,.@/-]{1,512}$/;
// IAM: 10 managed policies per role by default ("IAM and AWS STS quotas")
const MAX_POLICIES = 10;

function resolvePolicies(raw: RawManifest, ctx: ManifestContext): string[] {
  const entries: Array<{ arn: string; path: Path }> = [
    ...(raw.policies ?? []).map((arn, index) => ({ arn, path: ['policies', index] as Path })),
    ...Object.entries(raw.services).flatMap(([name, service]) => (service.policies ?? []).map((arn, index) => ({ arn, path: ['services', name, 'policies', index] as Path }))),
  ];
  const policies: string[] = [];
  for (const { arn, path } of entries) {
    const match = POLICY_ARN.exec(arn.trim());
    if (!match) throw invalid('MANIFEST_POLICY', path, `expected an IAM managed policy ARN like arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess, got ${describeValue(arn)}`);
    if (match[1] !== 'aws' && ctx.owner.account !== undefined && match[1] !== ctx.owner.account) {
      throw invalid('MANIFEST_POLICY', path, `${arn} is a policy of account ${match[1]}; a role can only have AWS managed policies or this account's (${ctx.owner.account})`);
    }
    if (!policies.includes(arn.trim())) policies.push(arn.trim());
  }
  if (policies.length > MAX_POLICIES) {
    throw invalid(
      'MANIFEST_POLICY',
      ['policies'],
      `${policies.length} policies for the app's task role; IAM attaches at most ${MAX_POLICIES} managed policies to a role by default`,
    );
  }
  return policies;
}

// KMS key ARNs (not aliases: kms:Decrypt is granted on keys)
const KEY_ARN = /^arn:aws(?:-[a-z]+)*:kms:([a-z0-9-]+):(\d{12}):key\/[a-zA-Z0-9-]{1,128}$/;

function checkKey(key: string, path: Path, ctx: ManifestContext): string {
  const match = KEY_ARN.exec(key.trim());
  if (!match) throw invalid('MANIFEST_SECRET', path, `expected a KMS key ARN like arn:aws:kms:us-east-1:123456789012:key/<id> (not an alias), got ${describeValue(key)}`);
  const elsewhere = foreignAccountOrRegion(match[2]!, match[1]!, ctx);
  if (elsewhere) throw invalid('MANIFEST_SECRET', path, `${key} is a key of ${elsewhere}; the app's tasks decrypt only with keys of the rack's own account and region`);
  return key.trim();
}

/** "account 999…" / "region eu-west-1" when a reference points outside the rack's account or region. */
function foreignAccountOrRegion(account: string, region: string, ctx: ManifestContext): string | undefined {
  if (ctx.owner.account !== undefined && account !== ctx.owner.account) return `account ${account}`;
  if (ctx.owner.region !== undefined && region !== ctx.owner.region) return `region ${region}`;
  return undefined;
}

// An ALB host-header value is at most 128 characters; labels follow RFC 1123; only a leading "*." wildcard.
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_HOST_LENGTH = 128;

function hostProblem(host: string): string | undefined {
  if (host.length > MAX_HOST_LENGTH) return `longer than ${MAX_HOST_LENGTH} characters (ALB host-header limit)`;
  const labels = host.startsWith('*.') ? host.slice(2).split('.') : host.split('.');
  if (labels.length < 2 && !host.startsWith('*.')) return 'expected a fully qualified host name like www.example.com';
  if (!labels.every((label) => HOST_LABEL.test(label))) {
    return 'expected labels of letters, digits and hyphens separated by dots, with at most a leading "*." wildcard';
  }
  return undefined;
}

function resolveDomains(name: string, domain: string[] | undefined, port: number | undefined, ctx: ManifestContext): string[] {
  if (port === undefined) {
    if (domain && domain.length > 0) {
      throw invalid('MANIFEST_DOMAIN', ['services', name, 'domain'], 'a domain needs a port to route to; set port');
    }
    return [];
  }
  if (domain === undefined || domain.length === 0) {
    const host = `${name}.${ctx.app}.${ctx.rackDomain}`.toLowerCase();
    const problem = hostProblem(host);
    if (problem) throw invalid('MANIFEST_DOMAIN', ['services', name, 'domain'], `default domain "${host}" is invalid: ${problem}; set domain`);
    return [host];
  }
  const hosts: string[] = [];
  domain.forEach((value, index) => {
    const host = value.trim().toLowerCase();
    const problem = hostProblem(host);
    if (problem) throw invalid('MANIFEST_DOMAIN', ['services', name, 'domain', index], `${problem}, got ${describeValue(value)}`);
    if (!hosts.includes(host)) hosts.push(host);
  });
  if (hosts.length > MANIFEST_LIMITS.domainsPerService) {
    throw invalid(
      'MANIFEST_TOO_MANY_DOMAINS',
      ['services', name, 'domain'],
      `${hosts.length} domains; a service may have at most ${MANIFEST_LIMITS.domainsPerService} (each is one rule on the shared listener)`,
      { count: hosts.length, limit: MANIFEST_LIMITS.domainsPerService },
    );
  }
  return hosts;
}

function checkDomainsUnique(services: ServiceSpec[]): void {
  const owner = new Map<string, string>();
  for (const service of services) {
    for (const host of service.domains) {
      const other = owner.get(host);
      if (other !== undefined) {
        throw invalid('MANIFEST_DOMAIN', ['services', service.name, 'domain'], `"${host}" is already routed to service ${other}`);
      }
      owner.set(host, service.name);
    }
  }
}

// ALB HTTP matcher: codes 200–499, as "200", "200,302" or "200-399"
const MATCHER = /^\d{3}(?:-\d{3})?(?:,\d{3}(?:-\d{3})?)*$/;

function matcherProblem(codes: string): string | undefined {
  if (!MATCHER.test(codes)) return 'expected HTTP codes like "200", "200,302" or "200-399"';
  for (const part of codes.split(',')) {
    const [low, high = low] = part.split('-').map(Number) as [number, number?];
    if (low < 200 || high > 499) return 'ALB HTTP health checks accept codes 200–499';
    if (high < low) return `range ${part} runs backwards`;
  }
  return undefined;
}

type RawHealth = NonNullable<RawService['health']>;

function resolveHealth(raw: RawHealth | undefined, at: Path): HealthCheck {
  const health: HealthCheck = {
    path: raw?.path ?? DEFAULT_HEALTH.path,
    interval: raw?.interval ?? DEFAULT_HEALTH.interval,
    timeout: raw?.timeout ?? DEFAULT_HEALTH.timeout,
    grace: raw?.grace ?? DEFAULT_HEALTH.grace,
    healthy: raw?.healthy ?? DEFAULT_HEALTH.healthy,
    unhealthy: raw?.unhealthy ?? DEFAULT_HEALTH.unhealthy,
    codes: raw?.codes ?? DEFAULT_HEALTH.codes,
    ...(raw?.command ? { command: raw.command } : {}),
  };
  // ALB health check path: starts with "/", at most 1024 characters, no whitespace
  if (!health.path.startsWith('/') || health.path.length > 1024 || /\s/.test(health.path)) {
    throw invalid('MANIFEST_HEALTH', [...at, 'path'], `expected an HTTP path starting with "/", got ${describeValue(health.path)}`);
  }
  // ELBv2 refuses a target group whose health check timeout is not below its interval
  if (health.timeout >= health.interval) {
    throw invalid('MANIFEST_HEALTH', [...at, 'timeout'], `timeout (${health.timeout}s) must be less than interval (${health.interval}s)`);
  }
  const problem = matcherProblem(health.codes);
  if (problem) throw invalid('MANIFEST_HEALTH', [...at, 'codes'], `${problem}, got ${describeValue(health.codes)}`);
  if (health.command && health.timeout > CONTAINER_HEALTH.timeout[1]) {
    throw invalid('MANIFEST_HEALTH', [...at, 'timeout'], `a container health check (command) allows a timeout of at most ${CONTAINER_HEALTH.timeout[1]}s, got ${health.timeout}`);
  }
  return health;
}

/** App-wide entries first, then the service's; a service entry replaces an app-wide one of the same name. */
function mergeEnvironment(app: string[], service: string[]): string[] {
  const byName = new Map<string, string>();
  for (const entry of [...app, ...service]) byName.set(entry.split('=', 1)[0]!, entry);
  return [...byName.values()];
}

// SSM PutParameter: names of a-zA-Z0-9_.-/ , a hierarchy needs a leading "/", at most 15 levels and
// 1011 characters, and no "aws"/"ssm" prefix (case-insensitive).
const SSM_NAME = /^\/?[a-zA-Z0-9_.-]+(?:\/[a-zA-Z0-9_.-]+)*$/;
const SSM_ARN = /^arn:aws(?:-[a-z]+)*:ssm:([a-z0-9-]+):(\d{12}):parameter(\/[a-zA-Z0-9_.\-/]+)$/;
const SECRETS_MANAGER_ARN = /^arn:aws(?:-[a-z]+)*:secretsmanager:([a-z0-9-]+):(\d{12}):secret:[a-zA-Z0-9/_+=.@-]+(?::[^:\s]*){0,3}$/;

function nameProblem(reference: string): string | undefined {
  if (!SSM_NAME.test(reference)) {
    return 'expected an SSM parameter name like db-password or /rackless/<rack>/<app>/db-password (the value lives in SSM, never in the manifest)';
  }
  if (reference.includes('/') && !reference.startsWith('/')) return 'a parameter name with "/" must start with "/"';
  if (reference.length > 1011) return 'SSM parameter names are at most 1011 characters';
  if (reference.split('/').filter(Boolean).length > 15) return 'SSM parameter hierarchies are at most 15 levels deep';
  if (/^\/?(aws|ssm)/i.test(reference)) return 'SSM parameter names cannot start with "aws" or "ssm"';
  return undefined;
}

/**
 * A secret reference, resolved to what the task definition names, or the reason it is refused. The
 * app's execution role reads only its own parameters, `/rackless/<rack>/<app>/…` of the rack's
 * account and region (a bare name like `db-password` is one of them); another app's path, another
 * account's or region's parameter is refused here rather than at task start. Secrets Manager
 * secrets only when the rack allows them, and only the rack's account's.
 */
function resolveSecret(reference: string, ctx: ManifestContext): { value: string } | { problem: string } {
  const own = parameterPath({ name: ctx.owner.rack }, ctx.app);
  const underOwn = (name: string): string | undefined => {
    if (name.startsWith(own)) return undefined;
    const other = new RegExp(`^/rackless/${ctx.owner.rack.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([^/]+)/`).exec(name)?.[1];
    return other
      ? `${name} is app ${other}'s parameter; the app's tasks read only parameters under ${own}`
      : `${name} is outside the app's parameters; the app's tasks read only parameters under ${own} (a bare name like db-password is one of them)`;
  };
  if (reference.startsWith('arn:')) {
    const ssm = SSM_ARN.exec(reference);
    if (ssm) {
      const elsewhere = foreignAccountOrRegion(ssm[2]!, ssm[1]!, ctx);
      if (elsewhere) return { problem: `${reference} is a parameter of ${elsewhere}; the app's tasks read only the rack's account's parameters in its region` };
      const outside = underOwn(ssm[3]!);
      return outside ? { problem: outside } : { value: reference };
    }
    const secret = SECRETS_MANAGER_ARN.exec(reference);
    if (!secret) return { problem: 'expected an SSM parameter name or ARN, or a Secrets Manager secret ARN' };
    if (!ctx.owner.secretsManager) {
      return { problem: `${reference} is a Secrets Manager secret, and this rack does not let apps read them (rack parameter appSecretsManager: true allows it)` };
    }
    const elsewhere = foreignAccountOrRegion(secret[2]!, secret[1]!, ctx);
    if (elsewhere) return { problem: `${reference} is a secret of ${elsewhere}; the app's tasks read only the rack's account's secrets in its region` };
    return { value: reference };
  }
  const problem = nameProblem(reference);
  if (problem) return { problem };
  const name = reference.startsWith('/') ? reference : `${own}${reference}`;
  const outside = underOwn(name);
  return outside ? { problem: outside } : { value: name };
}

function resolveSecrets(secrets: Record<string, string>, environment: string[], at: Path, ctx: ManifestContext): Record<string, string> {
  const envNames = new Set(environment.map((entry) => entry.split('=', 1)[0]!));
  const count = Object.keys(secrets).length;
  if (count > MANIFEST_LIMITS.secretsPerService) {
    throw invalid(
      'MANIFEST_TOO_MANY_SECRETS',
      at,
      `${count} secrets; a service may have at most ${MANIFEST_LIMITS.secretsPerService} (every task start reads each one from the account's shared Parameter Store throughput)`,
      { count, limit: MANIFEST_LIMITS.secretsPerService },
    );
  }
  const resolved: Record<string, string> = {};
  for (const name of Object.keys(secrets).sort()) {
    const reference = secrets[name]!.trim();
    if (envNames.has(name)) {
      throw invalid('MANIFEST_SECRET', [...at, name], `${name} is also set in environment; a variable comes from one place`);
    }
    const result = resolveSecret(reference, ctx);
    if ('problem' in result) throw invalid('MANIFEST_SECRET', [...at, name], result.problem);
    resolved[name] = result.value;
  }
  return resolved;
}
