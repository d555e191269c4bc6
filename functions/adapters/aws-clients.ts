/**
 * Clients shared by the handlers of one Lambda, created once per module (cold start).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClientOptions } from './dynamodb/client.js';

/** A DocumentClient over a fresh DynamoDBClient (region and credentials from the Lambda environment). */
export function createDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({}), documentClientOptions);
}
