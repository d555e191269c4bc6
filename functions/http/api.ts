/**
 * The HTTP edge shared by every API Lambda: parse the API Gateway v2 envelope once, dispatch on the
 * route key, map domain errors to `{error: {code, message, details?}}` with `instanceof`, and turn
 * anything else into a 500 that leaks nothing.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { DomainError, NotFoundError, ServiceBusyError, ValidationError } from '../core/errors.js';
import { duplicateKeyProblem, jsonShape, loneSurrogatePath, type JsonShapeProblem } from '../core/json-shape.js';
import { UnsupportedMediaTypeError } from './errors.js';
import { errorStatus } from './status.js';
import { withoutByteOrderMark } from '../core/byte-order-mark.js';

/** Largest request body accepted (API Gateway's own limit is 10 MB; a snapshot item tops out at 400 KB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Routes that take larger bodies: `POST /batches` lists up to 100,000 snapshot ids (~2.9 MB of
 * JSON), under Lambda's 6 MB synchronous payload limit.
 */
export const LARGE_BODY_ROUTES: Readonly<Record<string, number>> = { 'POST /batches': 4 * 1024 * 1024 };

/** The body limit of a route key. */
export function maxBodyBytes(routeKey: string): number {
  return LARGE_BODY_ROUTES[routeKey] ?? MAX_BODY_BYTES;
}

/**
 * Why a parsed JSON body cannot be accepted as it is (core/json-shape.ts, the limits every JSON
 * document taken in is held to): nesting deeper than 64 levels (schemas walk values recursively,
 * so a body of brackets would overflow the stack and turn a client's mistake into a 500), or a
 * `__proto__` key, which every later copy would silently drop, so the body is refused naming where.
 */
function bodyShapeProblem(problem: JsonShapeProblem | undefined): { code: string; message: string } | undefined {
  if (problem === undefined) return undefined;
  if (problem.kind === 'too-deep') return { code: 'MALFORMED_JSON', message: `request body nests deeper than ${problem.max} levels` };
  return { code: 'UNSTORABLE_KEY', message: `request body holds the key "${problem.key}" at ${problem.at}; it cannot be stored and read back faithfully, rename it` };
}

