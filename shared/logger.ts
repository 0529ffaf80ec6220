import { Logger } from '@aws-lambda-powertools/logger';

/** The one logger: structured JSON lines in CloudWatch (level from LOG_LEVEL, INFO by default; local mode sets its own). */
export const logger = new Logger({ serviceName: 'rackless' });
