import { resolve } from 'node:path';
import { formatBytes, packDirectory } from '../../local/pack.js';
import { APP_NAME, NAME_RULES } from '../../shared/names.js';
import { context, isLoopback, type GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import { DeployFollower, findUploadExecution, type FollowOptions } from '../follow.js';
import type { Io } from '../io.js';
import { uploadKey, uploadTarball } from '../upload.js';
import { dryRun } from './dry-run.js';

export interface DeployOptions extends GlobalOptions {
  app?: string;
  wait?: boolean;
  dryRun?: boolean;
  /** seconds */
  timeout?: number;
}

export function checkApp(app: string | undefined): string {
  if (!app) throw new CliError('no app given', 'pass --app NAME');
  if (!APP_NAME.test(app)) throw new CliError(`"${app}" is not a valid app name`, `app names are 2–30 characters: ${NAME_RULES}`);
  return app;
}

export function followOptions(options: GlobalOptions & { timeout?: number }): FollowOptions {
  // a local rack answers at once; a real one is asked every 2 s (GetExecutionHistory allows 5/s)
  return { pollMs: isLoopback(options.endpointUrl) ? 100 : 2000, timeoutMs: (options.timeout ?? 45 * 60) * 1000 };
}

export async function deploy(dir: string | undefined, options: DeployOptions, io: Io): Promise<number> {
  const app = checkApp(options.app);
  const root = resolve(dir ?? '.');
  io.out('Packing source... ');
  const packed = await packDirectory(root, { dockerignore: true }).catch((error: Error) => {
    io.out('FAILED\n');
    throw new CliError(`cannot pack ${root}: ${error.message}`, 'deploy a directory holding a Dockerfile or rackless.yml');
  });
  io.out(`OK (${packed.files.length} files, ${formatBytes(packed.bytes)}${packed.ignored.length ? `, ${packed.ignored.length} ignored by .dockerignore` : ''})\n`);
  if (!packed.files.includes('Dockerfile') && !packed.files.includes('rackless.yml') && !packed.files.includes('rackless.yaml')) {
    throw new CliError(`${root} has neither a Dockerfile nor a rackless.yml`, 'a rack builds the Dockerfile, or runs the images rackless.yml names');
  }
  const ctx = await context(options);
  if (options.dryRun) return dryRun(ctx, io, app, packed.tarball);
  const uploaded = await uploadTarball(ctx, io, uploadKey(app), packed.tarball);
  if (options.wait === false) {
    io.out(`Uploaded s3://${ctx.rack.bucket}/${uploaded.key}${uploaded.versionId ? ` (version ${uploaded.versionId})` : ''}; the rack deploys it from here.\n`);
    return 0;
  }
  const follow = followOptions(options);
  io.out('Starting deploy... ');
  const execution = await findUploadExecution(ctx, app, uploaded, follow);
  io.out(`OK (${execution})\n`);
  return new DeployFollower(ctx, io, app, execution, follow).run();
}
