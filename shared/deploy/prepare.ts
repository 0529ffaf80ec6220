import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { GetPolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import type { ElasticLoadBalancingV2Client, Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ensureRepository } from '../aws/ecr.js';
import { domainConflicts, listRules, rackListeners, targetGroupName } from '../aws/elb.js';
import type { Store } from '../aws/store.js';
import { newerWaiting } from '../queue/decide.js';
import { ManifestInvalid, NotFound, QuotaExceeded, Superseded, TarballRejected } from '../errors.js';
import { pinnedPlaceholder } from '../images/reference.js';
import type { ImageResolver } from '../images/resolve.js';
import { environmentBytes, newReleaseId, releaseTaskDefinitions, TASK_DEFINITION_MAX_BYTES, taskDefinitionBytes } from './render.js';
import { dockerfileBaseImages, manifestText, parseManifest } from '../manifest/parse.js';
import type { Manifest } from '../manifest/types.js';
import { MANIFEST_LIMITS } from '../manifest/limits.js';
import { repositoryName, type Rack } from '../rack.js';
import { deployDeadline } from '../rollout/deadline.js';
import { hostsOf, unionHosts } from '../domains.js';
import { claimDomains } from './claims.js';
import { checkLoadBalancerQuotas, loadBalancerQuotas, loadBalancerUse, releaseNeeds } from './quotas.js';
import { type ScanLimits, type ScanOptions, scanTarball, type TarballScan } from '../tarball/scan.js';
import { contextKey, contextUpload } from '../aws/build-context.js';
import type { BuildPlan, DeployState, ReleaseRef } from './state.js';

export interface PrepareDeps {
  s3: S3Client;
  iam: IAMClient;
  ecr: ECRClient;
  elb: ElasticLoadBalancingV2Client;
  store: Store;
  rack: Rack;
  codebuildProject: string;
  /** the rack's account and partition (from the function's ARN): references to another account's are refused */
  accountId?: string;
  partition?: string;
  /** pins `image:` references by digest */
  images: ImageResolver;
  limits?: Partial<ScanLimits>;
  /** epoch ms by which the tarball must have been read (the Lambda's deadline, less a margin) */
  deadline?: number;
  now: () => number;
}

/**
 * Prepare: everything that can reject a deploy, before anything in ECS, ELB or ECR changes.
 * Upload/rebuild → stream the tarball and validate it; redeploy → load the release it names.
 */
export async function prepare(state: DeployState, deps: PrepareDeps): Promise<DeployState> {
  const current = await deps.store.currentRelease(state.app);
  const previous: ReleaseRef | undefined = current && {
    id: current.id,
    number: current.number,
    taskDefinitions: current.taskDefinitions,
    images: current.images,
    ...(current.buildId ? { buildId: current.buildId } : {}),
  };
  if (state.redeployRelease) return prepareRedeploy(state, deps, previous);

  const source = state.source;
  if (!source) throw new NotFound('SOURCE_MISSING', `app ${state.app} has no tarball to build (deploy one to apps/${state.app}/ first)`, { app: state.app });
  // the build context is written while the tarball is read; anything that fails from here on
  // leaves no context behind
  const tag = state.execution.slice(0, 100);
  const context = contextUpload(deps.s3, source.bucket, contextKey(state.app, tag));
  let scan: TarballScan;
  try {
    scan = await readTarball(deps.s3, source, deps.limits, { context: context.stream, ...(deps.deadline ? { deadline: deps.deadline } : {}), now: deps.now });
    await context.done();
  } catch (error) {
    await context.discard();
    throw error;
  }
  try {
    return await prepareUpload(state, deps, { scan, source, tag, current, previous, contextKey: contextKey(state.app, tag), discardContext: () => context.discard() });
  } catch (error) {
    await context.discard();
    throw error;
  }
}

interface UploadScan {
  scan: TarballScan;
  source: NonNullable<DeployState['source']>;
  tag: string;
  current: Awaited<ReturnType<Store['currentRelease']>>;
  previous: ReleaseRef | undefined;
  contextKey: string;
  discardContext: () => Promise<void>;
}

async function prepareUpload(state: DeployState, deps: PrepareDeps, { scan, source, tag, current, previous, contextKey: key, discardContext }: UploadScan): Promise<DeployState> {
  const manifest = parseManifest(manifestText(scan), {
    app: state.app,
    owner: {
      rack: deps.rack.name,
      ecrPrefix: deps.rack.ecrPrefix,
      region: deps.rack.region,
      secretsManager: deps.rack.secretsManager,
      ...(deps.accountId ? { account: deps.accountId } : {}),
    },
    rackDomain: deps.rack.domain,
    files: scan.files,
    paths: scan.paths,
    links: scan.links,
    deregistrationDelay: deps.rack.deregistrationDelay,
  });
  // a rollout that cannot end within the rack's cap is refused now, not rolled back at its deadline
  const watch = watchSettings(deps.rack, manifest);
  await checkPolicies(deps.iam, manifest);
  const routed = manifest.services.filter((s) => s.port).map((s) => ({ targetGroup: targetGroupName(deps.rack.name, state.app, s.name), hosts: s.domains }));
  if (routed.length > 0) {
    const rulesByListener = await listenerRules(deps);
    checkDomains(deps, rulesByListener[0]!, state.app, manifest);
    checkLoadBalancerQuotas(await loadBalancerQuotas(deps.elb), loadBalancerUse(rulesByListener), releaseNeeds(rulesByListener, routed));
  }
  // an `image:` is pinned to the digest its tag names now: a missing image fails here, and the
  // release runs these bytes however the tag moves later
  const pinnedImages: Record<string, string> = {};
  for (const s of manifest.services) if (s.image) pinnedImages[s.name] = await deps.images.pin(s.image);
  await checkTaskDefinitionSizes(deps, state.app, manifest, pinnedImages);
  // a burst of uploads deploys only the newest: give way before the first change
  const newer = newerWaiting(await deps.store.listQueue(state.app), state);
  if (newer) {
    throw new Superseded('SUPERSEDED', `a newer deploy (${newer.key ?? newer.execution}) arrived while this one was being prepared; it was not deployed`, { app: state.app });
  }

  // validated: from here on, changes are allowed. The first is the claim on the manifest's hosts,
  // one conditional write that two apps cannot both win; until the deploy ends the app holds its
  // current release's hosts as well (Notify settles the claims on whichever release is current).
  await claimDomains(deps.store, { app: state.app, rackDomain: deps.rack.domain, check: hostsOf(manifest), write: unionHosts(hostsOf(current?.manifest), hostsOf(manifest)) });
  // then the app's ECR repository and the build record
  const builds = manifest.services.filter((s) => s.build);
  const build: BuildPlan = { needed: builds.length > 0, tag, images: {} };
  if (build.needed) {
    const repositoryUri = await ensureRepository(deps.ecr, repositoryName(deps.rack, state.app), deps.rack.name, state.app);
    build.repositoryUri = repositoryUri;
    build.project = deps.codebuildProject;
    for (const s of builds) build.images[s.name] = `${repositoryUri}:${s.name}-${tag}`.slice(0, repositoryUri.length + 129);
    build.environment = buildEnvironment(state, scan.stripComponents, build, manifest, key);
  } else {
    // nothing to build: no context to keep
    await discardContext();
  }
  Object.assign(build.images, pinnedImages);
  build.id = tag;
  const baseImages = [...new Set(builds.flatMap((s) => dockerfileBaseImages(scan.files[s.build!.dockerfile] ?? '')))];
  await deps.store.putBuild({
    id: tag,
    app: state.app,
    status: build.needed ? 'planned' : 'skipped',
    execution: state.execution,
    services: manifest.services.map((s) => s.name),
    images: build.images,
    source,
    createdAt: new Date(deps.now()).toISOString(),
  });
  await deps.store.rememberSource(state.app, source, scan.stripComponents, baseImages);
  return { ...state, manifest, stripComponents: scan.stripComponents, build, watch, ...(previous ? { previous } : {}) };
}

/** Watch's settings for this manifest: its rollout deadline (or MANIFEST_ROLLOUT_*), the fail-fast count. */
function watchSettings(rack: Rack, manifest: Manifest): NonNullable<DeployState['watch']> {
  return { ...deployDeadline(manifest, rack.watchDeadlineCapSeconds), failFastStops: Math.max(1, rack.failFastStops) };
}

async function readTarball(s3: S3Client, source: NonNullable<DeployState['source']>, limits: Partial<ScanLimits> | undefined, options: ScanOptions) {
  let body: GetObjectCommandOutput['Body'];
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: source.key, ...(source.versionId ? { VersionId: source.versionId } : {}) }));
    body = res.Body;
  } catch (error) {
    if (['NoSuchKey', 'NoSuchVersion', 'NotFound'].includes((error as Error).name)) {
      throw new NotFound('TARBALL_NOT_FOUND', `s3://${source.bucket}/${source.key}${source.versionId ? ` (version ${source.versionId})` : ''} no longer exists`, {
        key: source.key,
      });
    }
    throw error;
  }
  if (!body) throw new TarballRejected('TARBALL_EMPTY', `s3://${source.bucket}/${source.key} has no body`, { key: source.key });
  // streamed straight from S3 into gunzip + tar: never whole in memory or on disk
  return scanTarball(body as AsyncIterable<Uint8Array>, limits, options);
}

