#!/usr/bin/env node
// The `rackless` bin: runs the TypeScript CLI through tsx on the machine's Node (20 or later).
import { register } from 'tsx/esm/api';

// AWS SDK v3 warns on every run under Node 20 about a 2027 support change; a CLI user cannot act on it
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
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
register();
const { run } = await import('./main.ts');
process.exitCode = await run(process.argv.slice(2));
