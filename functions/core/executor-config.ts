/**
 * How a function's decisions are re-executed (DESIGN §5): the body of
 * `PUT /functions/{functionName}/executor`, validated, and the configuration as stored.
 */
import * as z from 'zod/mini';
import type { FieldIssue } from './errors.js';
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
  // Every check names its limit: without its own message a check reports the schema's `error`
  // ("must be a string", "must be a list") for a value that is one, only too long.
  z.array(z.string({ error: 'a model name must be a string' }).check(z.minLength(1, 'a model name must not be empty'), z.maxLength(256, 'a model name must be at most 256 characters')), { error: 'models must be a list of model names' }).check(
    z.minLength(1, 'models must list at least one model name (leave it out to accept any model)'),
    z.maxLength(100, 'models must list at most 100 model names'),
  ),
);

const HTTP_URL_MAX = 2048;

/** An absolute http(s) URL without userinfo (credentials belong in `secretHeaders`; see {@link credentialQueryParameters} for the query). */
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
      ctx.issues.push({ code: 'custom', message: 'credentials in the URL (user:password@) are not allowed; send them as a header named in secretHeaders', input: value });
    }
  }),
);

/** Headers whose meaning the adapter owns: the body is JSON and its framing is the HTTP client's business. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'expect', 'upgrade', 'te', 'trailer', 'keep-alive']);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

/** Header names: HTTP tokens, at most 50, none the adapter sets itself. */
function checkHeaderNames(headers: Record<string, string>, ctx: { issues: z.core.$ZodRawIssue[] }, kind: string): void {
  const names = Object.keys(headers);
  if (names.length > 50) ctx.issues.push({ code: 'custom', message: `at most 50 ${kind}`, input: headers });
  for (const name of names) {
    if (!HEADER_NAME.test(name)) {
      ctx.issues.push({ code: 'custom', message: `header name '${name.slice(0, 60)}' is not an HTTP token`, input: name, path: [name] });
    } else if (RESERVED_HEADERS.has(name.toLowerCase())) {
      ctx.issues.push({ code: 'custom', message: `header '${name}' is set by the executor itself`, input: name, path: [name] });
    }
  }
}

function hasCharCode(text: string, test: (code: number) => boolean): boolean {
  for (let i = 0; i < text.length; i++) if (test(text.charCodeAt(i))) return true;
  return false;
}

