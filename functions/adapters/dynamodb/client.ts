import type { marshallOptions, unmarshallOptions } from '@aws-sdk/util-dynamodb';

/**
 * How the project's document layer (document-client.ts) marshalls: drop undefined, keep numbers as
 * JS numbers. Every object we store is parsed JSON, so each is marshalled as a map: without
 * `convertClassInstanceToMap` the marshaller takes an object with its own `constructor` key
 * (`{"constructor": {...}}` in a recorded context) for a class instance and throws, a 500.
 * (The benchmarks' lib-dynamodb DocumentClients use it too, and lib-dynamodb sets
 * `convertTopLevelContainer` in it: the document layer takes its own copy.)
 */
export const documentClientOptions: { marshallOptions: marshallOptions; unmarshallOptions: unmarshallOptions } = {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  unmarshallOptions: { wrapNumbers: false },
};

/**
 * Settings every DynamoDBClient of the project is created with (spread into its configuration):
 * the SDK resolves each command class's middleware stack once and reuses it, instead of building and
 * resolving it on every call (documented as saving up to 1 ms a request). The price is that
 * middleware must be added before the first call (the tracer, the local stream's tap and the batch
 * journal's tap all are, where the client is created). The resolved handler's context is shared by
 * concurrent calls of one command class: nothing in this project's stacks keeps per-call state there,
 * and every call of a command class resolves the same endpoint (tables are named, not ARNs).
 */
export const DYNAMODB_CLIENT_SETTINGS = { cacheMiddleware: true } as const;
