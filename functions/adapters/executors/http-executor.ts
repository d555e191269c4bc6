/**
 * The http executor (DESIGN §5): POSTs `{functionName, inputs, modelParameters, context}` as JSON
 * to the registered URL and expects `{"outputs":[{name, value, type?}], "executionTimeMs"?}`.
 * The plumbing here (network guard, one overall timeout across retries, a streamed size limit, no
 * redirects) is shared with the OpenAI-compatible executor.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  ExecutorError,
  ExecutorHttpStatusError,
  ExecutorMalformedResponseError,
  ExecutorResponseTooLargeError,
  ExecutorTimeoutError,
  ExecutorUnreachableError,
  excerpt,
  executorRequestBody,
  executorTimeoutMs,
  modelListAllows,
  parseExecutorAnswer,
  parseJsonAnswer,
  type ExecutionRequest,
  type ExecutionResult,
  type Executor,
  type HttpExecutorConfig,
} from '../../core/executor.js';
import { assertAllowedUrl, systemLookup, type LookupFn } from './network-guard.js';

/** The fetch the executors call (global fetch by default; tests and hosts may pass their own). */
export type FetchFn = (input: string | URL, init: RequestInit) => Promise<Response>;

/** What an http-based executor may be given; everything but `allowPrivateNetworks` has a default. */
export interface HttpPlumbingOptions {
  fetch?: FetchFn;
  lookup?: LookupFn;
  /** Allow loopback, private and link-local targets. The local host sets it; on AWS it is off. */
  allowPrivateNetworks: boolean;
  /** Largest answer read, in bytes (default 5 MB). */
  maxResponseBytes?: number;
  /** Retries after a dropped connection or a 429/502/503/504 (default 1), all within the one timeout. */
  maxRetries?: number;
  /** First backoff before a retry (default 100 ms, doubling). */
  retryBaseDelayMs?: number;
}

/** {@link HttpPlumbingOptions} with the defaults filled in. */
export interface HttpPlumbing {
  fetch: FetchFn;
  lookup: LookupFn;
  allowPrivateNetworks: boolean;
  maxResponseBytes: number;
  maxRetries: number;
  retryBaseDelayMs: number;
}

export function resolvePlumbing(options: HttpPlumbingOptions): HttpPlumbing {
  return {
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    lookup: options.lookup ?? systemLookup,
    allowPrivateNetworks: options.allowPrivateNetworks,
    maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    maxRetries: options.maxRetries ?? 1,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 100,
  };
}

/** Statuses that say "try again shortly" rather than "this request is wrong". */
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
/** Connection errors where the request most likely never reached the executor's logic (e.g. a stale keep-alive socket). */
const RETRY_NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

function networkErrorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: unknown } | null)?.cause;
  const code = (cause as { code?: unknown } | null)?.code ?? (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * POSTs `body` as JSON and returns the answer parsed as JSON. One `timeoutMs` bounds everything:
 * the address check, every attempt and backoff, and reading the body. Rejects with an
 * {@link ExecutorError}: timeout, forbidden address, unreachable, non-2xx (redirects are not
 * followed: they could lead anywhere), too large, or not JSON.
 */
export async function postJson(
  url: string,
  body: unknown,
  headers: Readonly<Record<string, string>> | undefined,
  timeoutMs: number,
  plumbing: HttpPlumbing,
  target: string,
): Promise<unknown> {
  const signal = AbortSignal.timeout(timeoutMs);
  const deadline = performance.now() + timeoutMs;
  try {
    const parsedUrl = new URL(url);
    await assertAllowedUrl(parsedUrl, { lookup: plumbing.lookup, allowPrivateNetworks: plumbing.allowPrivateNetworks, signal, timeoutMs });
    const payload = JSON.stringify(body);
    const requestHeaders = { ...headers, 'content-type': 'application/json', accept: 'application/json' };
    for (let attempt = 0; ; attempt += 1) {
      const backoff = plumbing.retryBaseDelayMs * 2 ** attempt;
      const canRetry = attempt < plumbing.maxRetries && performance.now() + backoff < deadline;
      let res: Response;
      try {
        res = await plumbing.fetch(parsedUrl, { method: 'POST', headers: requestHeaders, body: payload, redirect: 'manual', signal });
      } catch (err) {
        if (signal.aborted) throw err;
        const code = networkErrorCode(err);
        if (canRetry && code !== undefined && RETRY_NETWORK_CODES.has(code)) {
          await sleep(backoff, undefined, { signal });
          continue;
        }
        throw new ExecutorUnreachableError(`${target} could not be reached${code === undefined ? '' : ` (${code})`}`, { cause: err });
      }
      if (RETRY_STATUSES.has(res.status) && canRetry) {
        await res.body?.cancel().catch(() => undefined);
        await sleep(backoff, undefined, { signal });
        continue;
      }
      if (res.status < 200 || res.status > 299) throw await statusError(res, target);
      const bytes = await readLimited(res, plumbing.maxResponseBytes, target);
      return parseJsonAnswer(decodeUtf8(bytes, target), target);
    }
  } catch (err) {
    if (signal.aborted) throw new ExecutorTimeoutError(timeoutMs, target, { cause: err });
    if (err instanceof ExecutorError) throw err;
    throw new ExecutorUnreachableError(`${target} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

async function statusError(res: Response, target: string): Promise<ExecutorHttpStatusError> {
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel().catch(() => undefined);
    const location = res.headers.get('location');
    return new ExecutorHttpStatusError(res.status, `${target} answered ${res.status} (a redirect${location ? ` to ${location}` : ''}); executors do not follow redirects`);
  }
  // A short excerpt of the error body helps whoever owns the executor; the rest is not read.
  let detail = '';
  try {
    const bytes = await readLimited(res, 2048, target, true);
    const text = new TextDecoder().decode(bytes);
    if (text.trim() !== '') detail = `: ${excerpt(text)}`;
  } catch {
    detail = '';
  }
  return new ExecutorHttpStatusError(res.status, `${target} answered HTTP ${res.status}${detail}`);
}

/**
 * Reads the body without ever holding more than `limit` bytes: a declared Content-Length over the
 * limit is refused before reading, and a streamed body is cut off as soon as it passes the limit.
 * With `truncate`, the first `limit` bytes are returned instead of an error.
 */
export async function readLimited(res: Response, limit: number, target: string, truncate = false): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? '');
  if (!truncate && Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new ExecutorResponseTooLargeError(limit, target);
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.byteLength > limit) {
      await reader.cancel().catch(() => undefined);
      if (truncate) {
        chunks.push(value.subarray(0, limit - total));
        break;
      }
      throw new ExecutorResponseTooLargeError(limit, target);
    }
    chunks.push(value);
    total += value.byteLength;
  }
  return Buffer.concat(chunks);
}

function decodeUtf8(bytes: Uint8Array, target: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ExecutorMalformedResponseError(`${target} answered with a body that is not UTF-8 text`, { cause: err });
  }
}

/** Rounds a measured duration to microseconds (sub-microsecond digits are noise). */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Re-executes decisions by POSTing them to an http endpoint. */
export class HttpExecutor implements Executor {
  readonly description: string;
  readonly timeoutMs: number;
  private readonly config: HttpExecutorConfig;
  private readonly plumbing: HttpPlumbing;

  constructor(config: HttpExecutorConfig, options: HttpPlumbingOptions) {
    this.config = config;
    this.plumbing = resolvePlumbing(options);
    this.description = `http POST ${config.url}`;
    this.timeoutMs = executorTimeoutMs(config);
  }

  supportsModel(modelName: string | undefined): boolean {
    return modelListAllows(this.config.models, modelName);
  }

  async execute(req: ExecutionRequest, options: { timeoutMs: number }): Promise<ExecutionResult> {
    const started = performance.now();
    const body = executorRequestBody(req);
    const json = await postJson(this.config.url, body, this.config.headers, options.timeoutMs, this.plumbing, this.description);
    const answer = parseExecutorAnswer(json, this.description);
    return {
      outputs: answer.outputs,
      executionTimeMs: roundMs(performance.now() - started),
      ...(answer.executionTimeMs !== undefined && { reportedExecutionTimeMs: answer.executionTimeMs }),
      ...(answer.dependencies !== undefined && { dependencies: answer.dependencies }),
    };
  }
}