/**
 * Read-only: each service's task definition, rendered as Release will render it (the release id and
 * the build's digests as placeholders of their length), fits ECS's 64 KiB.
 */
async function checkTaskDefinitionSizes(deps: PrepareDeps, app: string, manifest: Manifest, pinnedImages: Record<string, string>): Promise<void> {
  const where = { partition: deps.partition ?? 'aws', account: deps.accountId ?? '000000000000', region: deps.rack.region };
  const repository = `${where.account}.dkr.ecr.${where.region}.amazonaws.com/${repositoryName(deps.rack, app)}`;
  const images = Object.fromEntries(manifest.services.map((s) => [s.name, pinnedImages[s.name] ?? pinnedPlaceholder(repository)]));
  const config = (await deps.store.getApp(app))?.config ?? {};
  const inputs = releaseTaskDefinitions({ rack: deps.rack, app, manifest, images, releaseId: newReleaseId(deps.now()), where, appConfig: config });
  for (const [service, input] of Object.entries(inputs)) {
    const environment = environmentBytes(input);
    if (environment > MANIFEST_LIMITS.environmentBytes) {
      throw new ManifestInvalid(
        'MANIFEST_ENVIRONMENT_TOO_LARGE',
        `services.${service}.environment: the rendered environment (manifest, app config and the rack's own variables) is ${environment.toLocaleString('en')} bytes; a service may have at most ${MANIFEST_LIMITS.environmentBytes.toLocaleString('en')} (32 KiB, half of ECS's 64 KiB task definition); move large values into secrets or the image`,
        { path: `services.${service}.environment`, bytes: environment, limit: MANIFEST_LIMITS.environmentBytes },
      );
    }
    const bytes = taskDefinitionBytes(input);
    if (bytes > TASK_DEFINITION_MAX_BYTES) {
      throw new QuotaExceeded(
        'TASK_DEFINITION_TOO_LARGE',
        `services.${service}: its task definition would be ${bytes.toLocaleString('en')} bytes, and ECS takes at most ${TASK_DEFINITION_MAX_BYTES.toLocaleString('en')} (64 KiB); move large values out of environment (into secrets or the image)`,
        { service, bytes, limit: TASK_DEFINITION_MAX_BYTES },
      );
    }
  }
}

