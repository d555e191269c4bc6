/**
 * Item keys. One table holds every item type (DESIGN §3):
 *
 * | item              | pk                     | sk                                  |
 * |-------------------|------------------------|-------------------------------------|
 * | snapshot          | SNAP#<id>              | SNAP                                |
 * | replay result     | SNAP#<id>              | REPLAY#<createdAt>#<replayId>       |
 * | validation report | SNAP#<id>              | VALIDATION#<createdAt>#<reportId>   |
 * | policy            | POLICY#<name>          | V#<version, 10 digits> and LATEST   |
 * | executor config   | FN#<functionName>      | EXECUTOR                            |
 * | batch             | BATCH#<id>             | META, IDS / RESULT#<snapshotId>     |
 * | idempotency       | IDEMP#<key>            | IDEMP                               |
 *
 * GSI1 (`gsi1pk`/`gsi1sk`): `FN#<functionName>` / `<createdAt>#<id>` on snapshots; sparse entries
 * list policies (`POLICIES` / name) and batches (`BATCHES` / `<createdAt>#<batchId>`).
 * GSI2 (`gsi2pk`/`gsi2sk`): `IN#<functionName>#<inputsHash>` / `<createdAt>#<id>` on snapshots.
 */
export const keys = {
  snapshot: (id: string) => ({ pk: `SNAP#${id}`, sk: 'SNAP' }),
  snapshotGsi1: (functionName: string, createdAt: string, id: string) => ({ gsi1pk: `FN#${functionName}`, gsi1sk: `${createdAt}#${id}` }),
  snapshotGsi2: (functionName: string, inputsHash: string, createdAt: string, id: string) => ({ gsi2pk: `IN#${functionName}#${inputsHash}`, gsi2sk: `${createdAt}#${id}` }),
  replay: (snapshotId: string, createdAt: string, replayId: string) => ({ pk: `SNAP#${snapshotId}`, sk: `REPLAY#${createdAt}#${replayId}` }),
  replayPrefix: 'REPLAY#',
  validationPrefix: 'VALIDATION#',
  policyVersion: (name: string, version: number) => ({ pk: `POLICY#${name}`, sk: `V#${String(version).padStart(10, '0')}` }),
  policyLatest: (name: string) => ({ pk: `POLICY#${name}`, sk: 'LATEST' }),
  executor: (functionName: string) => ({ pk: `FN#${functionName}`, sk: 'EXECUTOR' }),
  batchMeta: (batchId: string) => ({ pk: `BATCH#${batchId}`, sk: 'META' }),
  batchResult: (batchId: string, snapshotId: string) => ({ pk: `BATCH#${batchId}`, sk: `RESULT#${snapshotId}` }),
  batchResultPrefix: 'RESULT#',
  idempotency: (key: string) => ({ pk: `IDEMP#${key}`, sk: 'IDEMP' }),
} as const;

/** Sparse GSI1 entries that list things other than snapshots (GSI1 is projected ALL). */
export const listKeys = {
  /** On each policy's LATEST item: lists every policy by name. */
  policy: (name: string) => ({ gsi1pk: 'POLICIES', gsi1sk: name }),
  policyPartition: 'POLICIES',
  /** On each batch's META item: lists every batch, newest first (`GET /batches`). */
  batch: (createdAt: string, batchId: string) => ({ gsi1pk: 'BATCHES', gsi1sk: `${createdAt}#${batchId}` }),
  batchPartition: 'BATCHES',
} as const;
