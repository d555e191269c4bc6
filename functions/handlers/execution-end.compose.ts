/**
 * The execution-end function: a batch execution that ended abnormally (FAILED, TIMED_OUT or
 * ABORTED, outside the workflow's Catch) marks its batch FAILED, only while the batch is RUNNING.
 * On AWS an EventBridge rule on the state machine's "Execution Status Change" events invokes it;
 * the local host calls it with the same event when its state machine ends an execution that way.
 */
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { METRIC } from '../adapters/telemetry.js';
import { parseExecutionEnd } from '../api/execution-end.js';
import type { LambdaConfig } from '../config.js';
import { failBatchOnExecutionEnd, type BatchExecutionEndOutcome } from '../core/batch-execution-end.js';
import { withLambdaContext, withMetricsPublished, type TableClients } from './clients.js';

export function compose(config: LambdaConfig<'execution-end'>, clients: TableClients) {
  const { doc, clock, logger, telemetry } = clients;
  const deps = { batches: new DynamoBatchStore(doc, config.TABLE_NAME) };
  return withMetricsPublished(clients.telemetry, withLambdaContext(logger, async (event: unknown): Promise<BatchExecutionEndOutcome | { ignored: string }> => {
    const end = parseExecutionEnd(event, config.STATE_MACHINE_ARN, new Date(clock.now()).toISOString());
    if ('ignored' in end) {
      logger.info('execution end ignored', end);
      return end;
    }
    const outcome = await failBatchOnExecutionEnd(deps, end);
    if (outcome.outcome === 'failed') {
      telemetry.record(METRIC.batches, 'Count', 1, { status: 'FAILED' });
      logger.error('batch marked FAILED: its execution ended abnormally', { ...outcome, status: end.status, execution: end.execution });
    } else {
      logger.info('batch was no longer RUNNING when its execution ended; left as it is', { ...outcome, status: end.status, execution: end.execution });
    }
    return outcome;
  }));
}