/** Read-only: every policy the task role is to have exists (AttachRolePolicy would fail in Release, after the build). */
async function checkPolicies(iam: IAMClient, manifest: Manifest): Promise<void> {
  for (const arn of manifest.policies ?? []) {
    try {
      await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
    } catch (error) {
      if ((error as Error).name !== 'NoSuchEntityException' && (error as Error).name !== 'NoSuchEntity') throw error;
      throw new ManifestInvalid('MANIFEST_POLICY', `policies: ${arn} does not exist (or is not attachable)`, { path: 'policies', policy: arn });
    }
  }
}

/** Every rule of the rack's listeners (HTTP first): read once for the domain and quota checks. */
async function listenerRules(deps: PrepareDeps): Promise<Rule[][]> {
  const rules: Rule[][] = [];
  for (const listenerArn of rackListeners(deps.rack)) rules.push(await listRules(deps.elb, listenerArn));
  return rules;
}

/**
 * Read-only: a domain the listener already routes to another target group — a rule made by hand,
 * or before claims were kept — fails the deploy before any change.
 */
function checkDomains(deps: PrepareDeps, rules: Rule[], app: string, manifest: Manifest): void {
  for (const service of manifest.services.filter((s) => s.port && s.domains.length > 0)) {
    const own = targetGroupName(deps.rack.name, app, service.name);
    const [conflict] = domainConflicts(rules, service.domains, own);
    if (conflict) {
      throw new ManifestInvalid(
        'MANIFEST_DOMAIN_IN_USE',
        `services.${service.name}.domain: ${conflict.domain} is already routed to target group ${conflict.targetGroup} (another app or service)`,
        { path: `services.${service.name}.domain`, domain: conflict.domain },
      );
    }
  }
}

