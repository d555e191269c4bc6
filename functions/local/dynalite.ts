/**
 * Starts dynalite (a DynamoDB-API server from npm) on 127.0.0.1 and creates the table from the
 * shared table definition. Used by the local host and by the integration tests.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
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
}

/** Credentials and region for talking to a local endpoint (dynalite checks neither). */
export const LOCAL_AWS = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } as const;

export async function startLocalDynamo(options: LocalDynamoOptions): Promise<LocalDynamo> {
  const server: Server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  try {
    await client.send(new CreateTableCommand(createTableInput(options.tableName)));
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    port,
    tableName: options.tableName,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections?.();
      }),
  };
}
