/**
 * What the reports read from the table, in bulk: a batch and its results (through the batch
 * store), the recorded facts of many snapshots (BatchGet, only the attributes a report shows), the
 * full replay results of the rows a report lists (BatchGet by key) and one replay of a snapshot.
 */
import type { DocumentClient } from './document-client.js';
import type { Batch, BatchResult, BatchStore } from '../../core/batch.js';
import type { ReplayResult } from '../../core/replay.js';
import type { BatchReportReader, ReplayLookup, ReplayRef, SnapshotFacts } from '../../reports/index.js';
import { batchGetItems } from './batch-get.js';
import { keys } from './keys.js';

type Item = Record<string, unknown>;

export class DynamoReportReader implements BatchReportReader, ReplayLookup {
  constructor(
    private readonly doc: DocumentClient,
    private readonly tableName: string,
    private readonly batches: Pick<BatchStore, 'get' | 'forEachResult'>,
  ) {}

  getBatch(batchId: string): Promise<Batch | undefined> {
    return this.batches.get(batchId);
  }

  forEachResult(batchId: string, visit: (result: BatchResult) => void): Promise<number> {
    return this.batches.forEachResult(batchId, visit);
  }

  async snapshotFacts(snapshotIds: readonly string[]): Promise<Map<string, SnapshotFacts>> {
    const found = new Map<string, SnapshotFacts>();
    const items = await batchGetItems(
      this.doc,
      this.tableName,
      snapshotIds.map((id) => keys.snapshot(id)),
      { ProjectionExpression: 'snapshotId, functionName, executionTimeMs, modelParameters.modelName, modelParameters.modelVersion' },
    );
    for (const item of items) {
      const mp = item.modelParameters as { modelName?: unknown; modelVersion?: unknown } | undefined;
      found.set(String(item.snapshotId), {
        functionName: String(item.functionName),
        ...(typeof item.executionTimeMs === 'number' && { executionTimeMs: item.executionTimeMs }),
        ...(typeof mp?.modelName === 'string' && { modelName: mp.modelName }),
        ...(typeof mp?.modelVersion === 'string' && { modelVersion: mp.modelVersion }),
      });
    }
    return found;
  }

  async replayResults(refs: readonly ReplayRef[]): Promise<Map<string, Pick<ReplayResult, 'replayId' | 'snapshotId' | 'fieldComparisons' | 'policyViolations' | 'executor'>>> {
    // Only what the report shows of a replay: its comparisons, violations and executor.
    const items = await batchGetItems(this.doc, this.tableName, refs.map((r) => keys.replay(r.snapshotId, r.sortAt, r.replayId)), {
      ProjectionExpression: '#id, #snap, #fc, #pv, #ex',
      ExpressionAttributeNames: { '#id': 'replayId', '#snap': 'snapshotId', '#fc': 'fieldComparisons', '#pv': 'policyViolations', '#ex': 'executor' },
    });
    return new Map(items.map((item) => [String(item.replayId), strip<ReplayResult>(item)]));
  }

  async findReplay(snapshotId: string, replayId: string): Promise<ReplayResult | undefined> {
    // A replay's key holds its history position (its time, or its batch's start), not known from
    // the id alone: read the snapshot's history newest first until the id turns up.
    let startKey: Item | undefined;
    do {
      const res = await this.doc.query({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.snapshot(snapshotId).pk, ':prefix': keys.replayPrefix, ...(replayId !== 'latest' && { ':id': replayId }) },
        ...(replayId !== 'latest' && { FilterExpression: 'replayId = :id' }),
        ScanIndexForward: false,
        ...(replayId === 'latest' && { Limit: 1 }),
        ExclusiveStartKey: startKey,
      });
      const item = res.Items?.[0];
      if (item) return strip<ReplayResult>(item);
      startKey = replayId === 'latest' ? undefined : res.LastEvaluatedKey;
    } while (startKey);
    return undefined;
  }
}

function strip<T>(item: Item): T {
  const { pk: _pk, sk: _sk, itemType: _t, ...rest } = item;
  return rest as T;
}
