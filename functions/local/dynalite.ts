/**
 * Starts dynalite (a DynamoDB-API server from npm) on 127.0.0.1 and creates the table from the
 * shared table definition. Used by the local host and by the integration tests.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
// dynalite's queries leave their LevelDB iterators open; this closes them (see the file).
import { databaseOf, storeOf } from './dynalite-store.mjs';
// dynalite parses every expression it is sent; this keeps the parses of the ones it sees again (see the file).
import './dynalite-parsers.mjs';
import { serveDirect, type DirectRequest, type DirectResponse } from './dynalite-direct.mjs';
// Global index entries written after each write's answer, as DynamoDB does (see the file).
import { deferIndexesDurably, indexesAfterAnswerHandler, stopDeferring, type IndexRecovery } from './dynalite-indexes.mjs';
import { createTableInput } from '../adapters/dynamodb/table-definition.js';
import { withFastConfig } from '../adapters/sdk/fast-config.js';

export interface LocalDynamo {
  endpoint: string;
  port: number;
  tableName: string;
  /**
   * For an SDK client in this process (`new DynamoDBClient({ ...LOCAL_AWS, endpoint, requestHandler })`):
   * its requests reach dynalite's request handler without a socket (./dynalite-direct.mjs).
   */
  requestHandler: LocalDynamoRequestHandler;
  /**
   * On disk, when the last process was killed with index work not done: that work, done before the
   * store served anything (./dynalite-indexes.mjs).
   */
  recovered: IndexRecovery | undefined;
  close(): Promise<void>;
}

export interface LocalDynamoOptions {
  /** 0 picks a free port. */
  port: number;
  tableName: string;
  /** A folder to persist to; in memory when absent. */
  path?: string;
  /** Run dynalite in a worker thread (on another core) rather than on the caller's event loop. */
  worker?: boolean;
}

interface Listening {
  port: number;
  /** Answers one request with dynalite's request handler, without a socket. */
  send(request: DirectRequest): Promise<DirectResponse>;
  /** Why the DynamoDB side stopped answering, if it died (a worker's uncaught error). */
  failure(): Error | undefined;
  recovered: IndexRecovery | undefined;
  close(): Promise<void>;
}

async function listenInProcess(options: LocalDynamoOptions): Promise<Listening> {
  const dynaliteOptions = { path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, indexesAfterAnswer: true };
  const server: Server = dynalite(dynaliteOptions);
  let recovered: IndexRecovery | undefined;
  if (options.path !== undefined) {
    // dynalite opens its store on the first request and throws from a callback when it cannot (the
    // store is locked by another process on the same DATA_DIR), which would end this process with
    // a bare 'Database is closed'. Opened here, that is a startup error naming the folder.
    try {
      await databaseOf(dynaliteOptions)?.open();
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new Error(unusableStoreMessage(options.path, reason, (cause as { code?: unknown }).code), { cause: err });
    }
    recovered = await deferIndexesDurably(storeOf(dynaliteOptions) as object);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const handle = server.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void;
  server.removeListener('request', handle);
  server.on('request', indexesAfterAnswerHandler(handle));
  return {
    port: (server.address() as AddressInfo).port,
    send: (request) => serveDirect(handle, request),
    failure: () => undefined,
    recovered,
    close: async () => {
      await stopDeferring(storeOf(dynaliteOptions));
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections?.();
      });
    },
  };
}

type WorkerMessage =
  | { type: 'listening'; port: number; recovered?: IndexRecovery }
  | { type: 'error'; message: string; code?: string }
  /** The LevelDB store in `path` could not be opened (locked by another process, or damaged). */
  | { type: 'store'; message: string; code?: string }
  | { type: 'closed' }
  | { type: 'response'; id: number; response?: DirectResponse; error?: string };

/**
 * The young generation of dynalite's worker thread. dynalite's garbage is short-lived (a request's
 * JSON and items), and V8's default young generation let the worker's heap sit ~30 MB higher
 * under load, for no measurable throughput (`npm run bench memory`: peak RSS 427 MB with the
 * default, ~400 MB with this alone, 344 MB with the host's smaller semi-space too).
 */
