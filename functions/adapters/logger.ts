import { Logger } from '@aws-lambda-powertools/logger';

/** The structured JSON logger of a Lambda (service name and level from POWERTOOLS_* / LOG_LEVEL). */
export function createLogger(serviceName = 'decision-replay'): Logger {
  return new Logger({ serviceName });
}
