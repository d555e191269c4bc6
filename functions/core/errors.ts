/**
 * Domain errors. Every error the core or an adapter raises on purpose is a {@link DomainError};
 * the HTTP edge maps each subclass to its status with `instanceof`, never by message text.
 * Anything that is not a DomainError is a fault: logged with its cause, answered with a bare 500.
 */

import * as z from 'zod/mini';

/** One problem with one field of a request, e.g. `{path: "outputs[0].name", message: "Required"}`. */
export interface FieldIssue {
  path: string;
  message: string;
}

/**
 * The body of every error answer: a stable machine-readable `code`, a message that names what is
 * wrong, and optional structured `details` (e.g. `{issues: FieldIssue[]}`), never internals.
 */
export const ErrorBodySchema = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string(), details: z.optional(z.unknown()) }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export abstract class DomainError extends Error {
  /** Machine-readable code, stable across releases (`SNAPSHOT_NOT_FOUND`, `INVALID_REQUEST`, …). */
  abstract readonly code: string;
  /** Extra structured context for the client (never internals). */
  readonly details?: unknown;

  constructor(message: string, options?: ErrorOptions & { details?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    if (options?.details !== undefined) this.details = options.details;
  }
}

/** 400: the request is malformed or fails validation. */
export class ValidationError extends DomainError {
  readonly code: string;
  constructor(message: string, options?: ErrorOptions & { details?: unknown; code?: string }) {
    super(message, options);
    this.code = options?.code ?? 'INVALID_REQUEST';
  }
}

/** 404: a named resource does not exist. */
export class NotFoundError extends DomainError {
  readonly code: string;
  readonly resource: string;
  readonly id: string;
  constructor(resource: string, id: string, options?: ErrorOptions & { code?: string; message?: string }) {
    super(options?.message ?? `${resource} '${id}' does not exist`, options);
    this.resource = resource;
    this.id = id;
    this.code = options?.code ?? `${resource.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_NOT_FOUND`;
  }
}

/** 409: the request conflicts with what is stored (e.g. an Idempotency-Key reused with another body). */
export class ConflictError extends DomainError {
  readonly code: string;
  constructor(message: string, options?: ErrorOptions & { details?: unknown; code?: string }) {
    super(message, options);
    this.code = options?.code ?? 'CONFLICT';
  }
}

/** 413: the request or the item it would store is too large. */
export class PayloadTooLargeError extends DomainError {
  readonly code = 'PAYLOAD_TOO_LARGE';
  readonly limitBytes: number;
  readonly actualBytes: number;
  constructor(message: string, limitBytes: number, actualBytes: number, options?: ErrorOptions) {
    super(message, { ...options, details: { limitBytes, actualBytes } });
    this.limitBytes = limitBytes;
    this.actualBytes = actualBytes;
  }
}

/** 422: the request is valid but cannot be served as asked (e.g. no executor registered). */
export class UnprocessableError extends DomainError {
  readonly code: string;
  constructor(message: string, options?: ErrorOptions & { details?: unknown; code?: string }) {
    super(message, options);
    this.code = options?.code ?? 'UNPROCESSABLE';
  }
}

/**
 * 503: the request could not be served now, and nothing was stored: sending the same request again
 * is safe (after `retryAfterSeconds`, answered as `Retry-After`). For contention the caller did not
 * cause and the service could not resolve within its own retries.
 */
export class ServiceBusyError extends DomainError {
  readonly code: string;
  readonly retryAfterSeconds: number;
  constructor(message: string, options?: ErrorOptions & { details?: unknown; code?: string; retryAfterSeconds?: number }) {
    super(message, options);
    this.code = options?.code ?? 'SERVICE_BUSY';
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 1;
  }
}

/**
 * A fault, not a domain error (so a bare 500): code that runs synchronously on a library loaded on
 * first need (RE2, the JSON Schema validator) ran before anything loaded it. Every path that
 * checks or evaluates rules loads what they need first; this names the one that did not.
 */
export class EngineNotLoadedError extends Error {
  constructor(readonly engine: string, loader: string) {
    super(`${engine} is used before it was loaded; await ${loader}() first`);
    this.name = 'EngineNotLoadedError';
  }
}
