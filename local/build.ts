import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { extractContext } from './extract.js';
import type { ClientFactory } from '../shared/aws/clients.js';
import type { Integration } from './stepfunctions.js';
import type { ProvisionedStack } from './provision.js';
import { pinned } from '../shared/images/reference.js';
import { builtApp, type SimulatedApp } from './task-fate.js';

/**
 * CodeBuild in a local rack (moto can neither hold the NO_SOURCE project nor answer StartBuild in a
 * shape SDK v3 parses): the deploy machine's `codebuild:startBuild.sync` task runs here, for the
 * project the template declares, and "pushes" each image the build names by putting its manifest in
 * moto's ECR. Before that it does what the buildspec does with the build context: downloads it and
 * extracts it with the BuildSpec's own GNU tar command, and fails the build as `docker build` would
 * when a service's Dockerfile or context directory is not there. A test can make the next build of an
 * app end otherwise, or have its StartBuild refused first (a transient error the Build state retries). What each image it pushes would serve over HTTP (local/task-fate.ts, from the
 * Dockerfile and the context's files) is kept for the ECS simulator's health checks.
 */
export interface BuildScenario {
  status: 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'TIMED_OUT' | 'STOPPED';
}

export class BuildSimulator {
  private readonly scenarios = new Map<string, BuildScenario>();
  private readonly projects = new Map<string, Record<string, any>>();
  /** every build started: the project and its environment overrides */
  readonly builds: Array<{ project: string; environment: Record<string, string> }> = [];
  /** what each pushed image serves, by its tag reference and by the digest reference a task definition pins */
  private readonly apps = new Map<string, SimulatedApp>();

  /** What an image this rack built serves, by the reference a task definition names; undefined for images built elsewhere. */
  appOf(reference: string): SimulatedApp | undefined {
    return this.apps.get(reference);
  }

  constructor(
    private readonly aws: ClientFactory,
    private readonly region: string,
  ) {}

  load(stack: ProvisionedStack): void {
    for (const part of stack.local) if (part.kind === 'build-project') this.projects.set(part.properties.Name, part.properties);
  }

  /** The next build of this app ends like this (default: it succeeds). */
  next(app: string, scenario: BuildScenario): void {
    this.scenarios.set(app, scenario);
  }

  private readonly refusals = new Map<string, { error: string; times: number }>();
  /** StartBuild refusals answered so far, in order: the app and the error */
  readonly refused: Array<{ app: string; error: string }> = [];

  /** The next `times` StartBuild calls for this app are refused with a CodeBuild error (AccountLimitExceededException: the concurrent-build quota) before any build starts. */
  refuse(app: string, error: string, times: number): void {
    this.refusals.set(app, { error, times });
  }

