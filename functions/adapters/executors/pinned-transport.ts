/**
 * The HTTP transport of the http and OpenAI-compatible executors: one request to exactly the
 * addresses the network guard checked. The connection's DNS lookup is pinned to those addresses,
 * so a resolver that answers with a public address to the guard and with 127.0.0.1 or
 * 169.254.169.254 a moment later (DNS rebinding) is never asked the second time.
 *
 * It is Node's own `http`/`https` client with a pinned `lookup`, not undici's `Agent` with a pinned
 * `connect.lookup` (the same mechanism): Node 20's global fetch accepts a `dispatcher` only from a
 * matching undici, and bundling undici adds 254 KB (its Agent alone) to 408 KB (Agent + fetch),
 * minified, to each replaying Lambda, whose whole bundle is ~350–450 KB. `node:http` costs nothing.
 * The host name still goes into the Host header and, over TLS, into SNI and the certificate check.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Readable } from 'node:stream';
import type { ResolvedAddress } from './network-guard.js';

/** One executor request: always a complete body, bounded by the call's signal. */
export interface TransportRequest {
  method: 'POST';
  headers: Readonly<Record<string, string>>;
  body: string;
  signal: AbortSignal;
}

/**
 * Sends `request` to `url`, connecting only to `addresses` (the guard's checked answer; never
 * empty), and answers with a web `Response` whose body streams. Redirects are not followed.
 */
export type Transport = (url: URL, request: TransportRequest, addresses: readonly ResolvedAddress[]) => Promise<Response>;

/** Keep-alive pools for executor calls (a warm Lambda reuses its connections across replays). */
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup`-shaped function that answers with `addresses`, whatever the host name: what
 * `net.connect` calls instead of the resolver. It honours `family` and answers in both forms
 * (`all`: the list, used with happy eyeballs; otherwise the first address).
 */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): (hostname: string, options: LookupOptions, callback: LookupCallback) => void {
  return (hostname, options, callback) => {
    const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    const usable = addresses.filter((a) => family === 0 || a.family === family).map((a) => ({ address: a.address, family: a.family }));
    const first = usable[0];
    if (first === undefined) {
      callback(Object.assign(new Error(`no checked ${family === 0 ? '' : `IPv${family} `}address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      return;
    }
    if (options.all === true) callback(null, usable);
    else callback(null, first.address, first.family);
  };
}

function toResponse(res: IncomingMessage): Response {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i];
    const value = res.rawHeaders[i + 1];
    if (name !== undefined && value !== undefined) headers.append(name, value);
  }
  const status = res.statusCode ?? 0;
  // A web Response cannot carry a status outside 200–599; the callers treat 600+ as non-2xx.
  const webStatus = status >= 200 && status <= 599 ? status : 599;
  const nullBody = webStatus === 204 || webStatus === 205 || webStatus === 304;
  if (nullBody) res.resume();
  return new Response(nullBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status: webStatus, headers });
}

/** The transport of the executors: `node:http`/`node:https` with the lookup pinned to the checked addresses. */
export const pinnedTransport: Transport = (url, request, addresses) =>
  new Promise<Response>((resolve, reject) => {
    const https = url.protocol === 'https:';
    // URL keeps brackets around IPv6 literals; the client wants the bare address.
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const req = (https ? httpsRequest : httpRequest)(
      {
        hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        agent: https ? agents.https : agents.http,
        lookup: pinnedLookup(addresses) as never,
        signal: request.signal,
      },
      (res) => resolve(toResponse(res)),
    );
    req.on('error', reject);
    req.end(request.body);
  });
