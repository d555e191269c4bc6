/**
 * Routes over snapshots: record, read, list, diff (DESIGN §3, §4).
 */
import { diffSnapshots, type SnapshotDiffAnswer } from '../core/diff.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type { Clock, IdGenerator, SnapshotStore } from '../core/ports.js';
import { recordSnapshot } from '../core/recording.js';
import { integrityOf, readableSnapshot, tamperedListings, type SnapshotListPage } from '../core/snapshot.js';
import type { RouteMap } from '../http/api.js';
import { parseFunctionName, parseListParams, parseTimeRange, ulidParam } from '../http/params.js';

export interface SnapshotRoutesDeps {
  store: SnapshotStore;
  clock: Clock;
  ids: IdGenerator;
}

/** Loads a snapshot or throws 404 naming the id (and which one, for routes taking two). */
export async function loadSnapshot(store: SnapshotStore, id: string, role?: string) {
  const snapshot = await store.get(id);
  if (!snapshot) {
    throw new NotFoundError('snapshot', id, { message: `${role ? `${role} ` : ''}snapshot '${id}' does not exist` });
  }
  return snapshot;
}

export function snapshotRoutes(deps: SnapshotRoutesDeps): RouteMap {
  return {
    'POST /snapshots': async (req) => {
      const outcome = await recordSnapshot(deps, req.json(), req.headers['idempotency-key']);
      return {
        status: outcome.created ? 201 : 200,
        body: outcome.snapshot,
        // A repeat answers the stored snapshot as a read does: with whether it still matches its hash.
        headers: {
          location: `/snapshots/${outcome.snapshot.snapshotId}`,
          ...(outcome.created ? {} : { 'idempotent-replayed': 'true', 'content-integrity': integrityOf(outcome.snapshot) }),
        },
      };
    },

    'GET /snapshots/{id}': async (req) => {
      const id = ulidParam(req.pathParameters, 'id', 'snapshot');
      const snapshot = await loadSnapshot(deps.store, id);
      // The body is the stored snapshot as it is (so anyone can recompute its hash); the header
      // says whether it still matches its contentHash.
      return { status: 200, body: snapshot, headers: { 'content-integrity': integrityOf(snapshot) } };
    },

    'GET /snapshots/{id}/diff/{otherId}': async (req) => {
      const id = ulidParam(req.pathParameters, 'id', 'snapshot');
      const otherId = ulidParam(req.pathParameters, 'otherId', 'snapshot');
      const [original, updated] = await Promise.all([deps.store.get(id), deps.store.get(otherId)]);
      const missing = [!original && `original snapshot '${id}'`, !updated && `other snapshot '${otherId}'`].filter(Boolean);
      if (!original || !updated) throw new NotFoundError('snapshot', original ? otherId : id, { message: `${missing.join(' and ')} ${missing.length > 1 ? 'do' : 'does'} not exist` });
      // Stored content as it is, as far as it parses (a tampered snapshot may not; GET shows it whole).
      const integrity = { original: integrityOf(original), updated: integrityOf(updated) };
      const body: SnapshotDiffAnswer = { ...diffSnapshots(readableSnapshot(original), readableSnapshot(updated)), integrity };
      const bothVerified = integrity.original === 'verified' && integrity.updated === 'verified';
      return { status: 200, body, headers: { 'content-integrity': bothVerified ? 'verified' : 'tampered' } };
    },

    'GET /snapshots': async (req) => {
      const functionName = req.query.functionName;
      if (functionName === undefined) {
        throw new ValidationError('query parameter functionName is required (snapshots are listed per function)', { details: { issues: [{ path: 'functionName', message: 'Required' }] } });
      }
      parseFunctionName(functionName);
      const order = req.query.order ?? 'asc';
      if (order !== 'asc' && order !== 'desc') throw new ValidationError(`order must be 'asc' or 'desc', got '${order}'`);
      const page = await deps.store.list({ functionName, ...parseTimeRange(req.query), ...parseListParams(req.query), order });
      // Listed as stored, as a read shows one; what a read's content-integrity header says of one
      // snapshot, the page says of each: the header over the page, `tampered` naming which.
      const tampered = tamperedListings(page.items);
      const body: SnapshotListPage = tampered.length > 0 ? { ...page, tampered } : page;
      return { status: 200, body, headers: { 'content-integrity': tampered.length > 0 ? 'tampered' : 'verified' } };
    },
  };
}