  integration(): Integration {
    return async (params: { ProjectName: string; EnvironmentVariablesOverride: Array<{ Name: string; Value: string }> }) => {
      const project = this.projects.get(params.ProjectName);
      if (!project) throw Object.assign(new Error(`Project cannot be found: ${params.ProjectName}`), { name: 'CodeBuild.ResourceNotFoundException' });
      const vars = Object.fromEntries(params.EnvironmentVariablesOverride.map((v) => [v.Name, v.Value]));
      const app = vars.RACKLESS_APP!;
      const refusal = this.refusals.get(app);
      if (refusal && refusal.times > 0) {
        refusal.times--;
        this.refused.push({ app, error: refusal.error });
        // a service integration's error is the service's exception prefixed by the service name
        throw Object.assign(new Error(`StartBuild refused (simulated): ${refusal.error}`), { name: `CodeBuild.${refusal.error}` });
      }
      const scenario = this.scenarios.get(app) ?? { status: 'SUCCEEDED' };
      this.scenarios.delete(app);
      this.builds.push({ project: params.ProjectName, environment: vars });
      const id = `${params.ProjectName}:${createHash('sha256')
        .update(vars.IMAGE_TAG ?? '')
        .digest('hex')
        .slice(0, 8)}`;
      const logGroup = project.LogsConfig?.CloudWatchLogs?.GroupName ?? `/aws/codebuild/${params.ProjectName}`;
      const build = {
        Id: id,
        BuildStatus: scenario.status,
        ProjectName: params.ProjectName,
        Logs: { DeepLink: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#logEvent:group=${logGroup}` },
        Phases:
          scenario.status === 'SUCCEEDED'
            ? []
            : [
                {
                  PhaseType: 'BUILD',
                  PhaseStatus: 'FAILED',
                  Contexts: [{ Message: 'COMMAND_EXECUTION_ERROR: Error while executing command: docker build. Reason: exit status 1' }],
                },
              ],
      };
      const builds = JSON.parse(vars.BUILDS ?? '[]') as Array<{ service: string; image: string; context: string; dockerfile: string }>;
      const extracted = scenario.status === 'SUCCEEDED' ? await this.extract(project, vars, builds) : undefined;
      const missing = extracted?.missing;
      if (missing) {
        Object.assign(build, {
          BuildStatus: 'FAILED',
          Phases: [{ PhaseType: 'BUILD', PhaseStatus: 'FAILED', Contexts: [{ Message: `COMMAND_EXECUTION_ERROR: docker build: ${missing}` }] }],
        });
      }
      // .sync fails the task with the Build as JSON in its cause, as Step Functions does
      if (build.BuildStatus !== 'SUCCEEDED') throw Object.assign(new Error(JSON.stringify(build)), { name: 'States.TaskFailed', cause: JSON.stringify(build) });
      for (const [index, b] of builds.entries()) {
        const [repository, tag] = [b.image.split('/').slice(1).join('/').split(':')[0]!, b.image.split(':').pop()!];
        const manifest = JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
          config: { digest: `sha256:${createHash('sha256').update(b.image).digest('hex')}` },
          // moto digests an image by its layers' digests: one layer of its own gives each build its own
          // digest, as ECR's digest of each build's manifest would (with none, every build pins alike)
          layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 0, digest: `sha256:${createHash('sha256').update(`layer\n${b.image}`).digest('hex')}` }],
        });
        const put = await this.aws(ECRClient).send(new PutImageCommand({ repositoryName: repository, imageTag: tag, imageManifest: manifest }));
        const app = extracted?.apps[index];
        if (app) {
          this.apps.set(b.image, app);
          const digest = put.image?.imageId?.imageDigest;
          if (digest) this.apps.set(pinned(b.image, digest), app);
        }
      }
      return { Build: build };
    };
  }

  /** The buildspec's pre_build: the context, extracted by its own command; what a build would miss, if anything, else what each image serves. */
  private async extract(
    project: Record<string, any>,
    vars: Record<string, string>,
    builds: Array<{ context: string; dockerfile: string }>,
  ): Promise<{ missing?: string; apps: SimulatedApp[] }> {
    const dir = await mkdtemp(join(tmpdir(), 'rackless-build-'));
    try {
      const file = join(dir, 'context.tar.gz');
      const object = await this.aws(S3Client).send(new GetObjectCommand({ Bucket: vars.SOURCE_BUCKET, Key: vars.CONTEXT_KEY }));
      await pipeline(object.Body as NodeJS.ReadableStream, createWriteStream(file));
      const src = join(dir, 'src');
      await extractContext(project.Source?.BuildSpec ?? '', file, src, { STRIP_COMPONENTS: vars.STRIP_COMPONENTS ?? '0' });
      const apps: SimulatedApp[] = [];
      for (const b of builds) {
        const dockerfile = await lstat(join(src, b.dockerfile)).catch(() => undefined);
        if (!dockerfile?.isFile()) return { missing: `unable to prepare context: the Dockerfile ${b.dockerfile} is not a file in the extracted context`, apps };
        const context = await lstat(join(src, b.context)).catch(() => undefined);
        if (!context?.isDirectory()) return { missing: `unable to prepare context: path ${b.context} not found`, apps };
        apps.push(builtApp(await readFile(join(src, b.dockerfile), 'utf8'), await contextFiles(join(src, b.context))));
      }
      return { apps };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** The regular files (and symlinks) under a build context, relative to it with `/` separators. */
async function contextFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() || entry.isSymbolicLink()) found.push(relative(dir, path).split(sep).join('/'));
    }
  };
  await walk(dir);
  return found.sort();
}
