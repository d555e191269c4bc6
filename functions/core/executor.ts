/**
 * Executors: how a recorded decision is re-executed for replay (DESIGN §5). This module is pure:
 * the registered configuration, the port the replay engine calls, the errors an executor raises,
 * and the parsing of an executor's (or a model's) answer. The adapters that do the I/O live in
 * `functions/adapters/executors/`.
 */
import * as z from 'zod/mini';
import { UnprocessableError } from './errors.js';
import type { JsonObject, JsonValue } from './json.js';
import { toFieldIssues } from './schema-util.js';
import { ReportedDependenciesSchema, type Dependency, type DependencyMode, type ReportedDependency } from './dependencies.js';
import { FunctionNameSchema, NamedValueSchema, StorableNumberSchema, namedValuesToObject, type ModelParameters, type NamedValue } from './snapshot.js';

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
export type ExecutorType = ExecutorConfig['type'];

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

/** What an executor is asked to decide. */
export interface ExecutionRequest {
  functionName: string;
  inputs: readonly NamedValue[];
  modelParameters?: ModelParameters | undefined;
  context?: JsonObject | undefined;
  /**
   * The names of the outputs the original decision had. Model executors (bedrock, openai) use
   * them to tell the model what to answer; http and lambda executors ignore them.
   */
  expectedOutputs?: readonly string[] | undefined;
  /**
   * How the decision's dependencies are served: `recorded` (the executor request carries
   * `recordedDependencies`, to be answered from the recording) or `live`. Absent when the decision
   * recorded none and none was asked for.
   */
  dependencyMode?: DependencyMode | undefined;
  /** The calls the original decision made, in recorded mode. */
  recordedDependencies?: readonly Dependency[] | undefined;
}

/**
 * The JSON body the http and lambda executors send: `{functionName, inputs, modelParameters,
 * context}`, plus `dependencyMode` and (in recorded mode) `recordedDependencies` when the replay has
 * a dependency mode.
 */
export function executorRequestBody(req: ExecutionRequest): Record<string, unknown> {
  return {
    functionName: req.functionName,
    inputs: req.inputs,
    modelParameters: req.modelParameters,
    context: req.context,
    ...(req.dependencyMode !== undefined && { dependencyMode: req.dependencyMode }),
    ...(req.recordedDependencies !== undefined && { recordedDependencies: req.recordedDependencies }),
  };
}

/** What an executor decided. */
export interface ExecutionResult {
  outputs: NamedValue[];
  /** Wall time of the call, measured by the adapter (includes network, retries and parsing). */
  executionTimeMs: number;
  /** The execution time the executor itself reported (`executionTimeMs` in its answer, a model's latency), if any. */
  reportedExecutionTimeMs?: number;
  /** The dependency calls the candidate reported making (`dependencies` in its answer), if it reported any. */
  dependencies?: ReportedDependency[];
}

/** The port: something that re-executes one decision. */
export interface Executor {
  /** Human-readable target, recorded on each replay result, e.g. `http POST http://127.0.0.1:3000/demo/credit/v2`. Never holds secrets. */
  readonly description: string;
  /** The configured timeout (`timeoutMs`, default 30 s): what the replay engine passes to {@link Executor.execute}. */
  readonly timeoutMs: number;
  /**
   * Whether this executor can re-execute a decision made by `modelName` (the snapshot's
   * `modelParameters.modelName` after overrides). False means: 422, nothing run.
   */
  supportsModel(modelName: string | undefined): boolean;
  /**
   * Re-executes the decision. Rejects with an {@link ExecutorError} when there is no usable answer
   * (timeout, unreachable, non-2xx, malformed, too large, function error); `timeoutMs` bounds the
   * whole call, retries included.
   */
  execute(req: ExecutionRequest, options: { timeoutMs: number }): Promise<ExecutionResult>;
}

/** The port for the registered configurations (`PUT`/`GET /functions/{functionName}/executor`). */
export interface ExecutorConfigStore {
  /** Stores (replaces) the function's configuration and returns it as stored. */
  put(functionName: string, config: ExecutorConfig): Promise<StoredExecutorConfig>;
  get(functionName: string): Promise<StoredExecutorConfig | undefined>;
}

/** `models` semantics shared by every executor: absent accepts any model; a list needs a named model on it. */
export function modelListAllows(models: readonly string[] | undefined, modelName: string | undefined): boolean {
  if (models === undefined) return true;
  return modelName !== undefined && models.includes(modelName);
}

// ---------------------------------------------------------------------------------------------
// Errors

export type ExecutorErrorCode =
  | 'EXECUTOR_TIMEOUT'
  | 'EXECUTOR_HTTP_STATUS'
  | 'EXECUTOR_MALFORMED_RESPONSE'
  | 'EXECUTOR_RESPONSE_TOO_LARGE'
  | 'EXECUTOR_UNREACHABLE'
  | 'EXECUTOR_FORBIDDEN_ADDRESS'
  | 'EXECUTOR_FAILED';

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

