/**
 * Integration-test helper: a dynalite server in memory on a free port, with the table created from
 * the shared definition, and clients pointed at it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCAL_AWS, startLocalDynamo, type LocalDynamo } from '../../functions/local/dynalite.js';
import { DYNAMODB_CLIENT_SETTINGS } from '../../functions/adapters/dynamodb/client.js';
import { DocumentClient } from '../../functions/adapters/dynamodb/document-client.js';

export interface TestDynamo extends LocalDynamo {
  client: DynamoDBClient;
  doc: DocumentClient;
}

let counter = 0;

export async function startTestDynamo(): Promise<TestDynamo> {
  const local = await startLocalDynamo({ port: 0, tableName: `test-${process.pid}-${++counter}` });
  const client = new DynamoDBClient({ ...LOCAL_AWS, ...DYNAMODB_CLIENT_SETTINGS, endpoint: local.endpoint });
  const doc = new DocumentClient(client);
  return {
    ...local,
    client,
    doc,
    async close() {
      client.destroy();
      await local.close();
    },
  };
}
