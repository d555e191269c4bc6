/**
 * The Lambda executor: invokes a function synchronously with the same JSON the http executor POSTs
 * and reads the same `{outputs, executionTimeMs?}` answer from its payload. A FunctionError (the
 * function threw) is EXECUTOR_FAILED with the function's own errorMessage.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  ExecutorError,
  ExecutorFailedError,
  ExecutorHttpStatusError,
  ExecutorMalformedResponseError,
  ExecutorResponseTooLargeError,
  ExecutorTimeoutError,
  ExecutorUnreachableError,
  executorRequestBody,
  executorTimeoutMs,
  parseExecutorAnswer,
  parseJsonAnswer,
  type ExecutionRequest,
  type ExecutionResult,
  type Executor,
  type LambdaExecutorConfig,
} from '../../core/executor.js';
import { lambdaDescription, lambdaSupportsModel } from './executor-descriptions.js';
import { roundMs } from './http-executor.js';

/**
 * Maps what an AWS SDK call threw to an {@link ExecutorError}: the abort of the overall timeout,
 * a service error with its HTTP status (AccessDenied 403, ResourceNotFound 404, Throttling 429, …),
 * or a network failure.
 */
export function translateAwsError(err: unknown, signal: AbortSignal, timeoutMs: number, target: string): ExecutorError {
  if (err instanceof ExecutorError) return err;
  if (signal.aborted) return new ExecutorTimeoutError(timeoutMs, target, { cause: err });
  const e = err as { name?: unknown; message?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const status = e?.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 300) {
    return new ExecutorHttpStatusError(status, `${target} was refused with HTTP ${status} (${name}: ${message})`, { cause: err });
  }
  const code = typeof e?.code === 'string' ? ` ${e.code}` : '';
  return new ExecutorUnreachableError(`${target} could not be reached (${name}${code}: ${message})`, { cause: err });
}

export interface LambdaExecutorOptions {
  /** Called once, on the first execution (the client is created lazily). */
  client: () => LambdaClient;
  /** Largest payload read, in bytes (default 5 MB; Lambda itself caps synchronous answers at 6 MB). */
  maxResponseBytes?: number;
}

/** Re-executes decisions by invoking a Lambda function (RequestResponse). */
export class LambdaExecutor implements Executor {
  readonly description: string;
  readonly timeoutMs: number;
  private readonly config: LambdaExecutorConfig;
  private readonly client: () => LambdaClient;
  private readonly maxResponseBytes: number;

  constructor(config: LambdaExecutorConfig, options: LambdaExecutorOptions) {
    this.config = config;
    this.client = options.client;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.description = lambdaDescription(config);
    this.timeoutMs = executorTimeoutMs(config);
  }

  supportsModel(modelName: string | undefined): boolean {
    return lambdaSupportsModel(this.config, modelName);
  }

  async execute(req: ExecutionRequest, options: { timeoutMs: number }): Promise<ExecutionResult> {
    const started = performance.now();
    const signal = AbortSignal.timeout(options.timeoutMs);
    const body = executorRequestBody(req);
    let out;
    try {
      // The abort signal bounds the SDK's own retries too.
      out = await this.client().send(
        new InvokeCommand({ FunctionName: this.config.functionArn, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify(body)) }),
        { abortSignal: signal },
      );
    } catch (err) {
      throw translateAwsError(err, signal, options.timeoutMs, this.description);
    }
    const payload = out.Payload ?? new Uint8Array(0);
    if (payload.byteLength > this.maxResponseBytes) throw new ExecutorResponseTooLargeError(this.maxResponseBytes, this.description);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
    } catch (err) {
      throw new ExecutorMalformedResponseError(`${this.description} answered with a payload that is not UTF-8 text`, { cause: err });
    }
    if (out.FunctionError !== undefined) throw functionError(out.FunctionError, text, this.description);
    if (out.StatusCode !== undefined && (out.StatusCode < 200 || out.StatusCode > 299)) {
      throw new ExecutorHttpStatusError(out.StatusCode, `${this.description} answered status ${out.StatusCode}`);
    }
    const answer = parseExecutorAnswer(parseJsonAnswer(text, this.description), this.description);
    return {
      outputs: answer.outputs,
      executionTimeMs: roundMs(performance.now() - started),
      ...(answer.executionTimeMs !== undefined && { reportedExecutionTimeMs: answer.executionTimeMs }),
      ...(answer.dependencies !== undefined && { dependencies: answer.dependencies }),
    };
  }
}

/** A FunctionError's payload is `{errorType, errorMessage, trace?}` (or anything, for custom runtimes). */
function functionError(kind: string, text: string, target: string): ExecutorFailedError {
  let errorType: string | undefined;
  let errorMessage: string | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') {
      const p = parsed as { errorType?: unknown; errorMessage?: unknown };
      if (typeof p.errorType === 'string') errorType = p.errorType;
      if (typeof p.errorMessage === 'string') errorMessage = p.errorMessage;
    }
  } catch {
    errorMessage = undefined;
  }
  const what = errorMessage ?? (text.trim() === '' ? 'no error message' : text.slice(0, 500));
  return new ExecutorFailedError(`${target} failed (${kind}${errorType ? `, ${errorType}` : ''}): ${what}`, errorType);
}
