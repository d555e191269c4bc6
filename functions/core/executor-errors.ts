/**
 * The errors of executors: an {@link ExecutorError} (code and message recorded on a replay result
 * with status `Error`) when there is no usable answer, and the 422s raised before anything runs.
 */
import { UnprocessableError } from './errors.js';

export type ExecutorErrorCode =
  | 'EXECUTOR_TIMEOUT'
  | 'EXECUTOR_HTTP_STATUS'
  | 'EXECUTOR_MALFORMED_RESPONSE'
  | 'EXECUTOR_RESPONSE_TOO_LARGE'
  | 'EXECUTOR_UNREACHABLE'
  | 'EXECUTOR_FORBIDDEN_ADDRESS'
  | 'EXECUTOR_SECRET_UNAVAILABLE'
  | 'EXECUTOR_FAILED'
  | 'EXECUTOR_NOT_DEPLOYED';

/**
 * The executor gave no usable answer. NOT a DomainError: the request was fine, so it is not a 4xx;
 * the replay engine persists it as a result with `status: "Error"` and `error: {code, message}`.
 */
export class ExecutorError extends Error {
  readonly code: ExecutorErrorCode;
  constructor(code: ExecutorErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  /** The `error` of a persisted replay result. */
  toResultError(): { code: ExecutorErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** The call did not finish within `timeoutMs` (retries included). */
export class ExecutorTimeoutError extends ExecutorError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number, target: string, options?: ErrorOptions) {
    super('EXECUTOR_TIMEOUT', `${target} did not answer within ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/** The executor answered with a non-2xx status (an AWS service error carries its HTTP status too). */
export class ExecutorHttpStatusError extends ExecutorError {
  readonly status: number;
  constructor(status: number, message: string, options?: ErrorOptions) {
    super('EXECUTOR_HTTP_STATUS', message, options);
    this.status = status;
  }
}

/** The answer is not JSON, or not of the expected shape; the message says what is wrong. */
export class ExecutorMalformedResponseError extends ExecutorError {
  constructor(message: string, options?: ErrorOptions) {
    super('EXECUTOR_MALFORMED_RESPONSE', message, options);
  }
}

/** The answer is larger than the adapter reads. */
export class ExecutorResponseTooLargeError extends ExecutorError {
  readonly limitBytes: number;
  constructor(limitBytes: number, target: string, options?: ErrorOptions) {
    super('EXECUTOR_RESPONSE_TOO_LARGE', `${target} answered with more than ${limitBytes} bytes`, options);
    this.limitBytes = limitBytes;
  }
}

/** The executor could not be reached (DNS, connection refused or reset, …). */
export class ExecutorUnreachableError extends ExecutorError {
  constructor(message: string, options?: ErrorOptions) {
    super('EXECUTOR_UNREACHABLE', message, options);
  }
}

/** The URL resolves to an address the executor may not call (loopback, private, link-local, …). */
export class ExecutorForbiddenAddressError extends ExecutorError {
  readonly host: string;
  readonly address: string;
  constructor(host: string, address: string, reason: string, options?: ErrorOptions) {
    super('EXECUTOR_FORBIDDEN_ADDRESS', `executor host '${host}' resolves to ${address} (${reason}); calls to it are not allowed`, options);
    this.host = host;
    this.address = address;
  }
}

/**
 * A secret header's value could not be read (a missing secret or variable, no permission): nothing
 * was sent. The message names the header and where its value should live, never a value.
 */
export class ExecutorSecretUnavailableError extends ExecutorError {
  readonly header: string;
  readonly ref: string;
  constructor(header: string, ref: string, reason: string, options?: ErrorOptions) {
    super('EXECUTOR_SECRET_UNAVAILABLE', `secret header '${header}' could not be read from ${ref}: ${reason}; nothing was sent`, options);
    this.header = header;
    this.ref = ref;
  }
}

/** The executor ran and failed (a Lambda FunctionError). */
export class ExecutorFailedError extends ExecutorError {
  readonly errorType: string | undefined;
  constructor(message: string, errorType?: string, options?: ErrorOptions) {
    super('EXECUTOR_FAILED', message, options);
    this.errorType = errorType;
  }
}

/**
 * This deployment cannot call that kind of executor: its role may invoke no Lambda (cdk.json
 * `executorFunctionArns` is empty) or no Bedrock model (`bedrockModelIds` is empty), so its bundle
 * was built without that client (functions/adapters/optional-clients.ts).
 */
export class ExecutorNotDeployedError extends ExecutorError {
  readonly executorType: string;
  constructor(executorType: string, contextKey: string) {
    super('EXECUTOR_NOT_DEPLOYED', `${executorType} executors are not deployed: cdk.json ${contextKey} names nothing this function may call; add it there and deploy again`);
    this.executorType = executorType;
  }
}

/** 422: no executor is registered for the function; nothing is run. */
export class NoExecutorError extends UnprocessableError {
  readonly functionName: string;
  constructor(functionName: string) {
    super(`no executor is registered for function '${functionName}' (PUT /functions/${functionName}/executor)`, { code: 'NO_EXECUTOR' });
    this.functionName = functionName;
  }
}

/** 422: the registered executor does not serve the snapshot's model; nothing is run. */
export class UnsupportedModelError extends UnprocessableError {
  readonly functionName: string;
  readonly modelName: string | undefined;
  constructor(functionName: string, modelName: string | undefined, executorDescription: string) {
    super(
      modelName === undefined
        ? `the executor of '${functionName}' (${executorDescription}) needs a model name and the decision has none`
        : `the executor of '${functionName}' (${executorDescription}) does not support model '${modelName}'`,
      { code: 'UNSUPPORTED_MODEL', details: { functionName, modelName: modelName ?? null } },
    );
    this.functionName = functionName;
    this.modelName = modelName;
  }
}
