/**
 * Integration-test helper: a dynalite server in memory on a free port, with the table created from
 * the shared definition, and clients pointed at it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_AWS, startLocalDynamo, type LocalDynamo } from '../../functions/local/dynalite.js';
import { documentClientOptions } from '../../functions/adapters/dynamodb/client.js';

export interface TestDynamo extends LocalDynamo {
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
}

let counter = 0;

export async function startTestDynamo(): Promise<TestDynamo> {
  const local = await startLocalDynamo({ port: 0, tableName: `test-${process.pid}-${++counter}` });
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: local.endpoint });
  const doc = DynamoDBDocumentClient.from(client, documentClientOptions);
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