/** The executor ran and failed (a Lambda FunctionError). */
export class ExecutorFailedError extends ExecutorError {
  readonly errorType: string | undefined;
  constructor(message: string, errorType?: string, options?: ErrorOptions) {
    super('EXECUTOR_FAILED', message, options);
    this.errorType = errorType;
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

/** Throws {@link UnsupportedModelError} unless `executor` serves `modelName`. */
export function assertSupportsModel(executor: Executor, functionName: string, modelName: string | undefined): void {
  if (!executor.supportsModel(modelName)) throw new UnsupportedModelError(functionName, modelName, executor.description);
}

// ---------------------------------------------------------------------------------------------
// Answers

/** What the http and lambda executors (and a model's JSON) answer: `{outputs:[{name, value, type?}], executionTimeMs?}`. */
export const ExecutorAnswerSchema = z.object({
  outputs: z.array(NamedValueSchema).check(
    z.minLength(1, 'an answer needs at least one output'),
    z.maxLength(1000),
    z.superRefine((entries: NamedValue[], ctx) => {
      const seen = new Set<string>();
      entries.forEach((entry, index) => {
        if (seen.has(entry.name)) ctx.issues.push({ code: 'custom', message: `duplicate output name '${entry.name}'`, input: entry.name, path: [index, 'name'] });
        seen.add(entry.name);
      });
    }),
  ),
  executionTimeMs: z.optional(StorableNumberSchema.check(z.gte(0, 'executionTimeMs must be >= 0'))),
  /** The dependency calls the candidate made (see dependencies.ts); optional. */
  dependencies: z.optional(ReportedDependenciesSchema),
});
export type ExecutorAnswer = z.infer<typeof ExecutorAnswerSchema>;

/**
 * Validates a parsed answer. Throws {@link ExecutorMalformedResponseError} naming each bad field
 * (`outputs[0].name: …`).
 */
export function parseExecutorAnswer(answer: unknown, target: string): ExecutorAnswer {
  const result = ExecutorAnswerSchema.safeParse(answer);
  if (result.success) {
    return {
      outputs: result.data.outputs.map(cleanOutput),
      ...(result.data.executionTimeMs !== undefined && { executionTimeMs: result.data.executionTimeMs }),
      ...(result.data.dependencies !== undefined && { dependencies: result.data.dependencies }),
    };
  }
  const issues = toFieldIssues(result.error);
  const summary = issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ');
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  throw new ExecutorMalformedResponseError(`${target} answered with an unexpected shape (expected {"outputs":[{"name","value","type"?}],"executionTimeMs"?,"dependencies"?}): ${summary}${more}`);
}

function cleanOutput(entry: NamedValue): NamedValue {
  return entry.type === undefined ? { name: entry.name, value: entry.value } : { name: entry.name, value: entry.value, type: entry.type };
}

/** Parses JSON text from an executor; throws {@link ExecutorMalformedResponseError} when it is not JSON. */
export function parseJsonAnswer(text: string, target: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ExecutorMalformedResponseError(`${target} answered with something that is not JSON (${reason}): ${excerpt(text)}`);
  }
}

/** The first characters of a text, for error messages. */
export function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? JSON.stringify(flat) : `${JSON.stringify(flat.slice(0, max))}…`;
}

// ---------------------------------------------------------------------------------------------
// Model executors (bedrock, openai): the prompt and the reading of the answer

/** A chat prompt: one system text and one user text. */
export interface ModelPrompt {
  system: string;
  user: string;
}

/**
 * The prompt for a model executor: the system prompt is `context.systemPrompt` when the decision
 * recorded one (that is how it was made), else an instruction to answer with the outputs as JSON;
 * the user message is the inputs as a JSON object keyed by input name.
 */
export function buildModelPrompt(req: ExecutionRequest): ModelPrompt {
  const recorded = req.context?.systemPrompt;
  const system = typeof recorded === 'string' && recorded.trim() !== '' ? recorded : defaultSystemPrompt(req);
  return { system, user: JSON.stringify(namedValuesToObject(req.inputs)) };
}

function defaultSystemPrompt(req: ExecutionRequest): string {
  const names = req.expectedOutputs ?? [];
  const which = names.length > 0
    ? `exactly these outputs: ${names.map((n) => JSON.stringify(n)).join(', ')}`
    : 'every output of the decision';
  return [
    `You make the decision of the function ${JSON.stringify(req.functionName)}.`,
    'The user message is a JSON object holding the inputs of one decision, keyed by input name.',
    'Answer with a single JSON object and nothing else, of the form',
    '{"outputs":[{"name":"<output name>","value":<any JSON value>}]},',
    `listing ${which}.`,
  ].join(' ');
}

const FENCE = /```(?:json|JSON)?[ \t]*\r?\n?([\s\S]*?)```/;

/**
 * Reads a model's text answer as outputs: a JSON object `{outputs:[…]}` (also inside a ```json
 * fence), or a JSON object whose keys are exactly the expected output names; else, when exactly one
 * output is expected, the whole text is that output. Anything else is malformed.
 */
export function parseModelText(text: string, expectedOutputs: readonly string[] | undefined, target: string): NamedValue[] {
  const trimmed = text.trim();
  const fenced = FENCE.exec(trimmed);
  const candidates = fenced?.[1] !== undefined ? [fenced[1].trim(), trimmed] : [trimmed];
  let parsedObject: Record<string, unknown> | undefined;
  for (const candidate of candidates) {
    const value = tryParseJson(candidate);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      parsedObject = value as Record<string, unknown>;
      break;
    }
  }
  if (parsedObject !== undefined) {
    if (Object.hasOwn(parsedObject, 'outputs')) return parseExecutorAnswer(parsedObject, target).outputs;
    const names = expectedOutputs ?? [];
    if (names.length > 0 && names.every((n) => Object.hasOwn(parsedObject, n))) {
      return parseExecutorAnswer({ outputs: names.map((name) => ({ name, value: parsedObject[name] as JsonValue })) }, target).outputs;
    }
  }
  if (expectedOutputs?.length === 1 && trimmed !== '') {
    const [name] = expectedOutputs;
    if (name !== undefined) return [{ name, value: trimmed, type: 'string' }];
  }
  const wanted = expectedOutputs && expectedOutputs.length > 0 ? `the outputs ${expectedOutputs.map((n) => JSON.stringify(n)).join(', ')}` : 'outputs';
  throw new ExecutorMalformedResponseError(`${target} answered with text that holds no JSON object of ${wanted}: ${excerpt(trimmed)}`);
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
