/**
 * HTML reports over HTTP: `GET /batches/{id}/report`, `GET /snapshots/{id}/diff/{otherId}/report`
 * `GET /snapshots/{id}/replays/{replayId}/report` (`replayId` may be `latest`) and
 * `GET /comparisons/{id}/report`. Each answers one
 * self-contained `text/html` document; errors are JSON like every route's.
 */
import { getComparison, type ComparisonStore } from '../core/comparison.js';
import type { SnapshotStore } from '../core/ports.js';
import { htmlResponse, type RouteMap } from '../http/api.js';
import { ulidParam } from '../http/params.js';
import { assembleBatchReport, assembleDiffReport, assembleReplayReport, renderBatchReport, renderComparisonReport, renderDiffReport, renderReplayReport, type BatchReportReader, type ReplayLookup } from '../reports/index.js';

export interface ReportRoutesDeps {
  reader: BatchReportReader & ReplayLookup;
  snapshots: Pick<SnapshotStore, 'get'>;
  comparisons: Pick<ComparisonStore, 'get'>;
  now: () => string;
}

export function reportRoutes(deps: ReportRoutesDeps): RouteMap {
  return {
    'GET /batches/{id}/report': async (req) => {
      const id = ulidParam(req.pathParameters, 'id', 'batch');
      return htmlResponse(renderBatchReport(await assembleBatchReport(deps.reader, id, deps.now)));
    },

    'GET /snapshots/{id}/diff/{otherId}/report': async (req) => {
      const id = ulidParam(req.pathParameters, 'id', 'snapshot');
      const otherId = ulidParam(req.pathParameters, 'otherId', 'snapshot');
      return htmlResponse(renderDiffReport(await assembleDiffReport(deps.snapshots, id, otherId, deps.now)));
    },

    'GET /snapshots/{id}/replays/{replayId}/report': async (req) => {
      const id = ulidParam(req.pathParameters, 'id', 'snapshot');
      const replayId = req.pathParameters.replayId === 'latest' ? 'latest' : ulidParam(req.pathParameters, 'replayId', 'replay');
      return htmlResponse(renderReplayReport(await assembleReplayReport(deps.snapshots, deps.reader, id, replayId, deps.now)));
    },

    'GET /comparisons/{id}/report': async (req) => {
      const id = ulidParam(req.pathParameters, 'id', 'comparison');
      return htmlResponse(renderComparisonReport({ comparison: await getComparison(deps, id), generatedAt: deps.now() }));
    },
  };
}