/** A parsed HTTP request, as route implementations see it. */
export interface ApiRequest {
  routeKey: string;
  method: string;
  path: string;
  pathParameters: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string>>;
  /** The raw body text ('' when none). */
  rawBody: string;
  /** The body parsed as JSON; throws a 400 ValidationError when it is missing or malformed. */
  json(): unknown;
  requestId: string;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * The media type of the answer. Absent: JSON, and `body` is serialized. Any other type (a route
   * answering `text/html`): `body` is a string sent as it is.
   */
  contentType?: string;
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * A JSON body a route has already serialised (a large page built from records encoded one by
 * one): sent as it is, as `application/json`, instead of being serialised again.
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/** A 200 answer with an HTML document (reports). Errors on such routes stay JSON. */
export function htmlResponse(document: string): ApiResponse {
  // nosniff: the document is served as what it is; the page's own CSP forbids any fetch.
  return { status: 200, body: document, contentType: 'text/html; charset=utf-8', headers: { 'x-content-type-options': 'nosniff' } };
}

export type RouteHandler = (req: ApiRequest) => Promise<ApiResponse>;
export type RouteMap = Readonly<Record<string, RouteHandler>>;

/** What the edge logs through; Powertools Logger fits, so does a test spy. */
export interface ErrorLogger {
  error(message: string, ...extra: unknown[]): void;
  /** Adds the Lambda context to the following lines (Powertools Logger). */
  addContext?(context: Context): void;
}

/** The JSON error body every route answers with. */
export function errorBody(code: string, message: string, details?: unknown): { error: { code: string; message: string; details?: unknown } } {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Maps any thrown value to a response: domain errors by class, everything else a bare 500. */
export function errorResponse(err: unknown, logger: ErrorLogger, requestId: string): ApiResponse {
  if (err instanceof DomainError) {
    // A 503 says when to try again; nothing was stored, so the same request is safe to resend.
    const headers = err instanceof ServiceBusyError ? { 'retry-after': String(err.retryAfterSeconds) } : undefined;
    return { status: errorStatus(err), body: errorBody(err.code, err.message, err.details), ...(headers && { headers }) };
  }
  logger.error('unhandled error', { requestId, error: err });
  return { status: 500, body: errorBody('INTERNAL_ERROR', `internal error (request ${requestId})`) };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body as text, and whether its bytes were valid UTF-8. API Gateway passes a body that is not
 * UTF-8 text base64-encoded; decoding it loosely would put U+FFFD where the invalid bytes were.
 */
function bodyText(event: APIGatewayProxyEventV2): { text: string; utf8: boolean } {
  if (event.body === undefined || event.body === null) return { text: '', utf8: true };
  if (!event.isBase64Encoded) return { text: event.body, utf8: true };
  const bytes = Buffer.from(event.body, 'base64');
  try {
    return { text: strictUtf8.decode(bytes), utf8: true };
  } catch {
    return { text: bytes.toString('utf8'), utf8: false };
  }
}

/** Decodes the event into an {@link ApiRequest}. */
export function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const { text: rawBody, utf8 } = bodyText(event);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query[k] = v;
  const pathParameters: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.pathParameters ?? {})) if (v !== undefined) pathParameters[k] = v;
  let parsed: { value: unknown } | undefined;
  return {
    routeKey: event.routeKey,
    method: event.requestContext?.http?.method ?? event.routeKey.split(' ')[0] ?? 'GET',
    path: event.rawPath ?? event.requestContext?.http?.path ?? '/',
    pathParameters,
    query,
    headers,
    rawBody,
    requestId: event.requestContext?.requestId ?? 'unknown',
    json() {
      if (parsed) return parsed.value;
      if (rawBody.trim() === '') throw new ValidationError('request body is required (JSON)', { code: 'MALFORMED_JSON' });
      const encoding = headers['content-encoding']?.trim().toLowerCase();
      if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
        throw new UnsupportedMediaTypeError(`request body has Content-Encoding '${encoding}'; the API reads JSON bodies only without a content coding (send it uncompressed)`, { details: { contentEncoding: encoding } });
      }
      // JSON is UTF-8 (RFC 8259): a body with invalid bytes is refused, not stored with U+FFFD in their place.
      if (!utf8) throw new ValidationError('request body is not valid UTF-8 text (JSON must be UTF-8)', { code: 'MALFORMED_JSON' });
      // A UTF-8 byte-order mark before the JSON text is ignored, as RFC 8259 §8.1 lets a parser do
      // (senders must not add one, but editors and PowerShell's UTF-8 files do) and as id manifests
      // ignore it: it carries nothing, and what is stored is the parsed value, so nothing of what was
      // sent is lost. JSON.parse alone answered "Unexpected token" for it.
      const text = withoutByteOrderMark(rawBody);
      // The body is JSON whatever Content-Type says: curl's -d sends form-urlencoded by default.
      let value: unknown;
      try {
        value = JSON.parse(text) as unknown;
      } catch (err) {
        throw new ValidationError(`request body is not valid JSON: ${(err as Error).message}`, { code: 'MALFORMED_JSON' });
      }
      const shape = jsonShape(value);
      const problem = bodyShapeProblem(shape.problem);
      if (problem !== undefined) throw new ValidationError(problem.message, { code: problem.code });
      const broken = loneSurrogatePath(value, text);
      if (broken !== undefined) {
        // I-JSON (RFC 7493), which the records' JCS hashes take: no lone surrogates. Refused here
        // for every route: sealing a policy, a replay result (its overrides) or a batch item that
        // held one failed with a 500, or an INTERNAL_ERROR item.
        throw new ValidationError(`request body holds text that is not valid Unicode (a lone UTF-16 surrogate) at ${broken}; it has no UTF-8 form, so it can be neither hashed nor stored`, {
          code: 'INVALID_UNICODE',
          details: { issues: [{ path: broken, message: 'text is not valid Unicode (a lone UTF-16 surrogate)' }] },
        });
      }
      const duplicate = duplicateKeyProblem(text, shape.keys);
      if (duplicate !== undefined) {
        const path = duplicate.at === '(root)' ? duplicate.key : `${duplicate.at}.${duplicate.key}`;
        throw new ValidationError(`request body has the key "${duplicate.key}" twice in the object at ${duplicate.at}; only the last would be kept, so what is stored would not be what was sent (keys must be unique, as in I-JSON, RFC 7493)`, {
          code: 'DUPLICATE_KEY',
          details: { issues: [{ path, message: 'duplicate key' }] },
        });
      }
      parsed = { value };
      return parsed.value;
    },
  };
}

