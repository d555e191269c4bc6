/**
 * Events shaped as AWS delivers them to a Lambda: API Gateway HTTP API (payload format 2.0) and
 * DynamoDB stream records. For tests that invoke handler modules directly.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, DynamoDBStreamEvent } from 'aws-lambda';

let counter = 0;

export interface ApiEventOptions {
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
}

/** An HTTP API v2 event for `routeKey` (e.g. `POST /snapshots/{id}/replay`) at `path`. */
export function apiEvent(routeKey: string, path: string, options: ApiEventOptions = {}): APIGatewayProxyEventV2 {
  const method = routeKey === '$default' ? 'GET' : (routeKey.split(' ')[0] ?? 'GET');
  const query = options.query ?? {};
  const now = Date.now();
  const requestId = `req-${process.pid}-${++counter}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: { host: 'abc123.execute-api.us-east-1.amazonaws.com', 'content-type': 'application/json', 'user-agent': 'vitest', ...options.headers },
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    ...(options.pathParameters && { pathParameters: options.pathParameters }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'vitest' },
      requestId,
      routeKey,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    isBase64Encoded: false,
  };
}

/** A DynamoDB stream event with one INSERT record carrying `newImage` (NEW_IMAGE view). */
export function streamInsertEvent(tableArn: string, newImage: Record<string, AttributeValue>): DynamoDBStreamEvent {
  const sequence = String(1_000_000 + ++counter);
  return {
    Records: [
      {
        eventID: `evt-${sequence}`,
        eventName: 'INSERT',
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: 'us-east-1',
        dynamodb: {
          ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
          Keys: { pk: newImage.pk, sk: newImage.sk } as never,
          NewImage: newImage as never,
          SequenceNumber: sequence,
          SizeBytes: JSON.stringify(newImage).length,
          StreamViewType: 'NEW_IMAGE',
        },
        eventSourceARN: `${tableArn}/stream/2026-01-01T00:00:00.000`,
      },
    ],
  };
}
