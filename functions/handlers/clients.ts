/**
 * What every composition function receives besides its configuration: ready-made clients and the
 * few outside-world ports that differ between AWS and the one-machine host. The Lambda entries pass
 * AWS clients (`functions/adapters/aws/`); the local host passes local ones (dynalite's endpoint,
 * its clock, its state machine and event sink). Nothing else differs between the two.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import type { DocumentClient } from '../adapters/dynamodb/document-client.js';
import type { Telemetry } from '../adapters/telemetry.js';
import type { AuditStore, DigestSigner } from '../core/audit/ports.js';
import type { BatchStarter, ManifestStore } from '../core/batch.js';
import type { BatchStopper } from '../core/batch-control.js';
import type { AttachedPoliciesCache } from '../core/policy-cache.js';
import type { EventPublisher } from '../core/events.js';
import type { Clock, IdGenerator } from '../core/ports.js';

/** Structured logging as the handlers use it; Powertools' Logger fits, so does a test spy. */
export interface AppLogger {
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
  /** Adds the Lambda context (request id, function name, cold start) to every following line. */
  addContext?(context: Context): void;
}

/** What every function gets. */
export interface BaseClients {
  clock: Clock;
  ids: IdGenerator;
  /** The function's own logger (its service name is the function's). */
  logger: AppLogger;
  /** The function's metrics (EMF, one namespace); its handler publishes them as each invocation ends ({@link withMetricsPublished}). */
  telemetry: Telemetry;
}

/**
 * Wraps a handler so each invocation's log lines carry its Lambda context (when there is one: the
 * local host and tests call handlers without it).
 */
export function withLambdaContext<E, R>(logger: AppLogger, handler: (event: E) => Promise<R>): (event: E, context?: Context) => Promise<R> {
  return (event, context) => {
    if (context !== undefined) logger.addContext?.(context);
    return handler(event);
  };
}

/**
 * Wraps a handler so the metrics an invocation recorded are published when it ends, however it
 * ends (Powertools' `logMetrics` does the same): the telemetry gathers data points into few EMF
 * lines, and none may wait for the next invocation, which may never come. On the local host the
 * same wrapper runs around the same handlers.
 */
export function withMetricsPublished<A extends unknown[], R>(telemetry: Telemetry, handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await handler(...args);
    } finally {
      telemetry.flush();
    }
  };
}

/** What a function that uses the table gets. */
export interface TableClients extends BaseClients {
  /** The table's document layer, over a DynamoDBClient created with `DYNAMODB_CLIENT_SETTINGS`. */
  doc: DocumentClient;
}

/**
 * What the functions that read or store policies may get: the cache of which policies are attached
 * to each function (on-write reads through it, the policy routes clear it when they store a
 * version). Where one process serves both, pass the same cache to both, so a policy PUT applies to
 * the next write at once; absent, on-write keeps its own (core/policy-cache.ts states how stale it
 * may be).
 */
export interface PolicyClients {
  policyCache?: AttachedPoliciesCache;
}

/** What a function that writes batch manifests gets besides the table: an S3 client. */
export interface ManifestClients {
  s3: S3Client;
}

/** The manifest store over the bucket named in the configuration (S3 on AWS, the local S3 stand-in locally). */
export type ManifestStoreFactory = (bucket: string) => ManifestStore;

/** The batch starter (and stopper: cancel) of the state machine named in the configuration. */
export type BatchStarterFactory = (stateMachineArn: string) => BatchStarter & BatchStopper;

/** The publisher onto the bus named in the configuration. */
export type EventPublisherFactory = (eventBusName: string) => EventPublisher;

/** The audit digest store named in the configuration (an S3 bucket on AWS, a folder locally). */
export type AuditStoreFactory = (bucket: string) => AuditStore;

/** The digest signer for the key named in the configuration (KMS on AWS, a local key pair locally). */
export type DigestSignerFactory = (keyId: string) => DigestSigner;

/** What the audit functions get besides the table. */
export interface AuditClients extends TableClients {
  auditStore: AuditStoreFactory;
  digestSigner: DigestSignerFactory;
}
