/** Assembles the diff view and the replay view from the stores (through ports; no I/O of its own). */
import { diffSnapshots } from '../core/diff.js';
import { NotFoundError } from '../core/errors.js';
import type { SnapshotStore } from '../core/ports.js';
import type { ReplayResult } from '../core/replay.js';
import { integrityOf, readableSnapshot, type Snapshot } from '../core/snapshot.js';
import type { DiffReportData, DiffSide, ReplayReportData } from './model.js';

/** Port: one replay result of a snapshot's history. */
export interface ReplayLookup {
  /** The replay `replayId` of the snapshot, or its most recent replay when `replayId` is `latest`. */
  findReplay(snapshotId: string, replayId: string | 'latest'): Promise<ReplayResult | undefined>;
}

function side(snapshot: Snapshot): DiffSide {
  // Shown as far as it parses (a tampered snapshot may not), with its integrity.
  return { snapshot: readableSnapshot(snapshot), integrity: integrityOf(snapshot) };
}

/** Both snapshots (404 naming whichever is missing), each with its integrity, and their diff. */
export async function assembleDiffReport(snapshots: Pick<SnapshotStore, 'get'>, originalId: string, updatedId: string, now: () => string): Promise<DiffReportData> {
  const [original, updated] = await Promise.all([snapshots.get(originalId), snapshots.get(updatedId)]);
  const missing = [!original && `original snapshot '${originalId}'`, !updated && `other snapshot '${updatedId}'`].filter(Boolean);
  if (!original || !updated) throw new NotFoundError('snapshot', original ? updatedId : originalId, { message: `${missing.join(' and ')} ${missing.length > 1 ? 'do' : 'does'} not exist` });
  return { original: side(original), updated: side(updated), diff: diffSnapshots(readableSnapshot(original), readableSnapshot(updated)), generatedAt: now() };
}

/** The snapshot (404) and its replay (404 when it has no such replay, or none at all for `latest`). */
export async function assembleReplayReport(snapshots: Pick<SnapshotStore, 'get'>, replays: ReplayLookup, snapshotId: string, replayId: string | 'latest', now: () => string): Promise<ReplayReportData> {
  const snapshot = await snapshots.get(snapshotId);
  if (!snapshot) throw new NotFoundError('snapshot', snapshotId);
  const replay = await replays.findReplay(snapshotId, replayId);
  if (!replay) {
    throw new NotFoundError('replay', replayId, { message: replayId === 'latest' ? `snapshot '${snapshotId}' has not been replayed` : `snapshot '${snapshotId}' has no replay '${replayId}'` });
  }
  return { original: side(snapshot), replay, generatedAt: now() };
}
