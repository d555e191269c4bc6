/**
 * The one-machine host (`npm start`): dynalite for DynamoDB, the same handler code behind a local
 * HTTP front door, the batch state machine on aws-local-stepfunctions, stream delivery and
 * schedules — with local adapters injected through the same ports. No handler knows it is local.
 */
import './polyfills.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { DYNAMODB_CLIENT_SETTINGS } from '../adapters/dynamodb/client.js';
import { DocumentClient } from '../adapters/dynamodb/document-client.js';
import { handleDemoRequest } from './demo-model.js';
import { batchAsl } from './batch-asl.js';
import type { BatchStarter } from '../core/batch.js';
import type { BatchStopper } from '../core/batch-control.js';
import { LocalStateMachine, type LocalExecution, type LocalExecutionOutcome } from './step-functions.js';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ManifestStore } from '../adapters/s3/manifest-store.js';
import { localS3ClientConfig, startLocalS3 } from './s3.js';
import { appendFileSync } from 'node:fs';
import { LocalEventSink } from './event-sink.js';
import { FileScheduleStateStore, LocalScheduler, scheduleInput, type LocalSchedule } from './scheduler.js';
import { ulidGenerator } from '../adapters/ids.js';
import { systemClock, type Clock } from '../core/ports.js';
import { AttachedPoliciesCache } from '../core/policy-cache.js';
import { makeHttpHandler, type ErrorLogger } from '../http/api.js';
import { DEPLOYED_ROUTES, type EnvVarName, type LambdaName } from '../api/manifest.js';
import { lambdaEnv } from '../config.js';
import type { ManifestClients, TableClients } from '../handlers/clients.js';
import { METRICS_NAMESPACE, type Telemetry } from '../adapters/telemetry.js';
import { LocalMetricsStore, localTelemetry } from './metrics.js';
import * as batchPlan from '../handlers/batch-plan.compose.js';
import * as batchReplay from '../handlers/batch-replay.compose.js';
import * as batchStats from '../handlers/batch-stats.compose.js';
import * as batchesApi from '../handlers/batches.compose.js';
import * as onWrite from '../handlers/on-write.compose.js';
import * as openapiApi from '../handlers/openapi.compose.js';
import * as replayApi from '../handlers/replay.compose.js';
import * as reportsApi from '../handlers/reports.compose.js';
import * as snapshotsApi from '../handlers/snapshots.compose.js';
import * as validationApi from '../handlers/validation.compose.js';
import * as auditApi from '../handlers/audit.compose.js';
import * as digester from '../handlers/digester.compose.js';
import * as executionEndFn from '../handlers/execution-end.compose.js';
import { localExecutionStatusChange } from './execution-events.js';
import type { AuditClients } from '../handlers/clients.js';
import { SealRefusedError, type AuditStore, type DigestSigner } from '../core/audit/ports.js';
import { DEFAULT_SETTLE_MS } from '../core/audit/service.js';
import { FileAuditStore, MemoryAuditStore } from '../adapters/audit/file-audit-store.js';
import { LocalDigestSigner } from '../adapters/audit/local-signer.js';
import { DigestTimer } from './digest-timer.js';
import { createLocalDynamoClient, startLocalDynamo, type LocalDynamo } from './dynalite.js';
import { startHttpHost, type EventHandler } from './http-host.js';
import { idleCollection } from './idle-collection.mjs';
import { LocalStream } from './stream.js';
import { Journal } from './journal.js';
import { recoverBatches, tapBatchRecords } from './batch-recovery.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { fileCursorKey } from './cursor-secret.js';
import { DEFAULT_SECRET_ENV_PREFIX, environmentHeaders } from '../adapters/executors/secret-headers.js';
import { useCursorKey } from '../adapters/dynamodb/cursor.js';
import { logLine } from './log-line.js';

