/**
 * The local HTTP front door: turns Node HTTP requests into API Gateway HTTP API (payload 2.0)
 * events, matches them against the same route keys the CDK stack deploys, and hands them to the
 * same handler code. It plays API Gateway's part, nothing more.
 */
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errorBody, MAX_BODY_BYTES, maxBodyBytes } from '../http/api.js';

export type EventHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

interface CompiledRoute {
  routeKey: string;
  method: string;
  pattern: RegExp;
  params: string[];
}

/** Compiles route keys like `GET /snapshots/{id}` into matchers. `$default` is the fallback. */
export function compileRoutes(routeKeys: readonly string[]): CompiledRoute[] {
  return routeKeys
    .filter((k) => k !== '$default')
    .map((routeKey) => {
      const [method = '', path = ''] = routeKey.split(' ');
      const params: string[] = [];
      const source = path
        .split('/')
        .map((seg) => {
          const m = /^\{(\w+)\}$/.exec(seg);
          if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          params.push(m[1] as string);
          return '([^/]+)';
        })
        .join('/');
      return { routeKey, method, pattern: new RegExp(`^${source}$`), params };
    });
}

/** Finds the route for a method and path, as API Gateway would. */
export function matchRoute(routes: readonly CompiledRoute[], method: string, path: string): { routeKey: string; pathParameters: Record<string, string> } {
  for (const r of routes) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(path);
    if (!m) continue;
    const pathParameters: Record<string, string> = {};
    r.params.forEach((name, i) => (pathParameters[name] = m[i + 1] as string));
    return { routeKey: r.routeKey, pathParameters };
  }
  return { routeKey: '$default', pathParameters: {} };
}

/**
 * How much of a request body over its route's limit is still read (and dropped) before the 413 is
 * sent: closing the connection while the client still writes makes its write fail (EPIPE), and
 * fetch, the SDK and the CLI then report a network error, and retry, instead of the 413. Beyond
 * this, more than API Gateway's own 10 MB, the connection is closed rather than read on.
 */
export const OVERSIZED_BODY_DRAIN_BYTES = 16 * 1024 * 1024;

class BodyTooLarge extends Error {
  /** Whether the body was read to its end (the connection can answer and stay open). */
  constructor(readonly drained: boolean) {
    super('request body too large');
  }
}

/** The client went away mid-request: nobody is left to answer, and the server did nothing wrong. */
class ClientGone extends Error {}

/**
 * The request target as a URL. Only origin-form targets (`/path?query`) are accepted; parsing
 * them against a base would read `//x` as a protocol-relative URL naming host `x` (and `//` as
 * no URL at all), so the path is prefixed, never resolved.
 */
export function requestUrl(target: string | undefined): URL | undefined {
  if (target === undefined || !target.startsWith('/')) return undefined;
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    return undefined;
  }
}

/**
 * Node answers requests its parser refuses (an unknown method, malformed headers) with a bare 400
 * before any handler runs; this writes that answer in the API's error shape instead.
 */
export function clientErrorResponse(err: NodeJS.ErrnoException): string {
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const message =
    err.code === 'HPE_INVALID_METHOD' ? 'unknown HTTP method' : err.code === 'HPE_HEADER_OVERFLOW' ? 'request headers are too large' : 'malformed HTTP request';
  const body = JSON.stringify(errorBody(status === 431 ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST', message));
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const declared = Number(req.headers['content-length']);
  if (declared > OVERSIZED_BODY_DRAIN_BYTES) throw new BodyTooLarge(false);
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > OVERSIZED_BODY_DRAIN_BYTES) throw new BodyTooLarge(false);
      // Over the limit: read on and drop it, so that the client, done sending, reads the 413.
      if (size <= limit) chunks.push(chunk as Buffer);
    }
  } catch (err) {
    // The client closed the connection before its body was complete (or close() cut it).
    if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') throw new ClientGone();
    throw err;
  }
  if (size > limit) throw new BodyTooLarge(true);
  return Buffer.concat(chunks);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body as API Gateway hands it to a Lambda: text when it is UTF-8, else base64 with
 * `isBase64Encoded` (as for any binary body), so the handler sees the bytes that came and can refuse
 * them, instead of text in which each invalid byte was silently replaced by U+FFFD.
 */
export function eventBody(bytes: Buffer): { body: string; isBase64Encoded: boolean } {
  try {
    return { body: strictUtf8.decode(bytes), isBase64Encoded: false };
  } catch {
    return { body: bytes.toString('base64'), isBase64Encoded: true };
  }
}

