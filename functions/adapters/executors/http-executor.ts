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
  MASKED_VALUE,
  ExecutorMalformedResponseError,
  ExecutorResponseTooLargeError,
  ExecutorSecretUnavailableError,
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
  type SecretHeaderSource,
  urlWithoutQuery,
} from '../../core/executor.js';
import { assertAllowedUrl, systemLookup, type LookupFn } from './network-guard.js';
import { pinnedTransport, type Transport, type TransportAnswer } from './pinned-transport.js';

export type { Transport, TransportAnswer } from './pinned-transport.js';

/** What an http-based executor may be given; everything but `allowPrivateNetworks` has a default. */
export interface HttpPlumbingOptions {
  /** Sends one request to the checked addresses (default: {@link pinnedTransport}). */
  transport?: Transport;
  lookup?: LookupFn;
  /** Allow loopback, private and link-local targets. The local host sets it; on AWS it is off. */
  allowPrivateNetworks: boolean;
  /** Where `secretHeaders` values are read (default: none can be read, so a secret header fails the call). */
  secrets?: SecretHeaderSource;
  /** Largest answer read, in bytes (default 5 MB). */
  maxResponseBytes?: number;
  /** Retries after a dropped connection or a 429/502/503/504 (default 1), all within the one timeout. */
  maxRetries?: number;
  /** First backoff before a retry (default 100 ms, doubling). */
  retryBaseDelayMs?: number;
}

/** {@link HttpPlumbingOptions} with the defaults filled in. */
export interface HttpPlumbing {
  transport: Transport;
  lookup: LookupFn;
  allowPrivateNetworks: boolean;
  secrets: SecretHeaderSource;
  maxResponseBytes: number;
  maxRetries: number;
  retryBaseDelayMs: number;
}

export function resolvePlumbing(options: HttpPlumbingOptions): HttpPlumbing {
  return {
    transport: options.transport ?? pinnedTransport,
    lookup: options.lookup ?? systemLookup,
    allowPrivateNetworks: options.allowPrivateNetworks,
    secrets: options.secrets ?? NO_SECRETS,
    maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    maxRetries: options.maxRetries ?? 1,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 100,
  };
}

/** The source of a host that reads no secrets. */
const NO_SECRETS: SecretHeaderSource = {
  refuses: () => 'this host reads no secret headers',
  read: (ref) => Promise.reject(new Error(`this host reads no secret headers (${ref})`)),
};

/** The headers of one call: plain ones, and secret ones whose values are read now. */
export interface CallHeaders {
  headers?: Readonly<Record<string, string>> | undefined;
  secretHeaders?: Readonly<Record<string, string>> | undefined;
}

