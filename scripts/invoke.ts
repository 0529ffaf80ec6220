/**
 * `npm run invoke -- <function> <event file>`: runs one real handler with a sample event against a
 * local rack on moto (started on a free 127.0.0.1 port, stopped on exit) and prints what it returned.
 * Against a deployed rack, `serverless invoke -f <function> -p <event file> --stage <rack>` does the same.
 */
import { readFileSync } from 'node:fs';
import { startMoto } from '../local/moto.js';
import { LocalRack } from '../local/rack.js';

const [fn, file] = process.argv.slice(2);
if (!fn || !file) {
  console.error('usage: npm run invoke -- <function> <event file>   e.g. npm run invoke -- start-deployment events/s3-object-created.json');
  process.exit(2);
}
process.env.LOG_LEVEL ??= 'INFO';
const event = JSON.parse(readFileSync(file, 'utf8'));
const moto = await startMoto();
let code = 0;
try {
  const rack = await new LocalRack({ endpoint: moto.url, name: 'rackless-invoke' }).create();
  await rack.loadHandlers();
  const result = await rack.handler(fn)(event, {});
  console.log(JSON.stringify(result, null, 2));
} catch (error) {
  console.error(`${(error as Error).name}: ${(error as Error).message}`);
  code = 1;
} finally {
  await moto.stop();
}
process.exit(code);
