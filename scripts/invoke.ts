/**
 * `npm run invoke -- <function> <event file>`: hands one sample event to one function of a local rack
 * on moto (started on a free 127.0.0.1 port, stopped on exit), as an asynchronous invocation — what
 * EventBridge does — and prints what the function returned. Against a deployed rack,
 * `serverless invoke -f <function> -p <event file> --stage <rack>` does the same.
 */
import { readFileSync } from 'node:fs';
import { startMoto } from '../local/moto.js';
import { LocalRack } from '../local/rack.js';
import { logger } from '../shared/logger.js';

const [fn, file] = process.argv.slice(2);
if (!fn || !file) {
  console.error('usage: npm run invoke -- <function> <event file>   e.g. npm run invoke -- start-deployment events/s3-object-created.json');
  process.exit(2);
}
logger.setLogLevel((process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'INFO');
const event = JSON.parse(readFileSync(file, 'utf8'));
const moto = await startMoto();
let code = 0;
try {
  const rack = await LocalRack.start({ endpoint: moto.url, stage: 'local' });
  const outcome = await rack.functions.invokeAsync(fn, event);
  if (outcome.failed) {
    console.error(JSON.stringify(outcome.failed.responsePayload, null, 2));
    code = 1;
  } else console.log(JSON.stringify(outcome.result, null, 2));
} catch (error) {
  console.error(`${(error as Error).name}: ${(error as Error).message}`);
  code = 1;
} finally {
  await moto.stop();
}
process.exit(code);
