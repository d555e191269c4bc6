/**
 * The AWS clients a Lambda entry hands to its composition function, created once per module (cold
 * start). Region and credentials come from the Lambda environment.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../../core/ports.js';
import type { BaseClients } from '../../handlers/clients.js';
import { ulidGenerator } from '../ids.js';

/**
 * Clock, ids and the function's logger. The logger takes its service name from the function's own
 * `POWERTOOLS_SERVICE_NAME` (set per function by the stack), its level from `LOG_LEVEL`.
 */
export function awsBaseClients(): BaseClients {
  return { clock: systemClock, ids: ulidGenerator(), logger: new Logger() };
}
