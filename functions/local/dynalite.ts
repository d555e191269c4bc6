/**
 * Starts dynalite (a DynamoDB-API server from npm) on 127.0.0.1 and creates the table from the
 * shared table definition. Used by the local host and by the integration tests.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
// dynalite's queries leave their LevelDB iterators open; this closes them (see the file).
import './dynalite-store.mjs';
import { createTableInput } from '../adapters/dynamodb/table-definition.js';

export interface LocalDynamo {
  endpoint: string;
  port: number;
  tableName: string;
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
  /** Why the DynamoDB side stopped answering, if it died (a worker's uncaught error). */
  failure(): Error | undefined;
  close(): Promise<void>;
}

async function listenInProcess(options: LocalDynamoOptions): Promise<Listening> {
  const server: Server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    failure: () => undefined,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections?.();
      }),
  };
}

type WorkerMessage = { type: 'listening'; port: number } | { type: 'error'; message: string; code?: string } | { type: 'closed' };

async function listenInWorker(options: LocalDynamoOptions): Promise<Listening> {
  const worker = new Worker(new URL('./dynalite-worker.mjs', import.meta.url), { workerData: { port: options.port, path: options.path } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (msg: WorkerMessage) => {
      if (msg.type === 'listening') return resolve(msg.port);
      if (msg.type === 'error') return reject(Object.assign(new Error(msg.message), { code: msg.code }));
    });
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  // dynalite opens its LevelDB store on the first request; when that fails (the store is locked by
  // another process on the same DATA_DIR) the worker dies and every request is ECONNREFUSED.
  let failure: Error | undefined;
  worker.on('error', (err) => (failure ??= err));
  return {
    port,
    failure: () => failure,
    async close() {
      const closed = new Promise<void>((resolve) => worker.once('message', () => resolve()));
      worker.postMessage('close');
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      await worker.terminate();
    },
  };
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
    throw new Error(
      options.path === undefined
        ? `the local DynamoDB (dynalite) stopped: ${died.message}`
        : `the local DynamoDB (dynalite) could not use its store in ${options.path} (${died.message}); is another \`npm start\` running on the same DATA_DIR?`,
      { cause: err },
    );
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    port,
    tableName: options.tableName,
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
