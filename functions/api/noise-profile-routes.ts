/**
 * Noise profiles over HTTP: `POST /functions/{functionName}/noise-profile` starts learning one (a
 * batch: 202, poll `GET /batches/{id}`), `GET /functions/{functionName}/noise-profile[?version=N]`
 * reads the latest (or one) version. See core/noise.ts.
 */
import type { StartBatchDeps } from '../core/batch.js';
import type { ExecutorConfigStore } from '../core/executor.js';
import type { NoiseProfileStore } from '../core/noise.js';
import { readNoiseProfile, startNoiseProfile } from '../core/noise-profile-job.js';
import type { RouteMap } from '../http/api.js';
import { functionNameParam, parseVersionParam } from '../http/params.js';

export interface NoiseProfileRoutesDeps extends StartBatchDeps {
  executors: ExecutorConfigStore;
  noiseProfiles: NoiseProfileStore;
}

export function noiseProfileRoutes(deps: NoiseProfileRoutesDeps): RouteMap {
  return {
    'POST /functions/{functionName}/noise-profile': async (req) => {
      const functionName = functionNameParam(req.pathParameters);
      const batch = await startNoiseProfile(deps, functionName, req.rawBody.trim() === '' ? {} : req.json());
      return {
        status: 202,
        body: { batchId: batch.batchId, status: batch.status, total: batch.total, functionName, sampleSize: batch.noiseProfile?.sampleSize ?? batch.total, batch: `/batches/${batch.batchId}`, profile: `/functions/${functionName}/noise-profile` },
        headers: { location: `/batches/${batch.batchId}` },
      };
    },

    'GET /functions/{functionName}/noise-profile': async (req) => {
      const functionName = functionNameParam(req.pathParameters);
      // Other query parameters are ignored, as every other route ignores them (GET /policies/{name}?version=N too).
      return { status: 200, body: await readNoiseProfile(deps.noiseProfiles, functionName, parseVersionParam(req.query)) };
    },
  };
}
