/**
 * How a function's decisions are re-executed (DESIGN §5): the body of
 * `PUT /functions/{functionName}/executor`, validated, and the configuration as stored.
 */
import * as z from 'zod/mini';
import { FunctionNameSchema } from './snapshot.js';

/** Timeout of one executor call when the configuration names none. */
export const DEFAULT_EXECUTOR_TIMEOUT_MS = 30_000;
/** Upper bound of `timeoutMs` (a batch item's Lambda has 15 minutes; one call gets at most 5). */
export const MAX_EXECUTOR_TIMEOUT_MS = 300_000;
/** Largest executor answer read (http body, Lambda payload) unless the adapter is told otherwise. */
export const DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

const TimeoutMsSchema = z.optional(
  z.int({ error: 'timeoutMs must be an integer number of milliseconds' }).check(z.gte(1, 'timeoutMs must be at least 1'), z.lte(MAX_EXECUTOR_TIMEOUT_MS, `timeoutMs must be at most ${MAX_EXECUTOR_TIMEOUT_MS}`)),
);

/** The modelName values an executor serves; absent means any model. */
const ModelsSchema = z.optional(
  z.array(z.string({ error: 'a model name must be a string' }).check(z.minLength(1, 'a model name must not be empty'), z.maxLength(256)), { error: 'models must be a list of model names' }).check(
    z.minLength(1, 'models must list at least one model name (leave it out to accept any model)'),
    z.maxLength(100),
  ),
);

const HTTP_URL_MAX = 2048;

/** An absolute http(s) URL without credentials (those belong in headers, which are not echoed in descriptions). */
const httpUrl = (field: string) => z.string({ error: `${field} must be a URL string` }).check(
  z.maxLength(HTTP_URL_MAX, `URL must be at most ${HTTP_URL_MAX} characters`),
  z.superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.issues.push({ code: 'custom', message: `'${value.slice(0, 100)}' is not an absolute URL`, input: value });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.issues.push({ code: 'custom', message: `only http and https URLs are allowed, not ${url.protocol}`, input: value });
    }
    if (url.username !== '' || url.password !== '') {
      ctx.issues.push({ code: 'custom', message: 'credentials in the URL are not allowed; send them in headers', input: value });
    }
  }),
);