const HeadersSchema = z.optional(
  z.record(
    // Names are checked in the refinement below: a record key's own issues come out as a bare "Invalid input".
    z.string(),
    // HTTP sends a header value as bytes: tab, space, visible ASCII and obs-text (U+0080..U+00FF,
    // one byte each). Anything else (CR, LF, NUL, other controls, DEL, a character above U+00FF
    // such as € or an emoji) Node refuses at call time, which read as 'could not be reached'.
    z.string({ error: 'a header value must be a string' }).check(
      z.maxLength(8192, 'a header value must be at most 8192 characters'),
      z.regex(/^[^\r\n\0]*$/, 'a header value must not contain CR, LF or NUL'),
      z.refine((v) => !hasCharCode(v, (c) => (c > 0 && c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f), 'a header value must not contain control characters other than tab'),
      z.refine((v) => !hasCharCode(v, (c) => c > 0xff), 'a header value may hold only characters up to U+00FF (HTTP sends header values as bytes); percent- or base64-encode others'),
    ),
    { error: 'headers must be an object of header name to string value' },
  ).check(z.superRefine((headers, ctx) => checkHeaderNames(headers, ctx, 'headers'))),
);

/** `env:NAME`: a variable of the local host's environment. */
const ENV_REF = /^env:[A-Za-z_][A-Za-z0-9_]{0,254}$/;
/** A Secrets Manager secret ARN (any partition), with its 6-character suffix or without. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]{1,32}:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/;

/** Whether `ref` is a secret reference by its syntax (which ones a deployment can read is its own check). */
export function isSecretReference(ref: string): boolean {
  return ENV_REF.test(ref) || SECRET_ARN.test(ref);
}

/**
 * Where each secret header's value lives: header name → a Secrets Manager secret ARN
 * (`arn:aws:secretsmanager:<region>:<account>:secret:<name>`, on AWS) or `env:NAME` (a variable of
 * the local host's environment). The value is read at call time, never stored, never answered.
 */
const SecretHeadersSchema = z.optional(
  z.record(
    z.string(),
    z.string({ error: 'a secret header must name where its value lives (a Secrets Manager secret ARN, or env:NAME)' }).check(
      z.refine(isSecretReference, 'must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>) or env:NAME'),
    ),
    { error: 'secretHeaders must be an object of header name to secret reference' },
  ).check(z.superRefine((headers, ctx) => checkHeaderNames(headers, ctx, 'secret headers'))),
);

/**
 * A Lambda function name (≤ 64 characters), name:qualifier, partial ARN (`account:function:name`)
 * or full ARN, as Invoke's FunctionName takes them. A full ARN names a real partition (`aws`,
 * `aws-cn`, …) and a region of AWS's form (`us-east-1`, `us-gov-west-1`): an ARN with any other
 * region was stored, and every replay through it then failed inside the SDK.
 */
const FunctionArnSchema = z.string({ error: 'functionArn must be a Lambda function name or ARN' }).check(
  z.regex(
    /^(arn:aws(-[a-z]+)*:lambda:(eusc-)?[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d:\d{12}:function:|\d{12}:function:)?[a-zA-Z0-9_-]{1,64}(:(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$/,
    'functionArn must be a Lambda function name (1-64 of A-Z a-z 0-9 - _) or ARN (arn:aws:lambda:<region>:<12-digit account>:function:<name>), optionally with :version or :alias',
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
  secretHeaders: SecretHeadersSchema,
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
  /** Headers sent as given, e.g. `{"OpenAI-Organization": "org-…"}`; masked on read. */
  headers: HeadersSchema,
  /** e.g. `{"authorization": "env:DECISION_REPLAY_SECRET_OPENAI"}`: the value, `Bearer …`, read at call time. */
  secretHeaders: SecretHeadersSchema,
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

/** What every plain header value reads as in API responses, CLI output and reports. */
export const MASKED_VALUE = '***';

/**
 * Query parameters that carry credentials, by name: compared case-insensitively with `-`, `_` and
 * `.` removed (`API_KEY`, `api-key` and `apiKey` are all `apikey`). A name is credential-like when
 * it is one of {@link CREDENTIAL_QUERY_NAMES}, or ends with `key`, or contains one of
 * {@link CREDENTIAL_QUERY_PARTS}.
 */
export const CREDENTIAL_QUERY_NAMES: readonly string[] = ['code', 'sig', 'sas', 'auth', 'authorization', 'jwt', 'pass', 'pwd', 'session', 'sessionid', 'sid', 'bearer', 'hash', 'hmac'];
export const CREDENTIAL_QUERY_PARTS: readonly string[] = ['token', 'secret', 'password', 'passwd', 'signature', 'credential', 'apikey', 'accesskey'];

/** Whether a query parameter name is credential-like (see {@link CREDENTIAL_QUERY_NAMES}). */
export function isCredentialQueryName(name: string): boolean {
  const n = name.toLowerCase().replace(/[-_.]/g, '');
  return CREDENTIAL_QUERY_NAMES.includes(n) || n.endsWith('key') || CREDENTIAL_QUERY_PARTS.some((part) => n.includes(part));
}

/** The credential-like query parameter names of a URL, as written (none for a URL that does not parse). */
export function credentialQueryParameters(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  return [...new Set([...parsed.searchParams.keys()].filter(isCredentialQueryName))];
}

/**
 * A URL as it may be stored on results, logged or shown in errors: origin and path only, never the
 * query (it may hold a token) or fragment. A string that does not parse is reduced to what precedes `?`/`#`.
 */
export function urlWithoutQuery(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url.replace(/[?#].*$/s, '');
  }
}

/**
 * What `PUT /functions/{functionName}/executor` refuses beyond the schema, one issue per field:
 * - a URL whose query carries a credential-like parameter (send it as a secret header instead);
 * - a plain header whose value is the mask {@link MASKED_VALUE} (a configuration read back and PUT
 *   again would otherwise replace the real value with the mask);
 * - a header named both in `headers` and `secretHeaders`;
 * - a secret reference this deployment cannot read, or not send to this URL (`checkSecretRef`
 *   answers why, or undefined);
 * - a URL this deployment will never call (`checkAddress`: a host that is a literal loopback,
 *   private, link-local or multicast address where the network guard refuses it).
 */
export function registrationIssues(config: ExecutorConfig, checkSecretRef: (ref: string, target: URL) => string | undefined, checkAddress: (target: URL) => string | undefined = () => undefined): FieldIssue[] {
  if (config.type !== 'http' && config.type !== 'openai') return [];
  const issues: FieldIssue[] = [];
  const [urlField, url] = config.type === 'http' ? ['url', config.url] : ['baseUrl', config.baseUrl];
  const names = credentialQueryParameters(url);
  if (names.length > 0) {
    issues.push({
      path: urlField,
      message: `the query carries credential-like parameter(s) ${names.map((n) => `'${n}'`).join(', ')}; results and logs keep URLs, so send the credential as a header named in secretHeaders instead`,
    });
  }
  const target = new URL(url);
  const unreachable = checkAddress(target);
  if (unreachable !== undefined) issues.push({ path: urlField, message: unreachable });
  const plain = new Set(Object.keys(config.headers ?? {}).map((n) => n.toLowerCase()));
  for (const [name, value] of Object.entries(config.headers ?? {})) {
    if (value === MASKED_VALUE) issues.push({ path: `headers.${name}`, message: `'${MASKED_VALUE}' is how header values read back, not a value; send the real value (or name a secret in secretHeaders)` });
  }
  for (const [name, ref] of Object.entries(config.secretHeaders ?? {})) {
    if (plain.has(name.toLowerCase())) issues.push({ path: `secretHeaders.${name}`, message: `header '${name}' is also in headers; name it in one of them only` });
    const why = checkSecretRef(ref, target);
    if (why !== undefined) issues.push({ path: `secretHeaders.${name}`, message: why });
  }
  return issues;
}

/**
 * The configuration as answered to readers: every plain header value reads `***`, whatever the
 * header's name (no name-based guess decides what is secret), and a credential-like query
 * parameter's value in a URL stored before such URLs were refused reads `***` too. Secret header
 * references are answered as they are: they say where a value lives, not the value.
 */
export function redactExecutorConfig<T extends ExecutorConfig>(config: T): T {
  const headers = (h: Record<string, string> | undefined) => h === undefined ? {} : { headers: Object.fromEntries(Object.keys(h).map((name) => [name, MASKED_VALUE])) };
  if (config.type === 'http') return { ...config, ...headers(config.headers), url: maskCredentialQuery(config.url) };
  if (config.type === 'openai') return { ...config, ...headers(config.headers), baseUrl: maskCredentialQuery(config.baseUrl) };
  return config;
}

function maskCredentialQuery(url: string): string {
  if (credentialQueryParameters(url).length === 0) return url;
  const parsed = new URL(url);
  for (const name of [...parsed.searchParams.keys()]) if (isCredentialQueryName(name)) parsed.searchParams.set(name, MASKED_VALUE);
  return parsed.href;
}
