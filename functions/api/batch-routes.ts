/**
 * Batch replays over HTTP: `POST /batches` (202), `GET /batches` (newest first), `GET /batches/{id}`,
 * `GET /batches/{id}/results`, `POST /batches/{id}/cancel`.
 */
import { startBatch, type StartBatchDeps } from '../core/batch.js';
import { cancelBatch, listBatches, ListBatchesQuerySchema, type BatchControlStore, type BatchStopper } from '../core/batch-control.js';
import { NotFoundError } from '../core/errors.js';
import { parseOrThrow } from '../core/schema-util.js';
import type { RouteMap } from '../http/api.js';
import { parseListParams, ulidParam } from '../http/params.js';

export type BatchRoutesDeps = StartBatchDeps & { batches: StartBatchDeps['batches'] & BatchControlStore; stopper: BatchStopper };

export function batchRoutes(deps: BatchRoutesDeps): RouteMap {
  const load = async (id: string) => {
    const batch = await deps.batches.get(id);
    if (!batch) throw new NotFoundError('batch', id);
    return batch;
  };
  return {
    'POST /batches': async (req) => {
      const { batch } = await startBatch(deps, req.json(), req.headers['idempotency-key']);
      return { status: 202, body: { batchId: batch.batchId, status: batch.status, total: batch.total }, headers: { location: `/batches/${batch.batchId}` } };
    },

    'GET /batches/{id}': async (req) => {
      // One read whatever the batch size: while it runs (and once FAILED) `progress` holds the
      // counters each finished chunk adds to (completed, successful, matches: the match rate so far).
      return { status: 200, body: await load(ulidParam(req.pathParameters, 'id', 'batch')) };
    },

    'GET /batches': async (req) => {
      const { limit, cursor } = parseListParams(req.query);
      const { functionName, status, scheduleName } = req.query;
      const filters = parseOrThrow(ListBatchesQuerySchema, { ...(functionName !== undefined && { functionName }), ...(status !== undefined && { status }), ...(scheduleName !== undefined && { scheduleName }) }, 'batch list query');
      return { status: 200, body: await listBatches(deps.batches, { ...filters, limit, cursor }) };
    },

    'POST /batches/{id}/cancel': async (req) => {
      const id = ulidParam(req.pathParameters, 'id', 'batch');
      return { status: 200, body: await cancelBatch(deps, id) };
    },

    'GET /batches/{id}/results': async (req) => {
      const id = ulidParam(req.pathParameters, 'id', 'batch');
      const { limit, cursor } = parseListParams(req.query);
      await load(id);
      return { status: 200, body: await deps.batches.listResults(id, limit, cursor) };
    },
  };
}
