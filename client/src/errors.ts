/**
 * The errors the SDK throws. Every failure is a {@link DecisionReplayError}: the service's error
 * body (`{error: {code, message, details?}}`) with its HTTP status, or — with status 0 — a
 * network failure that outlasted the retries, or a request refused before it was sent because it
 * does not match the service's schema.
 */

/** An error answered by the service (status ≥ 400), or one of the subclasses below (status 0). */
export class DecisionReplayError extends Error {
  /** The HTTP status; 0 when no answer came (network) or nothing was sent (invalid request). */
  readonly status: number;
  /** The service's error code (e.g. `SNAPSHOT_NOT_FOUND`), or this SDK's own for status 0. */
  readonly code: string;
  /** The service's `details` (e.g. the list of invalid fields), when it sent any. */
  readonly details?: unknown;

  constructor(status: number, code: string, message: string, details?: unknown, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DecisionReplayError';
    this.status = status;
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

/** No answer from the service after every retry: connection refused, DNS, reset, or timeout. */
export class DecisionReplayNetworkError extends DecisionReplayError {
  constructor(message: string, options?: ErrorOptions) {
    super(0, 'NETWORK_ERROR', message, undefined, options);
    this.name = 'DecisionReplayNetworkError';
  }
}

/**
 * A usage error, nothing sent: a request that does not match the service's schema, or a client
 * option the client cannot work with (`endpoint`, …). `details.issues` names each bad field or option.
 */
export class DecisionReplayValidationError extends DecisionReplayError {
  constructor(message: string, issues: { path: string; message: string }[]) {
    super(0, 'INVALID_REQUEST', message, { issues });
    this.name = 'DecisionReplayValidationError';
  }
}