/**
 * Most bytes a Lambda may answer a synchronous invocation with: 6 MB (6 MiB) of the serialised
 * result — the body inside the {statusCode, headers, body} envelope, its quotes and control
 * characters escaped. Over it the invocation fails and API Gateway answers an opaque 500.
 */
export const LAMBDA_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024;

/**
 * The answer itself when it fits in what a Lambda may return, else a 500 saying so (the same on
 * the local host, which runs this handler). Routes keep their answers well under the limit (list
 * pages end at ~4 MB, manifests are served in ranges): this names a route that does not, instead
 * of leaving the caller with API Gateway's bare "Internal Server Error".
 */
function withinLambdaLimit(result: APIGatewayProxyStructuredResultV2, req: ApiRequest, logger: ErrorLogger, requestId: string): APIGatewayProxyStructuredResultV2 {
  const body = result.body ?? '';
  // Escaping at most sextuples a character (\u0000) and UTF-8 at most triples it: a body this short fits.
  if (body.length * 6 + 64 * 1024 < LAMBDA_RESPONSE_LIMIT_BYTES) return result;
  const size = Buffer.byteLength(JSON.stringify(result));
  if (size <= LAMBDA_RESPONSE_LIMIT_BYTES) return result;
  logger.error('answer larger than a Lambda may return', { requestId, routeKey: req.routeKey, bytes: size });
  return toResult({
    status: 500,
    body: errorBody('RESPONSE_TOO_LARGE', `the answer to ${req.method} ${req.path} would be ${size} bytes, more than the ${LAMBDA_RESPONSE_LIMIT_BYTES} a Lambda may return (request ${requestId}): ask for less (a smaller limit or range)`, { sizeBytes: size, limitBytes: LAMBDA_RESPONSE_LIMIT_BYTES }),
  });
}

/** Encodes a response for API Gateway (payload format 2.0). */
export function toResult(res: ApiResponse): APIGatewayProxyStructuredResultV2 {
  if (res.contentType !== undefined && res.contentType !== JSON_CONTENT_TYPE) {
    if (typeof res.body !== 'string') throw new TypeError(`a ${res.contentType} response needs a string body`);
    return { statusCode: res.status, headers: { ...res.headers, 'content-type': res.contentType }, body: res.body };
  }
  const headers: Record<string, string> = { 'content-type': JSON_CONTENT_TYPE, ...res.headers };
  return { statusCode: res.status, headers, body: res.body === undefined ? '' : res.body instanceof JsonText ? res.body.text : JSON.stringify(res.body) };
}

/**
 * Builds a Lambda handler for API Gateway HTTP API events from a map of route key → implementation.
 * A route key the map does not hold answers 404 in the error shape.
 */
export function makeHttpHandler(routes: RouteMap, logger: ErrorLogger): (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyStructuredResultV2> {
  return async (event, context) => {
    if (context !== undefined) logger.addContext?.(context);
    const requestId = event.requestContext?.requestId ?? 'unknown';
    try {
      const limit = maxBodyBytes(event.routeKey);
      if (typeof event.body === 'string' && Buffer.byteLength(event.body, 'utf8') > limit * (event.isBase64Encoded ? 1.34 : 1)) {
        return toResult({ status: 413, body: errorBody('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`) });
      }
      const req = toApiRequest(event);
      // A HEAD route (the twin of a GET, manifest.ts DEPLOYED_ROUTES) is answered as its GET; the
      // transport sends that answer's headers without its body.
      const route = routes[event.routeKey] ?? (event.routeKey.startsWith('HEAD ') ? routes[`GET ${event.routeKey.slice('HEAD '.length)}`] : undefined);
      if (!route) throw new NotFoundError('route', `${req.method} ${req.path}`, { code: 'ROUTE_NOT_FOUND', message: `no route for ${req.method} ${req.path}` });
      return withinLambdaLimit(toResult(await route(req)), req, logger, requestId);
    } catch (err) {
      return toResult(errorResponse(err, logger, requestId));
    }
  };
}
