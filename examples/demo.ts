// `npm run demo`: the same demo as `rackless local demo`
import { localDemo } from '../cli/commands/local.js';
import { run } from '../cli/main.js';
import { processIo } from '../cli/io.js';

process.exitCode = await localDemo(processIo(), { run });
