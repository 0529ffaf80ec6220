import { logger } from '../../shared/logger.js';

// the handlers' logs would bury vitest's report; LOG_LEVEL=DEBUG npm test shows them
logger.setLogLevel((process.env.LOG_LEVEL as 'DEBUG' | undefined) ?? 'SILENT');
