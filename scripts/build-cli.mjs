// Compiles the rackless CLI to dist/cli/main.mjs (ESM, Node 20). Dependencies stay external: the
// installed package resolves them from its production dependencies. Commands are code-split, so
// `rackless --help` loads commander and the command table only. `rackless local` stays on the
// TypeScript sources (it runs the handlers themselves): its import is left to the sources.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));

const localFromSources = {
  name: 'local-from-sources',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/local\.js$/ }, () => ({ path: '../../cli/commands/local.ts', external: true }));
  },
};

// `--outdir DIR` (tests and the bench build a copy of their own); the bin runs dist/cli
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? process.argv[at + 1] : 'dist/cli';

const result = await build({
  absWorkingDir: new URL('.', root).pathname,
  entryPoints: { main: 'cli/main.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  define: { RACKLESS_VERSION: JSON.stringify(version) },
  plugins: [localFromSources],
  logLevel: 'warning',
});
// `--metafile`: what each output imports, for the test that keeps dev dependencies out of the CLI
if (process.argv.includes('--metafile')) process.stdout.write(JSON.stringify(result.metafile));
