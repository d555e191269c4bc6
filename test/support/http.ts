/**
 * E2E helpers: one request against a host's HTTP API, so each e2e file states only what it asks
 * and what it expects. Every answer is checked against the OpenAPI document that host serves
 * (see openapi-check.ts) before the test sees it, and a mismatch fails the test: e2e tests call
 * the host only through these helpers (lint forbids a bare `fetch` in test/e2e).
 */
import { request } from 'node:http';
import { checkAnswer } from './openapi-check.js';

/** An HTTP answer with its JSON body parsed (`undefined` when the body is empty). */
export interface Reply<T = unknown> {
  status: number;
  body: T;
}

/** A {@link Reply} with the response headers and the raw body text, for tests that read them. */
export interface ReplyWithHeaders<T = unknown> extends Reply<T> {
  headers: Headers;
  /** The body exactly as it came. */
  text: string;
}

export interface RequestOptions {
  /** Send `content-type: application/json` even without a body (as some clients do). */
  jsonContentType?: boolean;
}

/**
 * Sends `method path` to `baseUrl`. A string `body` is sent as it is (to send malformed JSON);
 * any other defined body is sent as JSON, with `content-type: application/json` in both cases.
 * A JSON answer is parsed into `body` (malformed JSON throws); any other answer's `body` is its
 * text. The answer must match the host's OpenAPI document, or this throws a ContractViolation.
 */
export async function requestWithHeaders<T = unknown>(baseUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, options: RequestOptions = {}): Promise<ReplyWithHeaders<T>> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...((body !== undefined || options.jsonContentType === true) && { 'content-type': 'application/json' }), ...headers },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  await checkAnswer(baseUrl, method, path, { status: res.status, headers: res.headers, text });
  const json = /^application\/(.+\+)?json\b/.test(res.headers.get('content-type') ?? '');
  return { status: res.status, body: (text === '' ? undefined : json ? JSON.parse(text) : text) as T, headers: res.headers, text };
}

/**
 * As {@link requestWithHeaders}, answering only status and body: tests compare whole replies with
 * `toEqual`, and headers (a date among them) would make those comparisons about the transport.
 */
export async function requestJson<T = unknown>(baseUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
  const reply = await requestWithHeaders<T>(baseUrl, method, path, body, headers);
  return { status: reply.status, body: reply.body };
}

/**
 * Runs `run` with the global fetch wrapped so that every answer from `baseUrl` that code under test
 * fetches (the CLI run in-process, through its SDK) is checked against the document that host
 * serves. Violations are collected rather than thrown into the caller's error handling (a CLI turns
 * a failed request into exit code 3), then the first one is thrown once `run` is done.
 */
export async function withCheckedFetch<T>(baseUrl: string, run: () => Promise<T>): Promise<T> {
  const original = globalThis.fetch;
  const origin = new URL(baseUrl).origin;
  const violations: unknown[] = [];
  globalThis.fetch = async (input, init) => {
    const res = await original(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin === origin) {
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
      try {
        await checkAnswer(baseUrl, method, `${url.pathname}${url.search}`, { status: res.status, headers: res.headers, text: await res.clone().text() });
      } catch (err) {
        violations.push(err);
      }
    }
    return res;
  };
  let result: T;
  try {
    result = await run();
  } finally {
    globalThis.fetch = original;
  }
  if (violations.length > 0) throw violations[0];
  return result;
}

/** An answer as it came: status, headers and body text. */
export interface RawReply {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Sends `method path` to `baseUrl` with exactly these headers and body bytes, over node:http: a
 * test may set `Host` (fetch may not), and a Buffer body goes as it is (fetch would re-encode a
 * string). The answer is read as it came (a HEAD answer has no body) and checked against the
 * host's OpenAPI document, as every e2e answer is.
 */
export function requestRaw(baseUrl: string, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        const answerHeaders = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') answerHeaders.set(k, v);
        const reply = { status: res.statusCode ?? 0, headers: answerHeaders, text };
        checkAnswer(baseUrl, method, path, reply).then(() => resolve(reply), reject);
      });
    });
    req.on('error', reject);
    // Sent whole with end(): node frames it with its Content-Length.
    req.end(body);
  });
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
