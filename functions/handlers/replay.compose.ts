/** The replay Lambda: replay snapshots against their registered executor; register executors. */
import { composeReplayDeps, type ReplayClients } from '../adapters/replay-composition.js';
import { replayRoutes } from '../api/replay-routes.js';
import type { LambdaConfig } from '../config.js';
import { CachedExecutorConfigStore } from '../core/executor-config-cache.js';
import { makeHttpHandler } from '../http/api.js';
import { withMetricsPublished } from './clients.js';

export function compose(config: LambdaConfig<'replay'>, clients: ReplayClients) {
  const deps = composeReplayDeps(config, clients);
  // A function's executor is read on every replay and changes rarely: a 5 s read-through cache.
  return withMetricsPublished(clients.telemetry, makeHttpHandler(replayRoutes({ ...deps, executors: new CachedExecutorConfigStore(deps.executors, clients.clock) }), clients.logger));
}
