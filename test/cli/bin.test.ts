import { execFileSync, spawn } from 'node:child_process';
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The installed `rackless`: the bin runs the compiled CLI (scripts/build-cli.mjs) with production
 * dependencies only, prints its version, and ends quietly when its reader goes away.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../cli/bin.mjs', import.meta.url));
const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };

interface Metafile {
  outputs: Record<string, { imports: Array<{ path: string; kind: string; external?: boolean }> }>;
}

/** 'node:fs' → fs; '@aws-sdk/client-ecs/dist' → @aws-sdk/client-ecs; 'yaml' → yaml */
function packageOf(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function runBin(args: string[], options: { closeStdout?: boolean } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let metafile: Metafile;
beforeAll(() => {
  // what `npm ci` (prepare) builds, into the folder the bin runs
  metafile = JSON.parse(execFileSync(process.execPath, ['scripts/build-cli.mjs', '--metafile'], { cwd: ROOT, encoding: 'utf8' })) as Metafile;
}, 60_000);

describe('the compiled CLI', () => {
  it('imports only node built-ins and production dependencies, except `local`, which runs from the sources', () => {
    const externals = new Set<string>();
    for (const output of Object.values(metafile.outputs)) for (const i of output.imports) if (i.external) externals.add(i.path);
    const sources = [...externals].filter((path) => path.startsWith('.'));
    expect(sources).toEqual(['../../cli/commands/local.ts']);
    const packages = [...externals].filter((path) => !path.startsWith('.')).map(packageOf);
    const allowed = (name: string) => name.startsWith('node:') || builtinModules.includes(name) || name in pkg.dependencies;
    expect(packages.filter((name) => !allowed(name))).toEqual([]);
    // it does use them: the SDK clients are what the commands call
    expect(packages).toContain('@aws-sdk/client-ecs');
    expect(packages).toContain('commander');
  });

  it('--help loads commander and the command table, not a command', () => {
    const main = Object.entries(metafile.outputs).find(([file]) => file.endsWith('main.mjs'))![1];
    const loadedFirst = main.imports.filter((i) => i.kind === 'import-statement').map((i) => packageOf(i.path));
    expect(loadedFirst.filter((name) => name.startsWith('@aws-sdk/'))).toEqual([]);
    expect(main.imports.some((i) => i.kind === 'dynamic-import')).toBe(true);
  });

  it('--version prints the package version', async () => {
    const run = await runBin(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('ends quietly when the reader of its output goes away (`rackless … | head`)', async () => {
    const run = await runBin(['--help'], { closeStdout: true });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('refuses an unknown command with exit code 2 and the usage hint', async () => {
    const run = await runBin(['deploi']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown command 'deploi'/);
  });
});
