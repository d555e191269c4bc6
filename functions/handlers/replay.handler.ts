/** Lambda entry: replay snapshots against their registered executor; register executors. */
import { useDeploymentCursorKey } from '../adapters/cursor-key.js';
import { createLogger } from '../adapters/logger.js';
import { composeReplayDeps } from '../adapters/replay-composition.js';
import { replayRoutes } from '../api/replay-routes.js';
import { CachedExecutorConfigStore } from '../core/executor-config-cache.js';
import { makeHttpHandler } from '../http/api.js';

const deps = composeReplayDeps();

useDeploymentCursorKey();

export const handler = makeHttpHandler(replayRoutes({ ...deps, executors: new CachedExecutorConfigStore(deps.executors, deps.clock) }), createLogger());
