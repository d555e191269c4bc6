/**
 * Batches survive a crash of the local host. Every batch record written through the host's
 * DynamoDB client (the META item, API-started or scheduled alike) is journaled in DATA_DIR; on the
 * next start each journaled batch still RUNNING is resumed by starting its execution again with
 * `{batchId}`. Plan reads the recorded snapshot ids, and every item finds its stored result before
 * calling an executor, so a resumed batch does only the work that was left. A batch that cannot be
 * resumed is marked FAILED with the reason, under a code; no batch stays RUNNING after a restart (one
 * whose listed ids were never written to its manifest ends FAILED in Plan: BATCH_NOT_PLANNED).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { BatchStore } from '../core/batch.js';
import type { Journal } from './journal.js';
import { thrownFailure } from '../api/error-codes.js';

/** Journals every batch record the client creates (a conditional put of a `BATCH#…`/`META` item). */
export function tapBatchRecords(client: DynamoDBClient, journal: Journal): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutItemCommand') {
        const item = (args.input as { Item?: Record<string, { S?: string }> }).Item;
        const pk = item?.pk?.S;
        // Journaled before the put: a batch whose record exists is always in the journal.
        if (item?.sk?.S === 'META' && pk?.startsWith('BATCH#')) journal.begin(pk, '');
      }
      return next(args);
    },
    { step: 'build', name: 'localBatchJournal' },
  );
}

export interface RecoveryDeps {
  journal: Journal;
  batches: BatchStore;
  /** Starts (resumes) the execution of an API-shaped batch input. */
  start(batchId: string): void;
  now(): string;
  log(message: string): void;
}

/** Resumes or fails every journaled batch that is still RUNNING; forgets the others. Returns what it did. */
export async function recoverBatches(deps: RecoveryDeps): Promise<{ resumed: string[]; failed: string[] }> {
  const resumed: string[] = [];
  const failed: string[] = [];
  for (const pk of deps.journal.pending().keys()) {
    const batchId = pk.slice('BATCH#'.length);
    const batch = await deps.batches.get(batchId);
    if (batch?.status !== 'RUNNING') {
      deps.journal.finish(pk);
      continue;
    }
    try {
      deps.start(batchId);
      resumed.push(batchId);
      deps.log(`batch ${batchId} was RUNNING when the host stopped: resumed`);
    } catch (err) {
      const failure = thrownFailure(err);
      const reason = `${failure.code}: the local host restarted and could not resume this batch: ${failure.message}`;
      if (await deps.batches.failIfRunning(batchId, reason, deps.now())) failed.push(batchId);
      deps.journal.finish(pk);
      deps.log(`batch ${batchId} was RUNNING when the host stopped and could not be resumed: marked FAILED`);
    }
  }
  return { resumed, failed };
}