const DYNALITE_YOUNG_GENERATION_MB = 6;

async function listenInWorker(options: LocalDynamoOptions): Promise<Listening> {
  const worker = new Worker(new URL('./dynalite-worker.mjs', import.meta.url), { workerData: { port: options.port, path: options.path }, resourceLimits: { maxYoungGenerationSizeMb: DYNALITE_YOUNG_GENERATION_MB } });
  const { port, recovered } = await new Promise<{ port: number; recovered?: IndexRecovery }>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (msg: WorkerMessage) => {
      if (msg.type === 'listening') return resolve(msg);
      if (msg.type === 'error') return reject(Object.assign(new Error(msg.message), { code: msg.code }));
      if (msg.type === 'store') return reject(new Error(unusableStoreMessage(options.path ?? '', msg.message, msg.code)));
    });
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  // dynalite opens its LevelDB store on the first request; when that fails (the store is locked by
  // another process on the same DATA_DIR) the worker dies and every request is ECONNREFUSED.
  let failure: Error | undefined;
  // Requests posted to the worker, by id, until it answers (or dies: then they all fail).
  const pending = new Map<number, { resolve(response: DirectResponse): void; reject(err: Error): void }>();
  let nextId = 0;
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('error', (err) => {
    failure ??= err;
    failAll(new Error(`the local DynamoDB (dynalite) stopped: ${err.message}`, { cause: err }));
  });
  worker.on('exit', () => failAll(failure ?? new Error('the local DynamoDB (dynalite) has stopped')));
  worker.on('message', (msg: WorkerMessage) => {
    if (msg.type !== 'response') return;
    const p = pending.get(msg.id);
    if (p === undefined) return;
    pending.delete(msg.id);
    if (msg.response !== undefined) p.resolve(msg.response);
    else p.reject(new Error(`the local DynamoDB (dynalite) failed a request: ${msg.error ?? 'no answer'}`));
  });
  return {
    port,
    send(request) {
      if (failure !== undefined) return Promise.reject(new Error(`the local DynamoDB (dynalite) stopped: ${failure.message}`, { cause: failure }));
      const id = nextId++;
      return new Promise<DirectResponse>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ type: 'request', id, request });
      });
    },
    failure: () => failure,
    recovered,
    async close() {
      const closed = new Promise<void>((resolve) => worker.on('message', (msg: WorkerMessage) => msg.type === 'closed' && resolve()));
      worker.postMessage('close');
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      await worker.terminate();
    },
  };
}

/**
 * The text of a request body the SDK serialised into bytes, read through a Buffer view of the same
 * memory: the SDK's JSON body is a Uint8Array subclass whose string conversion (`valueOf`, which
 * `Buffer.from(object)` calls) logs a deprecation warning and is to throw in a later version.
 */
function utf8Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * An SDK request handler that hands each request to dynalite in this process (the same wire
 * protocol: method, path, headers and JSON body), without a socket. Requests are never aborted
 * halfway: dynalite answers each at once.
 */
export class LocalDynamoRequestHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };

  constructor(private readonly send: (request: DirectRequest) => Promise<DirectResponse>) {}

  async handle(request: { method: string; path: string; query?: Record<string, unknown>; headers: Record<string, string>; body?: unknown }): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Uint8Array } }> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    const body = request.body === undefined || request.body === null ? '' : typeof request.body === 'string' ? request.body : utf8Of(request.body as Uint8Array);
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(request.query ?? {})) for (const v of Array.isArray(value) ? value : [value]) if (v != null) query.append(name, String(v));
    const path = query.size > 0 ? `${request.path}?${query.toString()}` : request.path;
    const answer = await this.send({ method: request.method, path, headers, body });
    return { response: { statusCode: answer.statusCode, headers: answer.headers, body: Buffer.from(answer.body, 'utf8') } };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {}
}

