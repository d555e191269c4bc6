/** The AWS clients of a Lambda that uses the table: {@link awsBaseClients} and a DocumentClient. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableClients } from '../../handlers/clients.js';
import { documentClientOptions } from '../dynamodb/client.js';
import { awsBaseClients } from './clients.js';
import { traced } from './tracer.js';

export function awsTableClients(): TableClients {
  return { ...awsBaseClients(), doc: DynamoDBDocumentClient.from(traced(new DynamoDBClient({})), documentClientOptions) };
}