export interface LocalHostOptions {
  /** HTTP port; 0 picks a free one. */
  port: number;
  /** DynamoDB endpoint port; 0 picks a free one. */
  dynamoPort: number;
  /** Local S3 (manifests) port; 0 (the default) picks a free one. */
  s3Port?: number;
  /** The manifest bucket (default `decision-replay-manifests`). */
  manifestBucket?: string;
  /** Buckets `snapshotManifest` may name besides `uploads/` of the manifest bucket (cdk.json `idManifestBuckets`); created in the local S3. */
  idManifestBuckets?: readonly string[];
  tableName: string;
  /** Folder for persistent data; undefined keeps everything in memory. */
  dataDir?: string;
  clock?: Clock;
  /**
   * Run dynalite in a worker thread (default true). The DynamoDB side gets a core of its own when
   * one is free, and a second thread's share of a busy machine, at the price of a thread handoff
   * each way on every call: measured, on 2 shared cores, the handoff costs a record + read ~10–15 %
   * while the thread makes a 1,000-item batch ~40 % faster (bench/README.md).
   */
  dynamoInWorker?: boolean;
  /**
   * How the host's own DynamoDB client reaches dynalite (default `direct`): `direct` hands each
   * request (the SDK's serialised wire request) to dynalite's request handler without a socket;
   * `socket` sends it over dynalite's TCP port as any other tool does (keep-alive). The real SDK
   * runs in both; `npm run bench host-wire` measures both. dynalite's port is served either way.
   */
  dynamoTransport?: 'direct' | 'socket';
  /** Scheduled regression replays (the CDK context's `schedules`). */
  schedules?: readonly LocalSchedule[];
  logger?: ErrorLogger & { info(message: string, ...extra: unknown[]): void; warn?(message: string, ...extra: unknown[]): void };
  /**
   * The environment the functions' configuration is read from, as each Lambda reads its own
   * (default `process.env`): `SIMILARITY_PROVIDER` and `EXECUTOR_ALLOW_PRIVATE_NETWORKS` apply
   * here as on AWS. The names of local resources (table, state machine, bus) are the host's own.
   */
  env?: NodeJS.ProcessEnv;
  /** Minutes per audit digest window (the CDK context's `digestIntervalMinutes`, default 60). */
  digestIntervalMinutes?: number;
  /** How long after a window's end the digester seals it (default 5 s). */
  digestSettleMs?: number;
  /**
   * How many ended batch executions the local state machine remembers by name (default 10,000;
   * within 90 days). See {@link LocalStateMachine}.
   */
  maxEndedExecutions?: number;
  /**
   * How long `close()` waits for each part of the host (default 15 s): past it, close goes on with
   * the rest and then fails, naming the parts still pending (a hung stream delivery, a digest run).
   * Connections still busy {@link HTTP_CLOSE_GRACE_MS} after close began are cut.
   */
  closeTimeoutMs?: number;
}

/** How long `close()` lets HTTP requests in flight finish before it cuts their connections. */
export const HTTP_CLOSE_GRACE_MS = 2_000;

export interface LocalHost {
  url: string;
  port: number;
  dynamoEndpoint: string;
  s3Endpoint: string;
  manifestBucket: string;
  tableName: string;
  stream: LocalStream;
  events: LocalEventSink;
  scheduler: LocalScheduler;
  /** The batch state machine's executions: stopping one here is a StopExecution from outside the API (as in the console). */
  stateMachine: Pick<LocalStateMachine, 'get' | 'stop'>;
  /** The metrics the functions emitted (their EMF lines, parsed). */
  metrics: LocalMetricsStore;
  /** The audit seal: where digests are kept (`DATA_DIR/audit/`, or memory) and the digester's schedule. */
  audit: { store: AuditStore; signer: DigestSigner; timer: DigestTimer<{ sealed: Array<{ windowStart: string; recordCount: number; lateCount: number }> }> };
  /**
   * Stops the schedules and the digester, the HTTP API (requests still in flight after
   * {@link HTTP_CLOSE_GRACE_MS} have their connections cut), the stream, S3 and DynamoDB. Rejects,
   * once everything else is closed, naming any part that did not finish within `closeTimeoutMs`.
   */
  close(): Promise<void>;
}

const consoleLogger: NonNullable<LocalHostOptions['logger']> = {
  error: (message: string, ...extra: unknown[]) => console.error(logLine(message, extra)),
  info: (_message: string, ..._extra: unknown[]) => undefined,
};

