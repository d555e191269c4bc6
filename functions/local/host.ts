/**
 * The one-machine host (`npm start`): dynalite for DynamoDB, the same handler code behind a local
 * HTTP front door, the batch state machine on aws-local-stepfunctions, stream delivery and
 * schedules — with local adapters injected through the same ports. No handler knows it is local.
 */
import './polyfills.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClientOptions } from '../adapters/dynamodb/client.js';
import { DynamoPolicyStore } from '../adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { DynamoValidationReportStore } from '../adapters/dynamodb/validation-report-store.js';
import { validationRoutes } from '../api/validation-routes.js';
import { replayRoutes } from '../api/replay-routes.js';
import { CachedExecutorConfigStore } from '../core/executor-config-cache.js';
import { DynamoExecutorConfigStore } from '../adapters/dynamodb/executor-config-store.js';
import { DynamoReplayResultStore } from '../adapters/dynamodb/replay-result-store.js';
import { createExecutor } from '../adapters/executors/create-executor.js';
import { handleDemoRequest } from './demo-model.js';
import { renderBatchAsl } from '../../lib/batch-definition.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { batchIdForExecution, replayIdForBatchItem } from '../adapters/batch-ids.js';
import { batchRoutes } from '../api/batch-routes.js';
import { noiseProfileRoutes } from '../api/noise-profile-routes.js';
import { DynamoNoiseProfileStore } from '../adapters/dynamodb/noise-profile-store.js';
import { BatchItemCache, planBatch, replayBatchItem, type BatchStarter } from '../core/batch.js';
import { computeBatchStats } from '../core/batch-stats.js';
import { LocalStateMachine } from './step-functions.js';
import { appendFileSync } from 'node:fs';
import { onWriteReportId } from '../adapters/ids.js';
import { makeStreamHandler } from '../api/stream-consumer.js';
import { LocalEventSink } from './event-sink.js';
import { LocalScheduler, scheduleInput, type LocalSchedule } from './scheduler.js';
import { LexicalSimilarity } from '../core/similarity.js';
import { ulidGenerator } from '../adapters/ids.js';
import { snapshotRoutes } from '../api/snapshot-routes.js';
import { openApiRoutes } from '../api/openapi-routes.js';
import { systemClock, type Clock } from '../core/ports.js';
import { makeHttpHandler, type ErrorLogger, type RouteMap } from '../http/api.js';
import { ROUTES, type LambdaName } from '../api/manifest.js';
import { LOCAL_AWS, startLocalDynamo, type LocalDynamo } from './dynalite.js';
import { startHttpHost, type EventHandler } from './http-host.js';
import { LocalStream } from './stream.js';

export interface LocalHostOptions {
  /** HTTP port; 0 picks a free one. */
  port: number;
  /** DynamoDB endpoint port; 0 picks a free one. */
  dynamoPort: number;
  tableName: string;
  /** Folder for persistent data; undefined keeps everything in memory. */
  dataDir?: string;
  clock?: Clock;
  /** Run dynalite in a worker thread (default true: the DynamoDB side gets the second core). */
  dynamoInWorker?: boolean;
  /** Scheduled regression replays (the CDK context's `schedules`). */
  schedules?: readonly LocalSchedule[];
  logger?: ErrorLogger & { info(message: string, ...extra: unknown[]): void };
}

export interface LocalHost {
  url: string;
  port: number;
  dynamoEndpoint: string;
  tableName: string;
  stream: LocalStream;
  events: LocalEventSink;
  scheduler: LocalScheduler;
  close(): Promise<void>;
}