type RequestSigner = Exclude<DynamoDBClientConfig['signer'], undefined | ((...args: never[]) => unknown)>;

/**
 * dynalite wants an Authorization header but checks no signature. A fixed one spares SigV4's
 * hashing and HMACs on every call, which was the largest single cost of a local DynamoDB request.
 */
const unsignedLocalSigner: RequestSigner = {
  async sign(request) {
    request.headers.authorization = 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=local';
    request.headers['x-amz-date'] = '20260101T000000Z';
    return request;
  },
};

/**
 * Client settings for a local endpoint (spread into `new DynamoDBClient({...LOCAL_AWS, endpoint})`):
 * a region, fixed local credentials and the unsigned signer above. Never for a real AWS endpoint.
 */
export const LOCAL_AWS = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, signer: unsignedLocalSigner } as const;

/** The name under which the SDK's user-agent middleware sits in every client's middleware stack. */
const USER_AGENT_MIDDLEWARE = 'getUserAgentMiddleware';

/**
 * The local host's own DynamoDB client: `config` (with {@link LOCAL_AWS} and the local endpoint)
 * and no SDK user-agent. The SDK rebuilds its `user-agent` and `x-amz-user-agent` headers on every
 * call (each section escaped by regular expressions, the features the call used encoded), about
 * 10 % of the SDK's CPU per Put + Get measured with an instant in-process answer; dynalite
 * ignores both headers, and this client talks only to the host's own dynalite. Every other
 * middleware (serialisation, endpoint, retries, the signer's slot, logging) runs as on AWS. Lambda
 * clients are never built here: on AWS every call carries its user-agent. Its configuration gets
 * fast properties back, as every Lambda client's does ({@link withFastConfig}).
 */
export function createLocalDynamoClient(config: DynamoDBClientConfig): DynamoDBClient {
  const client = new DynamoDBClient({ ...LOCAL_AWS, ...config });
  if (!client.middlewareStack.remove(USER_AGENT_MIDDLEWARE)) throw new Error(`the SDK's DynamoDBClient has no '${USER_AGENT_MIDDLEWARE}' to leave out of the local client`);
  // As every client on Lambda gets in `traced` (the local host's is not traced: no X-Ray here).
  return withFastConfig(client);
}

/**
 * Why the store in `path` cannot be used. Only a lock held by another process (LevelDB's
 * LEVEL_LOCKED) suggests another host on the same DATA_DIR; a damaged or unreadable store says
 * what LevelDB found, not a guess at a second host.
 */
function unusableStoreMessage(path: string, reason: string, code?: unknown): string {
  const message = `the local DynamoDB (dynalite) could not use its store in ${path} (${reason})`;
  return code === 'LEVEL_LOCKED' ? `${message}; is another \`npm start\` running on the same DATA_DIR?` : message;
}

export async function startLocalDynamo(options: LocalDynamoOptions): Promise<LocalDynamo> {
  const listening = options.worker ? await listenInWorker(options) : await listenInProcess(options);
  const port = listening.port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  try {
    await createActiveTable(client, options.tableName);
  } catch (err) {
    const died = listening.failure();
    if (died === undefined) throw err;
    await listening.close();
    throw new Error(options.path === undefined ? `the local DynamoDB (dynalite) stopped: ${died.message}` : unusableStoreMessage(options.path, died.message), { cause: err });
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    port,
    tableName: options.tableName,
    requestHandler: new LocalDynamoRequestHandler((request) => listening.send(request)),
    recovered: listening.recovered,
    close: () => listening.close(),
  };
}

/**
 * Creates the table from the shared definition (an existing one is kept) and waits until it is
 * ACTIVE: dynalite answers CreateTable while the table is still CREATING, even with
 * `createTableMs: 0`, and a write in that gap fails with ResourceNotFoundException.
 */
export async function createActiveTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  for (let attempt = 0; attempt < 200; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`table ${tableName} did not become ACTIVE within 2 s`);
}
