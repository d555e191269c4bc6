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
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { ResolvedAddress } from './network-guard.js';

/** One executor request: always a complete body, bounded by the call's signal. */
export interface TransportRequest {
  method: 'POST';
  headers: Readonly<Record<string, string>>;
  body: string;
  signal: AbortSignal;
}

/** The body read up to a limit: the bytes, and whether that was all of it. */
export interface LimitedBody {
  /** At most the limit's bytes. */
  bytes: Uint8Array;
  /** False when the body went on past the limit: reading stopped there and the rest was discarded. */
  complete: boolean;
}

/**
 * An executor's answer, read straight from the socket's stream (no web `Response`: adapting Node's
 * stream to a web stream cost about half of each call's CPU). Exactly one of `read` and `discard`
 * is called, once.
 */
export interface TransportAnswer {
  /** The status line's code as sent (any three digits: 600 and above included). */
  readonly status: number;
  /** A header's value (name in lower case), repeated ones joined with ", "; undefined when absent. */
  header(name: string): string | undefined;
  /**
   * Reads the body, never holding more than `limit` bytes: past it, reading stops and the
   * connection is dropped. Rejects when the connection fails or the request's signal fires.
   */
  read(limit: number): Promise<LimitedBody>;
  /** Drops the body unread (and with it the connection, unless the body had already arrived whole). */
  discard(): void;
}

/**
 * Sends `request` to `url`, connecting only to `addresses` (the guard's checked answer; never
 * empty), and answers once the status and headers have arrived; the body is read from the answer.
 * Redirects are not followed.
 */
export type Transport = (url: URL, request: TransportRequest, addresses: readonly ResolvedAddress[]) => Promise<TransportAnswer>;

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

const EMPTY = new Uint8Array(0);

/** Statuses whose answers carry no body, whatever their headers say (as a web `Response` reads them). */
const NO_BODY = new Set([204, 205, 304]);

/** A protocol switch: no body either, and what follows on its connection is not HTTP, so the connection is dropped, never pooled again. */
const SWITCHING_PROTOCOLS = 101;

/** Swallows a stream's 'error' event: the error is read from the stream (`errored`) where it matters. */
function ignore(): void {}

/**
 * One request and its answer, read from Node's `IncomingMessage` by data events: no stream
 * adapters, and (the local host runs under a loader that names every named closure it creates)
 * no closures per call beyond a few anonymous callbacks. It watches the call's signal itself
 * (`handleEvent`) rather than giving it to `http.request`, whose `signal` option sets up a
 * stream-finished watcher per request: the signal ends the request, or the answer once its
 * headers have arrived (a body still arriving is cut off too), with the signal's reason.
 */
class PinnedCall implements TransportAnswer {
  status = 0;
  readonly #signal: AbortSignal;
  readonly #req: ClientRequest;
  /** Set before the call is handed out as an answer. */
  #res: IncomingMessage | undefined;
  /** Fails the call until it is handed out as an answer (then undefined): the call settles once. */
  #reject: ((err: unknown) => void) | undefined;

  constructor(url: URL, request: TransportRequest, addresses: readonly ResolvedAddress[], resolve: (answer: TransportAnswer) => void, reject: (err: unknown) => void) {
    const https = url.protocol === 'https:';
    // URL keeps brackets around IPv6 literals; the client wants the bare address.
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.#signal = request.signal;
    this.#req = (https ? httpsRequest : httpRequest)(
      {
        hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        agent: https ? agents.https : agents.http,
        lookup: pinnedLookup(addresses) as never,
      },
      (res) => this.#answer(res, resolve),
    );
    this.#reject = reject;
    request.signal.addEventListener('abort', this, { once: true });
    // A 101 (protocol switch) is no 'response': without this listener Node drops the socket and
    // the request ends with neither a response nor an 'error'. It is handed out as an answer with
    // no body (the executor's caller judges the status); the socket Node hands over is dropped.
    this.#req.on('upgrade', (res: IncomingMessage, socket: { destroy(): void }) => {
      socket.destroy();
      this.#answer(res, resolve);
    });
    this.#req.on('error', (err) => this.#fail(err));
    // Closed before any answer without an 'error' (nothing known does, but a call must never be
    // left pending: nothing else would ever settle it).
    this.#req.on('close', () => this.#fail(new Error('the connection closed before an answer arrived')));
    this.#req.end(request.body);
  }

  #answer(res: IncomingMessage, resolve: (answer: TransportAnswer) => void): void {
    this.#res = res;
    this.#reject = undefined;
    this.status = res.statusCode ?? 0;
    // An error before or after the caller reads (the signal firing, a reset) reaches the caller
    // through `read`; it must never reach the process as an unhandled 'error' event.
    res.on('error', ignore);
    resolve(this);
  }

  /** Fails the call, unless it was already handed out as an answer (the answer's read reports from then on). */
  #fail(err: unknown): void {
    const reject = this.#reject;
    if (reject === undefined) return;
    this.#reject = undefined;
    this.#unwatch();
    reject(err);
  }

  /** The signal fired. */
  handleEvent(): void {
    const reason: unknown = this.#signal.reason;
    if (this.#res !== undefined) this.#res.destroy(reason as Error);
    else {
      this.#req.destroy(reason as Error);
      // Settled here, not by the request's 'error': a request already destroyed emits none.
      this.#fail(reason);
    }
  }

  #unwatch(): void {
    this.#signal.removeEventListener('abort', this);
  }

  /** Every value the header was sent with (Node keeps only the first of some, such as Location), joined as the Fetch standard joins them. */
  header(name: string): string | undefined {
    return this.#res?.headersDistinct[name]?.join(', ');
  }

  discard(): void {
    this.#unwatch();
    if (NO_BODY.has(this.status)) this.#res?.resume();
    else this.#res?.destroy();
  }

  read(limit: number): Promise<LimitedBody> {
    return new Promise<LimitedBody>((resolve, reject) => {
      const res = this.#res;
      if (res === undefined || NO_BODY.has(this.status) || this.status === SWITCHING_PROTOCOLS || res.destroyed) {
        this.#unwatch();
        if (res?.destroyed) reject(res.errored ?? new Error('aborted'));
        else {
          if (this.status === SWITCHING_PROTOCOLS) res?.destroy();
          else res?.resume();
          resolve({ bytes: EMPTY, complete: true });
        }
        return;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        if (total + chunk.length > limit) {
          // Past the limit: the rest is never read (events after the outcome change nothing).
          chunks.push(chunk.subarray(0, limit - total));
          total = limit;
          this.#unwatch();
          res.destroy();
          resolve({ bytes: Buffer.concat(chunks, total), complete: false });
          return;
        }
        chunks.push(chunk);
        total += chunk.length;
      });
      res.on('end', () => {
        this.#unwatch();
        resolve({ bytes: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total), complete: true });
      });
      // 'close' without 'end' first: the connection failed or the signal fired.
      res.on('close', () => {
        this.#unwatch();
        reject(res.errored ?? new Error('aborted'));
      });
    });
  }
}

/** The transport of the executors: `node:http`/`node:https` with the lookup pinned to the checked addresses. */
export const pinnedTransport: Transport = (url, request, addresses) =>
  new Promise<TransportAnswer>((resolve, reject) => {
    if (request.signal.aborted) reject(request.signal.reason);
    else new PinnedCall(url, request, addresses, resolve, reject);
  });
