/**
 * E2E helpers: one JSON request against the local host's HTTP API, so each e2e file states only
 * what it asks and what it expects.
 */

/** An HTTP answer with its JSON body parsed (`undefined` when the body is empty). */
export interface Reply<T = unknown> {
  status: number;
  body: T;
}

/** A {@link Reply} with the response headers, for tests that read one (e.g. `location`). */
export interface ReplyWithHeaders<T = unknown> extends Reply<T> {
  headers: Headers;
}

/**
 * Sends `method path` to `baseUrl`. A string `body` is sent as it is (to send malformed JSON);
 * any other defined body is sent as JSON, with `content-type: application/json` in both cases.
 * A non-JSON answer body throws: the API answers JSON or nothing.
 */
export async function requestWithHeaders<T = unknown>(baseUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ReplyWithHeaders<T>> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T, headers: res.headers };
}

/**
 * As {@link requestWithHeaders}, answering only status and body: tests compare whole replies with
 * `toEqual`, and headers (a date among them) would make those comparisons about the transport.
 */
export async function requestJson<T = unknown>(baseUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
  const reply = await requestWithHeaders<T>(baseUrl, method, path, body, headers);
  return { status: reply.status, body: reply.body };
}
