/**
 * Batches start on the deployed state machine through Step Functions. The client (and its
 * commands) load with the first start or cancel, not with the function: see lib/function-bundle.ts.
 */
import type { BatchStarterFactory } from '../../handlers/clients.js';
import { onFirstUse } from '../../core/on-first-use.js';

export const awsBatchStarter: BatchStarterFactory = (stateMachineArn) => {
  const starter = onFirstUse(async () => (await import('../sdk/sfn-batch-starter.js')).createSfnBatchStarter(stateMachineArn));
  return {
    start: async (batchId, input) => (await starter()).start(batchId, input),
    stop: async (batchId, reason) => (await starter()).stop(batchId, reason),
  };
};