/** Builds the API Gateway v2 event for a request (`url`: its target, when already parsed). */
export function toEvent(req: IncomingMessage, bytes: Buffer, routeKey: string, pathParameters: Record<string, string>, url: URL = requestUrl(req.url) ?? new URL('http://localhost/')): APIGatewayProxyEventV2 {
  const { body, isBase64Encoded } = eventBody(bytes);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    ...(Object.keys(pathParameters).length > 0 && { pathParameters }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body !== '' && { body }),
    isBase64Encoded,
  };
}

/** Extra paths served beside the API (the demo model); answers undefined for paths it does not own. */
export type SideRoute = (method: string, path: string, body: string) => Promise<{ status: number; body: unknown } | undefined>;

/**
 * The names the host answers to: the loopback address it listens on and the loopback names that
 * reach it. A request naming any other host in `Host` reached it through a name it does not own:
 * DNS rebinding, where a web page's own host name is made to resolve to 127.0.0.1.
 */
export const SERVED_HOST_NAMES = ['127.0.0.1', 'localhost', '[::1]'] as const;

/** The `Host` values the host serves on `port`: each name with the port, and bare on port 80. */
export function servedAuthorities(port: number): ReadonlySet<string> {
  return new Set(SERVED_HOST_NAMES.flatMap((name) => [`${name.toLowerCase()}:${port}`, ...(port === 80 ? [name.toLowerCase()] : [])]));
}

/**
 * Why a request is refused before it is routed, or undefined: a `Host` the host does not serve
 * (DNS rebinding), or an `Origin` that is not the host's own (a page of another site: browsers
 * name the page's origin on every cross-origin request but a top-level GET navigation, and on
 * same-origin ones other than GET and HEAD). Clients outside a browser (curl, the SDK on Node's
 * fetch) send no `Origin`, whatever their `Content-Type`; this check, not the media type, is what
 * keeps a web page's forms and `fetch` (`text/plain` needs no preflight) off the local API.
 */
export function foreignRequest(headers: IncomingMessage['headers'], authorities: ReadonlySet<string>): { code: string; message: string } | undefined {
  const host = headers.host?.toLowerCase();
  if (host === undefined || !authorities.has(host)) {
    return { code: 'HOST_NOT_ALLOWED', message: `the local host serves only ${[...authorities].join(', ')}; Host ${host === undefined ? 'is missing' : `'${headers.host}' is refused`} (DNS rebinding protection)` };
  }
  const origin = headers.origin;
  if (origin !== undefined && !authorities.has(origin.toLowerCase().replace(/^http:\/\//, ''))) {
    return { code: 'CROSS_ORIGIN_REQUEST', message: `requests from web pages of other origins are refused; Origin '${origin}' is not this host's own (http://${host})` };
  }
  return undefined;
}

export interface HttpHostOptions {
  port: number;
  routeKeys: readonly string[];
  handlerFor(routeKey: string): EventHandler;
  side?: SideRoute;
  onError(err: unknown): void;
}

/** Starts the HTTP server on 127.0.0.1. */
export async function startHttpHost(options: HttpHostOptions): Promise<{ server: Server; port: number }> {
  const routes = compileRoutes(options.routeKeys);
  // With its length known, the answer is one write (head and body), not chunked transfer coding.
  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers, 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  };
  // Known once listening (port 0 picks one).
  let authorities: ReadonlySet<string> = new Set();
  const server = createServer((req, res) => {
    void (async () => {
      let limit = MAX_BODY_BYTES;
      try {
        const foreign = foreignRequest(req.headers, authorities);
        // Refused before its body is read; the connection closes rather than wait for the body.
        if (foreign !== undefined) return send(res, 403, JSON.stringify(errorBody(foreign.code, foreign.message)), { connection: 'close' });
        const method = req.method ?? 'GET';
        const url = requestUrl(req.url);
        if (url === undefined) return send(res, 400, JSON.stringify(errorBody('BAD_REQUEST', 'the request target must be a path starting with /')));
        const path = url.pathname;
        const { routeKey, pathParameters } = matchRoute(routes, method, path);
        limit = maxBodyBytes(routeKey);
        const body = await readBody(req, limit);
        const side = options.side ? await options.side(method, path, body.toString('utf8')) : undefined;
        if (side) return send(res, side.status, JSON.stringify(side.body));
        const result = await options.handlerFor(routeKey)(toEvent(req, body, routeKey, pathParameters, url));
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
        send(res, result.statusCode ?? 200, result.body ?? '', headers);
      } catch (err) {
        if (err instanceof BodyTooLarge) return send(res, 413, JSON.stringify(errorBody('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`)), err.drained ? {} : { connection: 'close' });
        if (err instanceof ClientGone) return;
        options.onError(err);
        send(res, 500, JSON.stringify(errorBody('INTERNAL_ERROR', 'internal error')));
      }
    })();
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(err));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  authorities = servedAuthorities(port);
  return { server, port };
}
