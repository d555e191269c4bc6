/**
 * The AWS clients a Lambda entry hands to its composition function, created once per module (cold
 * start). Region and credentials come from the Lambda environment.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../../core/ports.js';
import type { BaseClients } from '../../handlers/clients.js';
import { ulidGenerator } from '../ids.js';
import { createMetrics, powertoolsTelemetry } from '../telemetry.js';

/**
 * Clock, ids, the function's logger and its metrics. Both take their service name from the
 * function's own `POWERTOOLS_SERVICE_NAME` (set per function by the stack); the logger its level
 * from `LOG_LEVEL`. Metrics go to CloudWatch as EMF lines in the function's log.
 */
export function awsBaseClients(): BaseClients {
  return { clock: systemClock, ids: ulidGenerator(), logger: new Logger(), telemetry: powertoolsTelemetry(createMetrics()) };
}
