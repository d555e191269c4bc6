/**
 * The DynamoDB stream consumer: each record is processed on its own (Powertools batch processor),
 * failures are reported per record (`batchItemFailures`), and only INSERTs of snapshot items are
 * handled — the CDK filter criteria let nothing else through, and this guard keeps it so.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { isSnapshotInsert } from '../adapters/dynamodb/snapshot-stream.js';
import { handleSnapshotWritten, type OnWriteDeps, type OnWriteSummary } from '../core/on-write.js';
import type { PolicyStore, StoredPolicy } from '../core/policy.js';
import { SnapshotSchema, type Snapshot } from '../core/snapshot.js';
import { ValidationError } from '../core/errors.js';
import type { CodedFailure } from './error-codes.js';

/** A stream record that cannot be a snapshot: retrying will not help, so it goes to the failure destination. */
export class MalformedStreamRecordError extends ValidationError {
  constructor(message: string) {
    super(message, { code: 'MALFORMED_STREAM_RECORD' });
  }
}

/** Handles one record; undefined when it is not a snapshot insert (skipped, not failed). */
export async function processRecord(deps: OnWriteDeps, record: DynamoDBRecord, observer?: StreamObserver): Promise<OnWriteSummary | undefined> {
  if (!isSnapshotInsert(record)) return undefined;
  try {
    const item = unmarshall(record.dynamodb?.NewImage as Record<string, AttributeValue>);
    const parsed = SnapshotSchema.safeParse(DynamoSnapshotStore.fromItem(item));
    if (!parsed.success) throw new MalformedStreamRecordError(`record ${record.eventID ?? '?'}: not a snapshot: ${parsed.error.issues[0]?.message ?? ''}`);
    const summary = await handleSnapshotWritten(deps, parsed.data);
    observer?.processed(parsed.data, summary);
    return summary;
  } catch (err) {
    observer?.failed(record, err);
    throw err;
  }
}

/** Told about each snapshot insert the consumer handled, and each it failed (logging, metrics). */
export interface StreamObserver {
  processed(snapshot: Snapshot, summary: OnWriteSummary): void;
  failed(record: DynamoDBRecord, error: unknown): void;
}

/**
 * Told why a record failed, as `{code, message}` (`thrownFailure` in ./error-codes.ts): the local stream keeps it
 * as the reason of a record it gives up on. (On AWS the failure queue's message names the records,
 * not why; the function's `stream record failed` log line says why.)
 */
export type RecordFailureListener = (record: DynamoDBRecord, failure: CodedFailure) => void;

/**
 * The policy store as seen during one stream event: a batch holds many snapshots of few functions,
 * so each function's attached policies are read once per event (a policy changed mid-event applies
 * from the next event on, as it would have a moment later anyway).
 */
function perEventPolicies(policies: PolicyStore): PolicyStore {
  const attached = new Map<string, Promise<StoredPolicy[]>>();
  return Object.assign(Object.create(policies) as PolicyStore, {
    listAttachedTo(functionName: string): Promise<StoredPolicy[]> {
      let p = attached.get(functionName);
      if (!p) {
        p = policies.listAttachedTo(functionName);
        attached.set(functionName, p);
        p.catch(() => attached.delete(functionName));
      }
      return p;
    },
  });
}

/** The Lambda handler over a DynamoDB stream event. */
export function makeStreamHandler(deps: OnWriteDeps, observer?: StreamObserver): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  return (event) => {
    const eventDeps = { ...deps, policies: perEventPolicies(deps.policies) };
    return processPartialResponse(event, (record: DynamoDBRecord) => processRecord(eventDeps, record, observer), processor);
  };
}
