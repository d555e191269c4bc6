/** The AWS clients of a Lambda that uses the table: {@link awsBaseClients} and a DocumentClient. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableClients } from '../../handlers/clients.js';
import { DYNAMODB_CLIENT_SETTINGS } from '../dynamodb/client.js';
import { DocumentClient } from '../dynamodb/document-client.js';
import { awsBaseClients } from './clients.js';
import { traced } from './tracer.js';

export function awsTableClients(): TableClients {
  return { ...awsBaseClients(), doc: new DocumentClient(traced(new DynamoDBClient({ ...DYNAMODB_CLIENT_SETTINGS }))) };
}
