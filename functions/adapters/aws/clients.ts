/**
 * The AWS clients a Lambda entry hands to its composition function, created once per module (cold
 * start). Region and credentials come from the Lambda environment.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../../core/ports.js';
import type { BaseClients } from '../../handlers/clients.js';
import { ulidGenerator } from '../ids.js';
import { escapeJsonControls } from '../log-text.js';
import { createMetrics, powertoolsTelemetry } from '../telemetry.js';

/**
 * Clock, ids, the function's logger and its metrics. Both take their service name from the
 * function's own `POWERTOOLS_SERVICE_NAME` (set per function by the stack); the logger its level
 * from `LOG_LEVEL`. Metrics go to CloudWatch as EMF lines in the function's log.
 */
export function awsBaseClients(): BaseClients {
  return { clock: systemClock, ids: ulidGenerator(), logger: createLogger(), telemetry: powertoolsTelemetry(createMetrics()) };
}

/**
 * The functions' logger: JSON lines, whose strings may carry a user's text (a rule's name, an
 * error's message). JSON.stringify escapes C0 controls but leaves C1 controls and bidirectional
 * overrides raw, which a terminal (`aws logs tail`) or the console's browser would obey: every
 * string is written with those spelled out (`\u202e`).
 */
export function createLogger(): Logger {
  return new Logger({ jsonReplacerFn: (_key, value) => (typeof value === 'string' ? escapeJsonControls(value) : value) });
}
