#!/usr/bin/env node
// The `rackless` bin: runs the compiled CLI (dist/cli/main.mjs, built by scripts/build-cli.mjs on
// `npm ci`, `npm pack` and `npm run rackless`) on the machine's Node (20 or later), with production
// dependencies only. `rackless local` runs the rack from the repository's TypeScript sources, so for
// it alone the bin registers tsx (a dev dependency of a checkout).
import { existsSync } from 'node:fs';

// AWS SDK v3 warns on every run under Node 20 about a 2027 support change; a CLI user cannot act on it
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `rackless … | head`: the reader went away; stop quietly, as a Unix tool does, instead of a stack trace
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

const args = process.argv.slice(2);
const compiled = new URL('../dist/cli/main.mjs', import.meta.url);
const fromSources = args.find((a) => !a.startsWith('-')) === 'local' || !existsSync(compiled);
if (fromSources) {
  // aws-local-stepfunctions (local mode) needs Promise.withResolvers, which Node 22 added
  Promise.withResolvers ??= function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
  try {
    (await import('tsx/esm/api')).register();
  } catch {
    process.stderr.write('error: `rackless local` runs from a checkout of the repository after `npm ci` (it needs its dev dependencies)\n');
    process.exit(1);
  }
}
const { run } = await import(fromSources ? './main.ts' : compiled.href);
process.exitCode = await run(args);