/** Reads every secret header's value (in parallel); the first that cannot be read fails the call, naming it. */
async function readSecretHeaders(secretHeaders: Readonly<Record<string, string>> | undefined, secrets: SecretHeaderSource, target: URL): Promise<Record<string, string>> {
  const entries = Object.entries(secretHeaders ?? {});
  const values = await Promise.all(entries.map(async ([name, ref]) => {
    // Checked again at call time: a configuration stored before the deployment's rules changed.
    const refused = secrets.refuses(ref, target);
    if (refused !== undefined) throw new ExecutorSecretUnavailableError(name, ref, refused);
    try {
      return [name, await secrets.read(ref)] as const;
    } catch (err) {
      // The reader's message names the reference and why (never a value); it is the reason given.
      const reason = err instanceof Error ? err.message.replace(/^secret \S+ could not be read: /, '') : 'unreadable';
      throw new ExecutorSecretUnavailableError(name, ref, reason, { cause: err });
    }
  }));
  return Object.fromEntries(values);
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
  url: string | URL,
  body: unknown,
  callHeaders: CallHeaders,
  timeoutMs: number,
  plumbing: HttpPlumbing,
  target: string,
): Promise<unknown> {
  // A timer of our own, cleared when the call ends: AbortSignal.timeout's timer outlives the call
  // (30 s by default, thousands pending in a batch) and costs more to set up.
  const controller = new AbortController();
  const { signal } = controller;
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), timeoutMs);
  const deadline = performance.now() + timeoutMs;
  // Header values sent on this call: scrubbed from any error message (an executor may echo them).
  let sent: string[] = [];
  try {
    const parsedUrl = typeof url === 'string' ? new URL(url) : url;
    // The connection goes to exactly the addresses checked here: the transport never resolves again.
    const addresses = await assertAllowedUrl(parsedUrl, { lookup: plumbing.lookup, allowPrivateNetworks: plumbing.allowPrivateNetworks, signal, timeoutMs });
    const payload = JSON.stringify(body);
    const secretValues = hasEntries(callHeaders.secretHeaders) ? await abortable(readSecretHeaders(callHeaders.secretHeaders, plumbing.secrets, parsedUrl), signal) : NO_VALUES;
    sent = [...Object.values(secretValues), ...Object.values(callHeaders.headers ?? {})];
    const requestHeaders = { ...callHeaders.headers, ...secretValues, 'content-type': 'application/json', accept: 'application/json' };
    for (let attempt = 0; ; attempt += 1) {
      const backoff = plumbing.retryBaseDelayMs * 2 ** attempt;
      const canRetry = attempt < plumbing.maxRetries && performance.now() + backoff < deadline;
      let res: TransportAnswer;
      try {
        res = await plumbing.transport(parsedUrl, { method: 'POST', headers: requestHeaders, body: payload, signal }, addresses);
      } catch (err) {
        if (signal.aborted) throw err;
        const code = networkErrorCode(err);
        if (canRetry && code !== undefined && RETRY_NETWORK_CODES.has(code)) {
          await sleep(backoff, undefined, { signal });
          continue;
        }
        throw new ExecutorUnreachableError(`${target} could not be reached${code === undefined ? '' : ` (${code})`}`, { cause: err });
      }
      const status = answeredStatus(res.status);
      if (RETRY_STATUSES.has(status) && canRetry) {
        res.discard();
        await sleep(backoff, undefined, { signal });
        continue;
      }
      if (status < 200 || status > 299) throw await statusError(res, status, target);
      const bytes = await readLimited(res, plumbing.maxResponseBytes, target);
      return parseJsonAnswer(decodeUtf8(bytes, target), target);
    }
  } catch (err) {
    // A status that arrived stays the verdict when the deadline passes while its excerpt is read
    // (an error body that stalls): the executor did answer, and said what went wrong.
    if (signal.aborted && !(err instanceof ExecutorHttpStatusError)) throw new ExecutorTimeoutError(timeoutMs, target, { cause: err });
    if (err instanceof ExecutorError) throw scrubbed(err, sent);
    throw scrubbed(new ExecutorUnreachableError(`${target} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }), sent);
  } finally {
    clearTimeout(timer);
  }
}

const NO_VALUES: Readonly<Record<string, string>> = Object.freeze({});

function hasEntries(record: Readonly<Record<string, string>> | undefined): boolean {
  return record !== undefined && Object.keys(record).length > 0;
}

/**
 * The error with every header value of the call replaced by `***` in its message: the message is
 * stored on the replay result, and an executor's error body may echo what it was sent (a 401 that
 * quotes the key). Values shorter than 4 characters are left alone (they would mangle the text).
 */
function scrubbed(err: ExecutorError, values: readonly string[]): ExecutorError {
  let message = err.message;
  for (const value of [...values].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length)) message = message.split(value).join(MASKED_VALUE);
  if (message !== err.message) err.message = message;
  return err;
}

/** `promise`, or the signal's reason once it fires (a Secrets Manager call cannot be told the deadline). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The status as the callers judge it: 100–599 as sent, anything else as 599 (what the web `Response`
 * the transport once answered with made of a status outside its range). Of the 1xx, only a 101
 * (protocol switch) reaches here: Node reads past the others to the final answer.
 */
function answeredStatus(status: number): number {
  return status >= 100 && status <= 599 ? status : 599;
}

async function statusError(res: TransportAnswer, status: number, target: string): Promise<ExecutorHttpStatusError> {
  if (status < 200) {
    res.discard();
    return new ExecutorHttpStatusError(status, `${target} answered ${status} (a protocol switch) instead of an answer; executors answer the POST with JSON`);
  }
  if (status >= 300 && status < 400) {
    res.discard();
    // The location may carry someone's token in its query: only its origin and path are kept.
    const location = safeLocation(res.header('location') ?? null);
    return new ExecutorHttpStatusError(status, `${target} answered ${status} (a redirect${location ? ` to ${location}` : ''}); executors do not follow redirects`);
  }
  // A short excerpt of the error body helps whoever owns the executor; the rest is not read.
  let detail = '';
  try {
    const bytes = await readLimited(res, 2048, target, true);
    const text = lenientUtf8.decode(bytes);
    if (text.trim() !== '') detail = `: ${excerpt(text)}`;
  } catch {
    detail = '';
  }
  return new ExecutorHttpStatusError(status, `${target} answered HTTP ${status}${detail}`);
}

function safeLocation(location: string | null): string | null {
  if (location === null || location === '') return null;
  try {
    return urlWithoutQuery(new URL(location, 'http://relative.invalid').href).replace(/^http:\/\/relative\.invalid/, '');
  } catch {
    return '(unreadable)';
  }
}

/**
 * Reads the body without ever holding more than `limit` bytes: a declared Content-Length over the
 * limit is refused before reading, and a streamed body is cut off as soon as it passes the limit.
 * With `truncate`, the first `limit` bytes are returned instead of an error.
 */
export async function readLimited(res: TransportAnswer, limit: number, target: string, truncate = false): Promise<Uint8Array> {
  const declared = Number(res.header('content-length') ?? '');
  if (!truncate && Number.isFinite(declared) && declared > limit) {
    res.discard();
    throw new ExecutorResponseTooLargeError(limit, target);
  }
  const body = await res.read(limit);
  if (!body.complete && !truncate) throw new ExecutorResponseTooLargeError(limit, target);
  return body.bytes;
}

/** Decoders are reusable between calls: each `decode` without `stream` starts afresh. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder();

function decodeUtf8(bytes: Uint8Array, target: string): string {
  try {
    return strictUtf8.decode(bytes);
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
  /** The URL parsed once for every call (or, unparseable, the text: each call then fails saying so). */
  private readonly url: URL | string;

  constructor(config: HttpExecutorConfig, options: HttpPlumbingOptions) {
    this.config = config;
    this.plumbing = resolvePlumbing(options);
    this.url = URL.canParse(config.url) ? new URL(config.url) : config.url;
    // The description is stored on every replay result and logged: never the URL's query.
    this.description = `http POST ${typeof this.url === 'string' ? urlWithoutQuery(this.url) : `${this.url.origin}${this.url.pathname}`}`;
    this.timeoutMs = executorTimeoutMs(config);
  }

  supportsModel(modelName: string | undefined): boolean {
    return modelListAllows(this.config.models, modelName);
  }

  async execute(req: ExecutionRequest, options: { timeoutMs: number }): Promise<ExecutionResult> {
    const started = performance.now();
    const body = executorRequestBody(req);
    const json = await postJson(this.url, body, this.config, options.timeoutMs, this.plumbing, this.description);
    const answer = parseExecutorAnswer(json, this.description);
    return {
      outputs: answer.outputs,
      executionTimeMs: roundMs(performance.now() - started),
      ...(answer.executionTimeMs !== undefined && { reportedExecutionTimeMs: answer.executionTimeMs }),
      ...(answer.dependencies !== undefined && { dependencies: answer.dependencies }),
    };
  }
}