/** The names the local stand-ins answer to (the state machine and bus are in-process). */
export const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:local:000000000000:stateMachine:decision-replay-batches';
export const LOCAL_EVENT_BUS_NAME = 'decision-replay';

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const logger = options.logger ?? consoleLogger;
  // Rendered on its own thread meanwhile (./batch-asl.ts), awaited where the state machine is built.
  const asl = batchAsl();
  asl.catch(() => undefined);
  const clock = options.clock ?? systemClock;
  let dynamoPath: string | undefined;
  if (options.dataDir !== undefined) {
    dynamoPath = join(options.dataDir, 'dynamodb');
    mkdirSync(dynamoPath, { recursive: true });
    const cursorKey = fileCursorKey(options.dataDir);
    useCursorKey(async () => cursorKey);
  }
  const dynamo: LocalDynamo = await startLocalDynamo({ port: options.dynamoPort, tableName: options.tableName, worker: options.dynamoInWorker ?? true, ...(dynamoPath !== undefined && { path: dynamoPath }) });
  if (dynamo.recovered !== undefined) {
    const { writes, items, ms } = dynamo.recovered;
    logger.info(`the local DynamoDB was not closed cleanly (the host was killed): wrote the global index entries of its last ${writes} write(s), to ${items} item(s), in ${ms} ms`);
  }

  // With a data dir, what a crash must not lose is journaled: acknowledged snapshot writes not yet
  // validated (the stream outbox) and batches not yet finished (./journal.ts, ./batch-recovery.ts).
  const streamJournal = options.dataDir === undefined ? undefined : new Journal(join(options.dataDir, 'stream-outbox.journal'));
  const batchJournal = options.dataDir === undefined ? undefined : new Journal(join(options.dataDir, 'batches.journal'));
  const stream = new LocalStream({
    ...(streamJournal !== undefined && { journal: streamJournal }),
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
  // The host's own client reaches dynalite without a socket by default (dynalite also listens on TCP
  // for other tools); with `socket`, through that port like any other client (the SDK's default
  // handler keeps its connections alive).
  const client = createLocalDynamoClient({ ...DYNAMODB_CLIENT_SETTINGS, endpoint: dynamo.endpoint, ...(options.dynamoTransport !== 'socket' && { requestHandler: dynamo.requestHandler }) });
  stream.attach(client);
  if (batchJournal !== undefined) tapBatchRecords(client, batchJournal);
  const doc = new DocumentClient(client);
  // Manifests of snapshot ids live in the local S3 stand-in, reached through the same adapter as on AWS.
  const s3Server = await startLocalS3({ port: options.s3Port ?? 0, bucket: options.manifestBucket ?? 'decision-replay-manifests', extraBuckets: options.idManifestBuckets ?? [], ...(options.dataDir !== undefined && { path: join(options.dataDir, 's3') }) });
  const s3 = new S3Client(localS3ClientConfig(s3Server.endpoint));
  const shared = { doc, s3, clock, ids: ulidGenerator(), logger: { info: logger.info, warn: logger.warn ?? logger.error, error: logger.error } };
  // Each function's metrics under its own service name, as on AWS; their EMF lines are read into
  // one store (GET /_local/metrics). Each handler publishes its data points as an invocation ends
  // (or sooner, functions/adapters/telemetry.ts); reading the store, or closing the host, publishes
  // what invocations still running have recorded so far.
  const metrics = new LocalMetricsStore();
  const telemetries: Telemetry[] = [];
  const telemetryOf = (name: LambdaName): Telemetry => {
    const telemetry = localTelemetry(`decision-replay-${name}`, metrics);
    telemetries.push(telemetry);
    return telemetry;
  };
  const flushMetrics = () => {
    for (const telemetry of telemetries) telemetry.flush();
  };
  const clients = (name: LambdaName): TableClients & ManifestClients => ({ ...shared, telemetry: telemetryOf(name) });
  // Each function reads its configuration from this environment with the same schema as on AWS.
  // Locally, executors may call loopback (the built-in demo model and your own services) unless
  // the environment says otherwise.
  const outside = options.env ?? process.env;
  // Which of its variables the host may send as secret headers (env:NAME): only names with this prefix.
  const secretEnvPrefix = outside.EXECUTOR_SECRET_ENV_PREFIX || DEFAULT_SECRET_ENV_PREFIX;
  const env: Partial<Record<EnvVarName, string>> & NodeJS.ProcessEnv = {
    ...outside,
    TABLE_NAME: options.tableName,
    STATE_MACHINE_ARN: LOCAL_STATE_MACHINE_ARN,
    EVENT_BUS_NAME: LOCAL_EVENT_BUS_NAME,
    EXECUTOR_ALLOW_PRIVATE_NETWORKS: outside.EXECUTOR_ALLOW_PRIVATE_NETWORKS ?? 'true',
    // Locally the cursor secret is a file in DATA_DIR (or per process in memory), set above.
    CURSOR_SECRET_ARN: 'local',
    // Locally secret headers are env:NAME references into this environment; no ARN is readable.
    EXECUTOR_SECRET_ARN_PREFIX: 'local',
    AUDIT_BUCKET: options.dataDir === undefined ? 'memory' : join(options.dataDir, 'audit'),
    AUDIT_KEY_ID: options.dataDir === undefined ? 'memory' : join(options.dataDir, 'audit', 'keys'),
    DIGEST_INTERVAL_MINUTES: String(options.digestIntervalMinutes ?? 60),
    MANIFEST_BUCKET: s3Server.bucket,
    // snapshotManifest may name uploads/ of the local bucket, and the configured buckets (created above).
    ID_MANIFEST_BUCKETS: (options.idManifestBuckets ?? []).join(','),
  };
  // The audit seal: digests in DATA_DIR/audit/ (or memory), signed with a local P-256 key pair
  // generated on first start (or per process in memory), through the same ports as on AWS.
  const auditStore: AuditStore = options.dataDir === undefined ? new MemoryAuditStore() : new FileAuditStore(join(options.dataDir, 'audit'));
  const signer: DigestSigner = options.dataDir === undefined ? LocalDigestSigner.inMemory() : LocalDigestSigner.inDirectory(join(options.dataDir, 'audit', 'keys'));
  const auditClients = (name: LambdaName): AuditClients => ({ ...clients(name), auditStore: () => auditStore, digestSigner: () => signer });
  const seal = digester.compose(lambdaEnv('digester', env), auditClients('digester'));
  const digestTimer = new DigestTimer(
    seal,
    clock,
    Number(env.DIGEST_INTERVAL_MINUTES) * 60_000,
    options.digestSettleMs ?? DEFAULT_SETTLE_MS,
    (err) => logger.error('digester failed', err),
  );

  // The same ASL the CDK stack deploys, run by aws-local-stepfunctions with the batch Lambdas'
  // ARNs mapped to the same composed task functions. The Map's ItemReader reads the manifests
  // from the local S3 (the runner's documented pre-step).
  const machine = new LocalStateMachine(
    await asl,
    {
      plan: batchPlan.compose(lambdaEnv('batch-plan', env), clients('batch-plan')),
      replay: batchReplay.compose(lambdaEnv('batch-replay', env), { ...clients('batch-replay'), executorSecrets: () => environmentHeaders(outside, secretEnvPrefix) }),
      stats: batchStats.compose(lambdaEnv('batch-stats', env), clients('batch-stats')),
    },
    { objects: new S3ManifestStore(s3, s3Server.bucket), ...(options.maxEndedExecutions !== undefined && { maxEndedExecutions: options.maxEndedExecutions }) },
  );
  const batchStore = new DynamoBatchStore(doc, options.tableName);
  // As the execution-end rule does on AWS: an execution that ended FAILED or ABORTED goes, as its
  // status-change event, to the execution-end function, which marks its batch FAILED while it is
  // RUNNING. Not while the host shuts down: the executions it leaves unfinished are resumed on the
  // next start (./batch-recovery.ts), not failed.
  const executionEnd = executionEndFn.compose(lambdaEnv('execution-end', env), clients('execution-end'));
  let closing = false;
  const executionEnded = async (execution: LocalExecution, input: object, outcome: LocalExecutionOutcome): Promise<void> => {
    if (closing) return;
    if (outcome.status === 'FAILED') logger.error(`batch execution ${execution.executionName} failed`, outcome.error);
    const event = localExecutionStatusChange(LOCAL_STATE_MACHINE_ARN, execution, input, outcome, clock.now());
    if (event === undefined) return;
    await executionEnd(event).catch((err: unknown) => logger.error(`the end of batch execution ${execution.executionName} could not be handled`, err));
  };
  const startExecution = (batchId: string, input: { batchId: string }) => {
    // Started already (running, or ended within the state machine's bound): nothing to start, as
    // Step Functions' StartExecution of a known name.
    if (machine.get(batchId) !== undefined) return;
    const execution = machine.start(batchId, input);
    void execution.done.then(async (outcome) => {
      await executionEnded(execution, input, outcome);
      if (!closing) batchJournal?.finish(`BATCH#${batchId}`);
    });
  };
  const starter: BatchStarter & BatchStopper = {
    async start(batchId, input) {
      // The state machine forgets ended executions beyond its bound, where Step Functions keeps a
      // name taken for 90 days: a batch that has ended is not run again under a forgotten name (a
      // repeated POST /batches with its Idempotency-Key asks to start it).
      if (machine.get(batchId) === undefined) {
        const batch = await batchStore.get(batchId);
        if (batch !== undefined && batch.status !== 'RUNNING') return;
      }
      startExecution(batchId, input);
    },
    async stop(batchId) {
      machine.stop(batchId);
    },
  };

  const events = new LocalEventSink(options.dataDir === undefined ? undefined : join(options.dataDir, 'events.jsonl'), (line) => logger.info(line));
  // One attached-policies cache for the policy routes and on-write: a policy PUT clears it, so the
  // next write is validated under the new version (core/policy-cache.ts).
  const policyCache = new AttachedPoliciesCache(clock);
  stream.setHandler(onWrite.compose(lambdaEnv('on-write', env), { ...clients('on-write'), policyCache, eventPublisher: () => events, recordFailures: (record, failure) => stream.recordFailed(record, failure) }));
  // Recovery from a crash of the previous process: redeliver acknowledged writes that were not yet
  // validated, and resume (or fail) the batches that were running.
  const redelivered = await stream.recover(client, options.tableName);
  if (redelivered > 0) logger.info(`redelivering ${redelivered} snapshot write(s) that were not validated before the host stopped`);
  if (batchJournal !== undefined) {
    await recoverBatches({ journal: batchJournal, batches: batchStore, start: (batchId) => startExecution(batchId, { batchId }), now: () => new Date(clock.now()).toISOString(), log: (m) => logger.info(m) });
  }

  const scheduler = new LocalScheduler(
    options.schedules ?? [],
    (schedule, at) => {
      const name = `${schedule.name}-${at.toISOString().replace(/[-:.]/g, '')}`;
      logger.info(`schedule ${schedule.name} fired: starting batch execution ${name}`);
      const input = scheduleInput(schedule);
      const execution = machine.get(name) ?? machine.start(name, input);
      void execution.done.then((outcome) => executionEnded(execution, input, outcome));
    },
    clock,
    // Each schedule's last run is kept in DATA_DIR, so a restart neither restarts a rate schedule's
    // period nor skips a run that came due while the host was down (it fires once at start).
    { ...(options.dataDir !== undefined && { state: new FileScheduleStateStore(join(options.dataDir, 'schedules.json')) }), log: (m) => logger.info(m) },
  );
  scheduler.start();

  const api: Partial<Record<LambdaName, EventHandler>> = {
    snapshots: snapshotsApi.compose(lambdaEnv('snapshots', env), clients('snapshots')),
    openapi: openapiApi.compose(lambdaEnv('openapi', env), clients('openapi')),
    validation: validationApi.compose(lambdaEnv('validation', env), { ...clients('validation'), policyCache }),
    replay: replayApi.compose(lambdaEnv('replay', env), { ...clients('replay'), executorSecrets: () => environmentHeaders(outside, secretEnvPrefix) }),
    batches: batchesApi.compose(lambdaEnv('batches', env), { ...clients('batches'), manifestStore: (bucket) => new S3ManifestStore(s3, bucket), batchStarter: () => starter }),
    audit: auditApi.compose(lambdaEnv('audit', env), auditClients('audit')),
    reports: reportsApi.compose(lambdaEnv('reports', env), clients('reports')),
  };
  const handlers = new Map<string, EventHandler>();
  for (const { routeKey, lambda } of DEPLOYED_ROUTES) {
    const handler = api[lambda];
    if (handler === undefined) throw new Error(`route ${routeKey}: the local host composes no API function '${lambda}'`);
    handlers.set(routeKey, handler);
  }
  const fallback = handlers.get('$default') ?? makeHttpHandler({}, logger);

  const http = await startHttpHost({
    port: options.port,
    routeKeys: DEPLOYED_ROUTES.map((r) => r.routeKey),
    handlerFor: (routeKey) => handlers.get(routeKey) ?? fallback,
    side: async (method, path, body) => {
      // Local-only windows onto what AWS keeps in EventBridge and the stream's failure queue.
      if (method === 'GET' && path === '/_local/events') return { status: 200, body: { items: events.events } };
      if (method === 'GET' && path === '/_local/metrics') {
        flushMetrics();
        return { status: 200, body: { namespace: METRICS_NAMESPACE, emfLines: metrics.lines, items: metrics.items() } };
      }
      if (method === 'GET' && path === '/_local/stream-failures') return { status: 200, body: { items: stream.failures } };
      if (method === 'POST' && path === '/_local/digest') {
        try {
          return { status: 200, body: await digestTimer.runNow() };
        } catch (err) {
          // Digests were removed from DATA_DIR/audit/: the digester will not seal over the gap.
          if (err instanceof SealRefusedError) return { status: 409, body: { error: { code: 'AUDIT_SEAL_REFUSED', message: err.message } } };
          throw err;
        }
      }
      if (method === 'GET' && path === '/_local/schedules') {
        const status = scheduler.status();
        // The batch of each schedule's newest run, as `GET /batches?scheduleName=` finds it (Plan
        // records it once the run's execution starts; null before its first run is recorded).
        const lastRuns = await Promise.all((options.schedules ?? []).map(async (s) => (await batchStore.list({ scheduleName: s.name, limit: 1 })).items[0]?.batchId ?? null));
        return { status: 200, body: { items: (options.schedules ?? []).map((s, i) => ({ ...s, ...status[s.name], lastBatchId: lastRuns[i] })) } };
      }
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
  digestTimer.start();
  // The host's thread collects its garbage once it falls idle after a burst, as dynalite's does
  // (./idle-collection.mjs: what a burst leaves behind would otherwise stay resident).
  const idle = idleCollection();
  http.server.on('request', idle.noted);

  return {
    url,
    port: http.port,
    dynamoEndpoint: dynamo.endpoint,
    s3Endpoint: s3Server.endpoint,
    manifestBucket: s3Server.bucket,
    tableName: options.tableName,
    stream,
    events,
    scheduler,
    stateMachine: machine,
    metrics,
    audit: { store: auditStore, signer, timer: digestTimer },
    async close() {
      closing = true;
      idle.stop();
      scheduler.stop();
      const limitMs = options.closeTimeoutMs ?? 15_000;
      const problems: string[] = [];
      const part = async (name: string, closed: Promise<unknown>) => {
        const outcome = await within(closed, limitMs);
        if (outcome === 'pending') problems.push(`${name} did not finish within ${limitMs} ms`);
        else if (outcome !== 'done') problems.push(`${name} failed to close: ${outcome.failed instanceof Error ? outcome.failed.message : String(outcome.failed)}`);
      };
      await part('the audit digester (a digest run)', digestTimer.stop());
      await part('the HTTP API', closeServer(http.server));
      await part('the DynamoDB stream (an on-write delivery)', stream.close());
      flushMetrics();
      client.destroy();
      batchJournal?.close();
      s3.destroy();
      await part('the local S3', s3Server.close());
      await part('the local DynamoDB', dynamo.close());
      if (problems.length > 0) throw new Error(`the local host closed everything it could, but ${problems.join('; ')}`);
    },
  };
}

/** How `work` ended within `ms`: done, failed (with its error), or still pending. */
async function within(work: Promise<unknown>, ms: number): Promise<'done' | 'pending' | { failed: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  try {
    return await Promise.race([work.then(() => 'done' as const, (failed: unknown) => ({ failed })), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Stops accepting connections; idle ones close now, busy ones after {@link HTTP_CLOSE_GRACE_MS}. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), HTTP_CLOSE_GRACE_MS);
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
