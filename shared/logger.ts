import { Logger } from '@aws-lambda-powertools/logger';

/** The one logger: structured JSON lines in CloudWatch, quiet under tests unless LOG_LEVEL is set. */
export const logger = new Logger({
  serviceName: 'rackless',
  logLevel: (process.env.LOG_LEVEL ?? (process.env.VITEST ? 'SILENT' : 'INFO')) as 'INFO',
});