function buildEnvironment(state: DeployState, strip: 0 | 1, build: BuildPlan, manifest: Manifest, context: string): BuildPlan['environment'] {
  const source = state.source!;
  const builds = manifest.services
    .filter((s) => s.build)
    .map((s) => ({ service: s.name, context: s.build!.context, dockerfile: s.build!.dockerfile, image: build.images[s.name] }));
  const vars: Record<string, string> = {
    RACKLESS_APP: state.app,
    SOURCE_BUCKET: source.bucket,
    // the build reads the context Prepare wrote, never the upload: it extracts what was validated
    CONTEXT_KEY: context,
    STRIP_COMPONENTS: String(strip),
    REPOSITORY_URI: build.repositoryUri ?? '',
    IMAGE_TAG: build.tag ?? '',
    BUILDS: JSON.stringify(builds),
  };
  return Object.entries(vars).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' as const }));
}

async function prepareRedeploy(state: DeployState, deps: PrepareDeps, previous: ReleaseRef | undefined): Promise<DeployState> {
  const app = await deps.store.getApp(state.app);
  if (!app) throw new NotFound('APP_NOT_FOUND', `app ${state.app} does not exist in this rack`, { app: state.app });
  const releaseId = state.redeployRelease ?? app.currentRelease;
  if (!releaseId) throw new NotFound('RELEASE_NOT_FOUND', `app ${state.app} has no current release to redeploy`, { app: state.app });
  const release = await deps.store.getRelease(state.app, releaseId);
  if (!release) throw new NotFound('RELEASE_NOT_FOUND', `release ${releaseId} of app ${state.app} does not exist`, { app: state.app, release: releaseId });
  if (Object.keys(release.taskDefinitions ?? {}).length === 0) {
    throw new NotFound('RELEASE_NOT_FOUND', `release ${releaseId} of app ${state.app} never registered task definitions (it failed before Release)`, { release: releaseId });
  }
  return {
    ...state,
    redeployRelease: release.id,
    manifest: release.manifest,
    build: { needed: false, images: release.images, ...(release.buildId ? { id: release.buildId } : {}) },
    // the release's manifest under the rack's cap as it is now
    watch: watchSettings(deps.rack, release.manifest),
    ...(previous ? { previous } : {}),
  };
}
