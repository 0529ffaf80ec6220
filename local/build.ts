import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { extractContext } from './extract.js';
import type { ClientFactory } from '../shared/aws/clients.js';
import type { Integration } from './stepfunctions.js';
import type { ProvisionedStack } from './provision.js';

/**
 * CodeBuild in a local rack (moto can neither hold the NO_SOURCE project nor answer StartBuild in a
 * shape SDK v3 parses): the deploy machine's `codebuild:startBuild.sync` task runs here, for the
 * project the template declares, and "pushes" each image the build names by putting its manifest in
 * moto's ECR. Before that it does what the buildspec does with the build context: downloads it and
 * extracts it with the BuildSpec's own GNU tar command, and fails the build as `docker build` would
 * when a service's Dockerfile or context directory is not there. A test can make the next build of an
 * app end otherwise.
 */
export interface BuildScenario {
  status: 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'TIMED_OUT' | 'STOPPED';
}

export class BuildSimulator {
  private readonly scenarios = new Map<string, BuildScenario>();
  private readonly projects = new Map<string, Record<string, any>>();
  /** every build started: the project and its environment overrides */
  readonly builds: Array<{ project: string; environment: Record<string, string> }> = [];

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

  integration(): Integration {
    return async (params: { ProjectName: string; EnvironmentVariablesOverride: Array<{ Name: string; Value: string }> }) => {
      const project = this.projects.get(params.ProjectName);
      if (!project) throw Object.assign(new Error(`Project cannot be found: ${params.ProjectName}`), { name: 'CodeBuild.ResourceNotFoundException' });
      const vars = Object.fromEntries(params.EnvironmentVariablesOverride.map((v) => [v.Name, v.Value]));
      this.builds.push({ project: params.ProjectName, environment: vars });
      const app = vars.RACKLESS_APP!;
      const scenario = this.scenarios.get(app) ?? { status: 'SUCCEEDED' };
      this.scenarios.delete(app);
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
      const missing = scenario.status === 'SUCCEEDED' ? await this.extract(project, vars, builds) : undefined;
      if (missing) {
        Object.assign(build, {
          BuildStatus: 'FAILED',
          Phases: [{ PhaseType: 'BUILD', PhaseStatus: 'FAILED', Contexts: [{ Message: `COMMAND_EXECUTION_ERROR: docker build: ${missing}` }] }],
        });
      }
      // .sync fails the task with the Build as JSON in its cause, as Step Functions does
      if (build.BuildStatus !== 'SUCCEEDED') throw Object.assign(new Error(JSON.stringify(build)), { name: 'States.TaskFailed', cause: JSON.stringify(build) });
      for (const b of builds) {
        const [repository, tag] = [b.image.split('/').slice(1).join('/').split(':')[0]!, b.image.split(':').pop()!];
        const manifest = JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
          config: { digest: `sha256:${createHash('sha256').update(b.image).digest('hex')}` },
          layers: [],
        });
        await this.aws(ECRClient).send(new PutImageCommand({ repositoryName: repository, imageTag: tag, imageManifest: manifest }));
      }
      return { Build: build };
    };
  }

  /** The buildspec's pre_build: the context, extracted by its own command; what a build would miss, if anything. */
  private async extract(project: Record<string, any>, vars: Record<string, string>, builds: Array<{ context: string; dockerfile: string }>): Promise<string | undefined> {
    const dir = await mkdtemp(join(tmpdir(), 'rackless-build-'));
    try {
      const file = join(dir, 'context.tar.gz');
      const object = await this.aws(S3Client).send(new GetObjectCommand({ Bucket: vars.SOURCE_BUCKET, Key: vars.CONTEXT_KEY }));
      await pipeline(object.Body as NodeJS.ReadableStream, createWriteStream(file));
      const src = join(dir, 'src');
      await extractContext(project.Source?.BuildSpec ?? '', file, src, { STRIP_COMPONENTS: vars.STRIP_COMPONENTS ?? '0' });
      for (const b of builds) {
        const dockerfile = await lstat(join(src, b.dockerfile)).catch(() => undefined);
        if (!dockerfile?.isFile()) return `unable to prepare context: the Dockerfile ${b.dockerfile} is not a file in the extracted context`;
        const context = await lstat(join(src, b.context)).catch(() => undefined);
        if (!context?.isDirectory()) return `unable to prepare context: path ${b.context} not found`;
      }
      return undefined;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
