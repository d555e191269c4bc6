/**
 * Replay (`POST /snapshots/{id}/replay`, `GET /snapshots/{id}/replays`) and executor registration
 * (`PUT`/`GET /functions/{functionName}/executor`). DESIGN §5.
 */
import { sealRecord } from '../core/records.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { ExecutorConfigSchema, redactExecutorConfig, registrationIssues, type ExecutorAddressPolicy, type ExecutorConfigStore, type SecretHeaderSource, type StoredExecutorConfig } from '../core/executor.js';
import { prepareReplay, replaySnapshot, type ReplayDeps, type ReplayResultStore } from '../core/replay.js';
import { issueLine, parseOrThrow } from '../core/schema-util.js';
import type { RouteMap } from '../http/api.js';
import { functionNameParam, parseListParams, ulidParam } from '../http/params.js';
import { loadSnapshot } from './snapshot-routes.js';

export interface ReplayRoutesDeps extends ReplayDeps {
  executors: ExecutorConfigStore;
  results: ReplayResultStore;
  /** Where this deployment reads secret header values: a reference it cannot read is refused at PUT. */
  secretHeaders: SecretHeaderSource;
  /** The network guard's rules: a URL whose host is an address it refuses is refused at PUT, not at the first call. */
  executorAddresses: ExecutorAddressPolicy;
}

/** The stored configuration as answered to readers: every plain header value masked. */
function redacted(stored: StoredExecutorConfig): StoredExecutorConfig {
  return { ...stored, executor: redactExecutorConfig(stored.executor) };
}

export function replayRoutes(deps: ReplayRoutesDeps): RouteMap {
  return {
    'POST /snapshots/{id}/replay': async (req) => {
      const id = ulidParam(req.pathParameters, 'id', 'snapshot');
      const prepared = await prepareReplay(deps.policies, req.rawBody.trim() === '' ? {} : req.json());
      const result = sealRecord(await replaySnapshot(deps, id, prepared));
      await deps.results.put(result);
      return { status: 200, body: result };
    },

    'GET /snapshots/{id}/replays': async (req) => {
      const id = ulidParam(req.pathParameters, 'id', 'snapshot');
      const { limit, cursor } = parseListParams(req.query);
      await loadSnapshot(deps.snapshots, id);
      return { status: 200, body: await deps.results.listForSnapshot(id, limit, cursor) };
    },

    'PUT /functions/{functionName}/executor': async (req) => {
      const functionName = functionNameParam(req.pathParameters);
      const config = parseOrThrow(ExecutorConfigSchema, req.json(), 'executor configuration');
      const issues = registrationIssues(config, (ref, target) => deps.secretHeaders.refuses(ref, target), (target) => deps.executorAddresses.refuses(target));
      if (issues.length > 0) {
        throw new ValidationError(`invalid executor configuration: ${issues.map(issueLine).join('; ')}`, { details: { issues } });
      }
      return { status: 200, body: redacted(await deps.executors.put(functionName, config)) };
    },

    'GET /functions/{functionName}/executor': async (req) => {
      const functionName = functionNameParam(req.pathParameters);
      const stored = await deps.executors.get(functionName);
      if (!stored) throw new NotFoundError('executor', functionName, { message: `no executor is registered for function '${functionName}'` });
      return { status: 200, body: redacted(stored) };
    },
  };
}