const consoleLogger = {
  error: (message: string, ...extra: unknown[]) => console.error(message, ...extra),
  info: (_message: string, ..._extra: unknown[]) => undefined,
};

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const logger = options.logger ?? consoleLogger;
  const clock = options.clock ?? systemClock;
  let dynamoPath: string | undefined;
  if (options.dataDir !== undefined) {
    dynamoPath = join(options.dataDir, 'dynamodb');
    mkdirSync(dynamoPath, { recursive: true });
  }
  // dynalite runs in a worker thread: the DynamoDB side gets its own core, as a real table would
  // be on other machines, instead of queueing behind the handlers on this event loop.
  const dynamo: LocalDynamo = await startLocalDynamo({ port: options.dynamoPort, tableName: options.tableName, worker: options.dynamoInWorker ?? true, ...(dynamoPath !== undefined && { path: dynamoPath }) });

  const stream = new LocalStream({
    batchSize: 100,
    batchingWindowMs: 10,
    maxRetries: 3,
    retryDelayMs: 200,
    tableArn: `arn:aws:dynamodb:local:000000000000:table/${options.tableName}`,
    onError: (err) => logger.error('stream handler failed', err),
    onFailure: (failure) => {
      logger.error(`stream record ${failure.record.eventID ?? '?'} failed ${failure.attempts} times and went to the failure sink: ${failure.reason}`);
      if (options.dataDir !== undefined) appendFileSync(join(options.dataDir, 'stream-failures.jsonl'), JSON.stringify(failure) + '\n');
    },
  });
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint });
  stream.attach(client);
  const doc = DynamoDBDocumentClient.from(client, documentClientOptions);
  const ids = ulidGenerator();
  const snapshots = new DynamoSnapshotStore(doc, options.tableName);
  const policies = new DynamoPolicyStore(doc, options.tableName);
  const reports = new DynamoValidationReportStore(doc, options.tableName);
  const similarity = new LexicalSimilarity();
  const executors = new CachedExecutorConfigStore(new DynamoExecutorConfigStore({ doc, tableName: options.tableName, clock }), clock);
  const results = new DynamoReplayResultStore(doc, options.tableName);
  // Locally, executors may call loopback (the built-in demo model and your own services).
  const noiseProfiles = new DynamoNoiseProfileStore(doc, options.tableName);
  const replayDeps = { snapshots, executors, createExecutor: (config: Parameters<typeof createExecutor>[0]) => createExecutor(config, { allowPrivateNetworks: true }), policies, similarity, clock, ids, noiseProfiles };

  const batches = new DynamoBatchStore(doc, options.tableName);
  // The same ASL the CDK stack deploys, run by aws-local-stepfunctions with the batch Lambdas'
  // ARNs mapped to the same task functions.
  const batchItemCache = new BatchItemCache();
  const machine = new LocalStateMachine(renderBatchAsl(), {
    plan: (payload) => planBatch({ snapshots, batches, batchIdFor: batchIdForExecution }, payload),
    replay: (payload) => replayBatchItem({ ...replayDeps, batches, results, replayIdFor: (b, s, t) => replayIdForBatchItem(t, b, s), cache: batchItemCache }, payload),
    stats: (payload) => computeBatchStats({ batches, noiseProfiles, clock, batchIdFor: batchIdForExecution }, payload),
  });
  const starter: BatchStarter = {
    async start(batchId, input) {
      const execution = machine.get(batchId) ?? machine.start(batchId, input);
      void execution.done.then((outcome) => {
        if (outcome.status === 'FAILED') logger.error(`batch ${batchId} execution failed`, outcome.error);
      });
    },
  };

  const events = new LocalEventSink(options.dataDir === undefined ? undefined : join(options.dataDir, 'events.jsonl'), (line) => logger.info(line));
  stream.setHandler(makeStreamHandler({ snapshots, policies, reports, similarity, events, reportId: onWriteReportId, now: () => new Date(clock.now()).toISOString() }));

  const scheduler = new LocalScheduler(
    options.schedules ?? [],
    (schedule, at) => {
      const name = `${schedule.name}-${at.toISOString().replace(/[-:.]/g, '')}`;
      logger.info(`schedule ${schedule.name} fired: starting batch execution ${name}`);
      const execution = machine.get(name) ?? machine.start(name, scheduleInput(schedule));
      void execution.done.then((outcome) => {
        if (outcome.status === 'FAILED') logger.error(`scheduled batch ${name} failed`, outcome.error);
      });
    },
    clock,
  );
  scheduler.start();

  const routes: Record<LambdaName, RouteMap | undefined> = {
    snapshots: snapshotRoutes({ store: snapshots, clock, ids }),
    openapi: openApiRoutes(),
    validation: validationRoutes({ snapshots, policies, reports, similarity, clock, ids }),
    replay: replayRoutes({ ...replayDeps, results }),
    batches: { ...batchRoutes({ snapshots, batches, starter, policies, clock, ids, noiseProfiles }), ...noiseProfileRoutes({ snapshots, batches, starter, policies, clock, ids, noiseProfiles, executors }) },
    'batch-plan': undefined,
    'batch-replay': undefined,
    'batch-stats': undefined,
    'on-write': undefined, // the stream consumer, fed by LocalStream above
  };
  const handlers = new Map<string, EventHandler>();
  for (const { routeKey, lambda } of ROUTES) {
    const map = routes[lambda];
    if (map) handlers.set(routeKey, makeHttpHandler(map, logger));
  }
  const fallback = handlers.get('$default') ?? makeHttpHandler({}, logger);

  const http = await startHttpHost({
    port: options.port,
    routeKeys: ROUTES.map((r) => r.routeKey),
    handlerFor: (routeKey) => handlers.get(routeKey) ?? fallback,
    side: async (method, path, body) => {
      // Local-only windows onto what AWS keeps in EventBridge and the stream's failure queue.
      if (method === 'GET' && path === '/_local/events') return { status: 200, body: { items: events.events } };
      if (method === 'GET' && path === '/_local/stream-failures') return { status: 200, body: { items: stream.failures } };
      if (method === 'GET' && path === '/_local/schedules') return { status: 200, body: { items: (options.schedules ?? []).map((s) => ({ ...s, nextFireAt: scheduler.upcoming()[s.name] })) } };
      if (!path.startsWith('/demo/')) return undefined;
      let parsed: unknown;
      try {
        parsed = body === '' ? undefined : JSON.parse(body);
      } catch {
        return { status: 400, body: { error: { code: 'MALFORMED_JSON', message: 'request body is not valid JSON' } } };
      }
      return handleDemoRequest(method, path, parsed);
    },
    onError: (err) => logger.error('local host error', err),
  });
  const url = `http://127.0.0.1:${http.port}`;

  return {
    url,
    port: http.port,
    dynamoEndpoint: dynamo.endpoint,
    tableName: options.tableName,
    stream,
    events,
    scheduler,
    async close() {
      scheduler.stop();
      await closeServer(http.server);
      await stream.close();
      client.destroy();
      await dynamo.close();
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