/** Headers whose meaning the adapter owns: the body is JSON and its framing is the HTTP client's business. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'expect', 'upgrade', 'te', 'trailer', 'keep-alive']);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

const HeadersSchema = z.optional(
  z.record(
    // Names are checked in the refinement below: a record key's own issues come out as a bare "Invalid input".
    z.string(),
    z.string({ error: 'a header value must be a string' }).check(z.maxLength(8192), z.regex(/^[^\r\n\0]*$/, 'a header value must not contain CR, LF or NUL')),
    { error: 'headers must be an object of header name to string value' },
  ).check(
    z.superRefine((headers, ctx) => {
      const names = Object.keys(headers);
      if (names.length > 50) ctx.issues.push({ code: 'custom', message: 'at most 50 headers', input: headers });
      for (const name of names) {
        if (!HEADER_NAME.test(name)) {
          ctx.issues.push({ code: 'custom', message: `header name '${name.slice(0, 60)}' is not an HTTP token`, input: name, path: [name] });
        } else if (RESERVED_HEADERS.has(name.toLowerCase())) {
          ctx.issues.push({ code: 'custom', message: `header '${name}' is set by the executor itself`, input: name, path: [name] });
        }
      }
    }),
  ),
);

/** A Lambda function name, name:qualifier, partial or full ARN (what InvokeCommand's FunctionName accepts). */
const FunctionArnSchema = z.string({ error: 'functionArn must be a Lambda function name or ARN' }).check(
  z.regex(
    /^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?[a-zA-Z0-9_-]{1,140}(:(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$/,
    'functionArn must be a Lambda function name or ARN, optionally with a version or alias',
  ),
);

/**
 * zod/mini ships no message locale, so the object-level issues get explicit messages here: an
 * unknown field is named, not reported as "Invalid input".
 */
function objectError(kind: string) {
  return {
    error: (issue: { code?: string; keys?: string[] }) =>
      issue.code === 'unrecognized_keys' ? `unknown field(s) for a ${kind} executor: ${(issue.keys ?? []).join(', ')}` : `a ${kind} executor configuration must be an object`,
  };
}

export const HttpExecutorConfigSchema = z.strictObject({
  type: z.literal('http'),
  url: httpUrl('url'),
  timeoutMs: TimeoutMsSchema,
  headers: HeadersSchema,
  models: ModelsSchema,
}, objectError('http'));

export const LambdaExecutorConfigSchema = z.strictObject({
  type: z.literal('lambda'),
  functionArn: FunctionArnSchema,
  timeoutMs: TimeoutMsSchema,
  models: ModelsSchema,
}, objectError('lambda'));

export const BedrockExecutorConfigSchema = z.strictObject({
  type: z.literal('bedrock'),
  /** The Bedrock model id or inference profile; absent: the snapshot's `modelParameters.modelName`. */
  modelId: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  timeoutMs: TimeoutMsSchema,
  models: ModelsSchema,
}, objectError('bedrock'));

export const OpenAiExecutorConfigSchema = z.strictObject({
  type: z.literal('openai'),
  /** e.g. `https://api.openai.com/v1`; the executor POSTs to `{baseUrl}/chat/completions`. */
  baseUrl: httpUrl('baseUrl'),
  /** Absent: the snapshot's `modelParameters.modelName`. */
  model: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  /** e.g. `{"authorization": "Bearer …"}`. */
  headers: HeadersSchema,
  timeoutMs: TimeoutMsSchema,
  models: ModelsSchema,
}, objectError('openai'));

/** How to re-execute a function's decisions: the body of `PUT /functions/{functionName}/executor`. */
export const ExecutorConfigSchema = z.discriminatedUnion('type', [
  HttpExecutorConfigSchema,
  LambdaExecutorConfigSchema,
  BedrockExecutorConfigSchema,
  OpenAiExecutorConfigSchema,
], { error: "type must be one of 'http', 'lambda', 'bedrock', 'openai'" });
export type ExecutorConfig = z.infer<typeof ExecutorConfigSchema>;
export type HttpExecutorConfig = z.infer<typeof HttpExecutorConfigSchema>;
export type LambdaExecutorConfig = z.infer<typeof LambdaExecutorConfigSchema>;
export type BedrockExecutorConfig = z.infer<typeof BedrockExecutorConfigSchema>;
export type OpenAiExecutorConfig = z.infer<typeof OpenAiExecutorConfigSchema>;

/** An executor configuration as stored and as `GET /functions/{functionName}/executor` returns it. */
export const StoredExecutorConfigSchema = z.strictObject({
  functionName: FunctionNameSchema,
  executor: ExecutorConfigSchema,
  updatedAt: z.string(),
});
export type StoredExecutorConfig = z.infer<typeof StoredExecutorConfigSchema>;

/** The timeout an executor call gets under this configuration. */
export function executorTimeoutMs(config: ExecutorConfig): number {
  return config.timeoutMs ?? DEFAULT_EXECUTOR_TIMEOUT_MS;
}

const SENSITIVE_HEADER = /authorization|cookie|token|secret|key|password|credential|signature/i;

/**
 * The configuration with the values of credential-like headers masked, for answering reads:
 * whoever can read the API should not learn the API key the executor uses.
 */
export function redactExecutorConfig<T extends ExecutorConfig>(config: T): T {
  if ((config.type !== 'http' && config.type !== 'openai') || config.headers === undefined) return config;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.headers)) headers[name] = SENSITIVE_HEADER.test(name) ? '***' : value;
  return { ...config, headers };
}
