/**
 * The http and OpenAI-compatible executors against a real HTTP server on 127.0.0.1 (node:http on a
 * free port): the bytes really cross a socket, timeouts really fire, bodies really stream.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRequest } from '../../functions/core/executor.js';
import { HttpExecutor } from '../../functions/adapters/executors/http-executor.js';
import { OpenAiExecutor, chatCompletionBody } from '../../functions/adapters/executors/openai-executor.js';
import { pinnedTransport } from '../../functions/adapters/executors/pinned-transport.js';
import { answerOf, expectCode, failure } from '../support/executor-assertions.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** One stub server for the file; each test sets the handler. */
let server: Server;
let base: string;
let handler: Handler = (_req, res) => res.end();
const received: Received[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(() => {
  received.length = 0;
  handler = (_req, res) => res.end();
});

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const request: ExecutionRequest = {
  functionName: 'approve_loan',
  inputs: [{ name: 'applicant', value: { income: 52000, age: 41 }, type: 'object' }],
  modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0.2, maxTokens: 256, topP: 0.9, seed: 7 },
  context: { tenant: 'acme' },
  expectedOutputs: ['decision', 'score'],
};

const goodAnswer = { outputs: [{ name: 'decision', value: 'approve', type: 'string' }, { name: 'score', value: 0.82, type: 'number' }], executionTimeMs: 4.5 };

const local = { allowPrivateNetworks: true };

describe('HttpExecutor', () => {
  it('POSTs {functionName, inputs, modelParameters, context} as JSON with the configured headers and returns the outputs', async () => {
    handler = (_req, res) => json(res, 200, goodAnswer);
    const executor = new HttpExecutor({ type: 'http', url: `${base}/model`, headers: { 'x-api-key': 'secret-1' } }, local);

    const result = await executor.execute(request, { timeoutMs: 5000 });

    expect(result.outputs).toEqual(goodAnswer.outputs);
    expect(result.reportedExecutionTimeMs).toBe(4.5);
    expect(result.executionTimeMs).toBeGreaterThan(0);
    expect(received).toHaveLength(1);
    const [call] = received;
    expect(call?.method).toBe('POST');
    expect(call?.url).toBe('/model');
    expect(call?.headers['content-type']).toBe('application/json');
    expect(call?.headers['x-api-key']).toBe('secret-1');
    expect(call?.body).toEqual({ functionName: 'approve_loan', inputs: request.inputs, modelParameters: request.modelParameters, context: request.context });
    expect(executor.description).toBe(`http POST ${base}/model`);
    expect(executor.description).not.toContain('secret-1');
  });

  it('measures the wall time of the call itself, not what the executor reports', async () => {
    handler = (_req, res) => setTimeout(() => json(res, 200, { ...goodAnswer, executionTimeMs: 1 }), 150);
    const result = await new HttpExecutor({ type: 'http', url: base }, local).execute(request, { timeoutMs: 5000 });
    expect(result.executionTimeMs).toBeGreaterThanOrEqual(140);
    expect(result.reportedExecutionTimeMs).toBe(1);
  });

  it('times out a slow answer within timeoutMs', async () => {
    handler = (_req, res) => setTimeout(() => json(res, 200, goodAnswer), 3000);
    const started = Date.now();
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, local).execute(request, { timeoutMs: 200 }));
    expectCode(err, 'EXECUTOR_TIMEOUT');
    expect(err.message).toMatch(/within 200 ms/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('times out a body that trickles in after the headers', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"outputs":[');
      setTimeout(() => res.end('{"name":"d","value":1}]}'), 3000);
    };
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, local).execute(request, { timeoutMs: 250 }));
    expectCode(err, 'EXECUTOR_TIMEOUT');
  });

  it('retries once after a 503 and succeeds', async () => {
    let calls = 0;
    handler = (_req, res) => (++calls === 1 ? json(res, 503, { message: 'warming up' }) : json(res, 200, goodAnswer));
    const result = await new HttpExecutor({ type: 'http', url: base }, { ...local, retryBaseDelayMs: 20 }).execute(request, { timeoutMs: 5000 });
    expect(result.outputs).toEqual(goodAnswer.outputs);
    expect(received).toHaveLength(2);
  });

  it('keeps the whole call, retries and backoff included, within timeoutMs', async () => {
    handler = (_req, res) => setTimeout(() => json(res, 503, {}), 120);
    const started = Date.now();
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, { ...local, maxRetries: 10, retryBaseDelayMs: 50 }).execute(request, { timeoutMs: 400 }));
    const elapsed = Date.now() - started;
    expect(['EXECUTOR_TIMEOUT', 'EXECUTOR_HTTP_STATUS']).toContain(err.code);
    expect(elapsed).toBeLessThan(1000);
    expect(received.length).toBeGreaterThanOrEqual(2);
    // Let the stub's delayed answers and any request still in flight land now, not in the next test
    // (under a loaded full run one arrived late and was counted as that test's retry).
    await new Promise((r) => setTimeout(r, 300));
  });

  it('reports a 500 as EXECUTOR_HTTP_STATUS with the status and an excerpt of the body, without retrying', async () => {
    handler = (_req, res) => json(res, 500, { error: 'model crashed' });
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, local).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_HTTP_STATUS');
    expect(err).toHaveProperty('status', 500);
    expect(err.message).toMatch(/HTTP 500/);
    expect(err.message).toContain('model crashed');
    expect(received).toHaveLength(1);
  });

  it('reports a 500 whose body stalls as EXECUTOR_HTTP_STATUS, not as a timeout: the status had arrived', async () => {
    handler = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.write('model cra');
    };
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, local).execute(request, { timeoutMs: 300 }));
    expect(err.toResultError()).toEqual({ code: 'EXECUTOR_HTTP_STATUS', message: `http POST ${base}/ answered HTTP 500` });
    expect(err).toHaveProperty('status', 500);
  });

  it('does not follow a redirect (it could point at the metadata service)', async () => {
    handler = (_req, res) => {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      res.end();
    };
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, local).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_HTTP_STATUS');
    expect(err).toHaveProperty('status', 302);
    expect(err.message).toMatch(/do not follow redirects/);
  });

  it('reports a body that is not JSON as EXECUTOR_MALFORMED_RESPONSE, quoting it', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"outputs": [oops');
    };
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, local).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_MALFORMED_RESPONSE');
    expect(err.message).toMatch(/not JSON/);
    expect(err.message).toContain('oops');
  });

  it('reports JSON of the wrong shape as EXECUTOR_MALFORMED_RESPONSE naming the field', async () => {
    handler = (_req, res) => json(res, 200, { outputs: [{ name: 'decision', value: 'approve' }, { value: 0.8 }] });
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, local).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_MALFORMED_RESPONSE');
    expect(err.message).toMatch(/outputs\[1\]\.name/);
  });

  it('refuses an oversized streamed body (no Content-Length) past the limit', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    let written = 0;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const pump = (): void => {
        while (written < 7 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    };
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, local).execute(request, { timeoutMs: 10_000 }));
    expectCode(err, 'EXECUTOR_RESPONSE_TOO_LARGE');
    expect(err.message).toMatch(/more than 5242880 bytes/);
  });

  it('refuses a body whose declared Content-Length exceeds a configured limit before reading it', async () => {
    handler = (_req, res) => json(res, 200, { ...goodAnswer, padding: 'p'.repeat(5000) });
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, { ...local, maxResponseBytes: 1000 }).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_RESPONSE_TOO_LARGE');
    expect(err).toHaveProperty('limitBytes', 1000);
  });

  it('reports a closed port as EXECUTOR_UNREACHABLE', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const err = await failure(new HttpExecutor({ type: 'http', url: `http://127.0.0.1:${port}/` }, local).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_UNREACHABLE');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('refuses to call loopback when private networks are not allowed, and sends nothing', async () => {
    handler = (_req, res) => json(res, 200, goodAnswer);
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, { allowPrivateNetworks: false }).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_FORBIDDEN_ADDRESS');
    expect(err.message).toMatch(/127\.0\.0\.1 \(a loopback address\)/);
    expect(received).toHaveLength(0);
  });
});

describe('HttpExecutor: the answer as the transport reads it', () => {
  it('reads a 600+ status as 599, a status outside 200-599, with an excerpt of its body', async () => {
    handler = (_req, res) => json(res, 600, { error: 'odd server' });
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, local).execute(request, { timeoutMs: 5000 }));
    expect(err.toResultError()).toEqual({ code: 'EXECUTOR_HTTP_STATUS', message: `http POST ${base}/ answered HTTP 599: "{\\"error\\":\\"odd server\\"}"` });
    expect(err).toHaveProperty('status', 599);
  });

  it('reads a 204, and a 205 that sends a body anyway, as an empty body (not JSON)', async () => {
    handler = (_req, res) => res.writeHead(204).end();
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, local).execute(request, { timeoutMs: 5000 }));
    expect(err.toResultError()).toEqual({ code: 'EXECUTOR_MALFORMED_RESPONSE', message: `http POST ${base}/ answered with something that is not JSON (Unexpected end of JSON input): ""` });
    handler = (_req, res) => json(res, 205, goodAnswer);
    expectCode(await failure(new HttpExecutor({ type: 'http', url: base }, local).execute(request, { timeoutMs: 5000 })), 'EXECUTOR_MALFORMED_RESPONSE');
  });

  it('drops a retried 503 unread: a body that never ends does not hold up the retry', async () => {
    let calls = 0;
    handler = (_req, res) => {
      calls += 1;
      if (calls > 1) return json(res, 200, goodAnswer);
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.write('busy, and this body never ends');
    };
    const result = await new HttpExecutor({ type: 'http', url: base }, { ...local, retryBaseDelayMs: 10 }).execute(request, { timeoutMs: 3000 });
    expect(result.outputs).toEqual(goodAnswer.outputs);
    expect(calls).toBe(2);
  });

  it('cuts off a body that never ends once it passes the limit', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = 'x'.repeat(16 * 1024);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('error', () => undefined);
      pump();
    };
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, { ...local, maxResponseBytes: 100_000 }).execute(request, { timeoutMs: 20_000 }));
    expect(err.toResultError()).toEqual({ code: 'EXECUTOR_RESPONSE_TOO_LARGE', message: expect.stringMatching(/more than 100000 bytes/) });
  });

  it('refuses a declared Content-Length over the limit without reading the body, and drops a retried status unread', async () => {
    const large = answerOf(200, JSON.stringify(goodAnswer), { 'Content-Length': '2000' });
    const err = await failure(new HttpExecutor({ type: 'http', url: base }, { ...local, maxResponseBytes: 1000, transport: async () => large }).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_RESPONSE_TOO_LARGE');
    expect({ reads: large.reads, discarded: large.discarded }).toEqual({ reads: 0, discarded: true });

    const answers = [answerOf(429, 'slow down'), answerOf(200, JSON.stringify(goodAnswer))];
    const transport = async () => answers.shift() ?? answerOf(500, 'no more answers');
    const first = answers[0];
    const result = await new HttpExecutor({ type: 'http', url: base }, { ...local, retryBaseDelayMs: 1, transport }).execute(request, { timeoutMs: 5000 });
    expect(result.outputs).toEqual(goodAnswer.outputs);
    expect({ reads: first?.reads, discarded: first?.discarded }).toEqual({ reads: 0, discarded: true });
  });
});

/** A raw TCP server that answers every request with `reply` (bytes Node's HTTP server would not send) and leaves the socket open. */
async function rawServer(reply: string): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const raw = createNetServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        head = '';
        socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(raw.address() as AddressInfo).port}/`,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    },
  };
}

/** `promise`, or a rejection after `ms`: a call that never settles fails the test instead of hanging it. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms))]);
}

describe('HttpExecutor: an answer that switches protocols', () => {
  it('reports a 101 at once as EXECUTOR_HTTP_STATUS, and the call never stays pending past its timeout', async () => {
    // Node gives a 101 no 'response' and, with no 'upgrade' listener, drops the socket without an
    // 'error': the call used to stay pending for ever, its own timeout included.
    const raw = await rawServer('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
    try {
      // At once: long before the call's own timeout (which would end it as EXECUTOR_TIMEOUT), with
      // no clock read here, so a slow machine cannot fail it.
      const err = await within(failure(new HttpExecutor({ type: 'http', url: raw.url }, local).execute(request, { timeoutMs: 60_000 })), 20_000);
      expect(err.toResultError()).toEqual({ code: 'EXECUTOR_HTTP_STATUS', message: `http POST ${raw.url} answered 101 (a protocol switch) instead of an answer; executors answer the POST with JSON` });
      expect(err).toHaveProperty('status', 101);
    } finally {
      await raw.close();
    }
  });

  it('never pools the connection of a 101 sent without Upgrade headers (Node reads it as an ordinary answer): what follows on it is not HTTP', async () => {
    const raw = await rawServer('HTTP/1.1 101 Switching Protocols\r\n\r\n');
    try {
      const executor = new HttpExecutor({ type: 'http', url: raw.url }, local);
      for (let call = 0; call < 2; call++) {
        const err = await within(failure(executor.execute(request, { timeoutMs: 2000 })), 4000);
        expect(err).toHaveProperty('status', 101);
        // Time for a kept connection to go back to the pool, as it would between two replays.
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(raw.connections()).toBe(2);
    } finally {
      await raw.close();
    }
  });
});

describe('pinnedTransport', () => {
  const to127 = [{ address: '127.0.0.1', family: 4 }];
  const post = (signal: AbortSignal) => ({ method: 'POST' as const, headers: { 'content-type': 'text/plain' }, body: 'hello', signal });

  it('answers with the status as sent, repeated headers joined, and the body up to a limit', async () => {
    handler = (_req, res) => {
      res.setHeader('x-tag', ['a', 'b']);
      res.writeHead(600, { 'content-type': 'text/plain' }).end('0123456789');
    };
    const answer = await pinnedTransport(new URL(base), post(new AbortController().signal), to127);
    expect({ status: answer.status, tag: answer.header('x-tag'), type: answer.header('content-type'), none: answer.header('x-none') }).toEqual({ status: 600, tag: 'a, b', type: 'text/plain', none: undefined });
    expect(await answer.read(4)).toEqual({ bytes: Buffer.from('0123'), complete: false });
    expect(received[0]?.body).toBe('hello');

    const whole = await pinnedTransport(new URL(base), post(new AbortController().signal), to127);
    const body = await whole.read(10);
    expect({ text: Buffer.from(body.bytes).toString(), complete: body.complete }).toEqual({ text: '0123456789', complete: true });
  });

  it('a signal that fires after the headers ends the read of a body still arriving (before or during the read)', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part of it');
    };
    const during = new AbortController();
    const answer = await pinnedTransport(new URL(base), post(during.signal), to127);
    const read = answer.read(1000);
    setTimeout(() => during.abort(new Error('deadline')), 20);
    await expect(read).rejects.toThrow('deadline');

    const before = new AbortController();
    const unread = await pinnedTransport(new URL(base), post(before.signal), to127);
    before.abort(new Error('deadline'));
    await expect(unread.read(1000)).rejects.toThrow('deadline');
  });

  it('refuses at once on a signal that has already fired, sending nothing', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await expect(pinnedTransport(new URL(base), post(controller.signal), to127)).rejects.toThrow('too late');
    expect(received).toHaveLength(0);
  });
});

describe('OpenAiExecutor', () => {
  const completion = (content: string | null) => ({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  });

  it('POSTs a chat completion to {baseUrl}/chat/completions with the model parameters and reads a fenced JSON answer', async () => {
    handler = (_req, res) => json(res, 200, completion('```json\n{"outputs":[{"name":"decision","value":"approve"},{"name":"score","value":0.8}]}\n```'));
    const executor = new OpenAiExecutor({ type: 'openai', baseUrl: `${base}/v1/`, headers: { authorization: 'Bearer sk-test' } }, local);

    const result = await executor.execute(request, { timeoutMs: 5000 });

    expect(result.outputs).toEqual([{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.8 }]);
    const [call] = received;
    expect(call?.url).toBe('/v1/chat/completions');
    expect(call?.headers.authorization).toBe('Bearer sk-test');
    expect(call?.body).toMatchObject({ model: 'credit-llm', temperature: 0.2, max_tokens: 256, top_p: 0.9, seed: 7 });
    const body = call?.body as { messages: Array<{ role: string; content: string }> };
    expect(body.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(body.messages[0]?.content).toContain('"decision", "score"');
    expect(JSON.parse(body.messages[1]?.content ?? '')).toEqual({ applicant: { income: 52000, age: 41 } });
    expect(executor.description).not.toContain('sk-test');
  });

  it('uses the configured model over the recorded modelName (a candidate model)', () => {
    const body = chatCompletionBody(request, 'gpt-4o-mini');
    expect(body.model).toBe('gpt-4o-mini');
  });

  it('sends the configured model when one is set', async () => {
    handler = (_req, res) => json(res, 200, completion('{"decision":"review","score":0.5}'));
    const result = await new OpenAiExecutor({ type: 'openai', baseUrl: base, model: 'candidate-2' }, local).execute(request, { timeoutMs: 5000 });
    expect(received[0]?.body).toMatchObject({ model: 'candidate-2' });
    expect(result.outputs).toEqual([{ name: 'decision', value: 'review' }, { name: 'score', value: 0.5 }]);
  });

  it('reports a body that is not a chat completion as malformed', async () => {
    handler = (_req, res) => json(res, 200, { result: 'approve' });
    const err = await failure(new OpenAiExecutor({ type: 'openai', baseUrl: base }, local).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_MALFORMED_RESPONSE');
    expect(err.message).toMatch(/not a chat completion: choices/);
  });

  it('reports a completion with no text, and text without the outputs, as malformed', async () => {
    handler = (_req, res) => json(res, 200, completion(null));
    expectCode(await failure(new OpenAiExecutor({ type: 'openai', baseUrl: base }, local).execute(request, { timeoutMs: 5000 })), 'EXECUTOR_MALFORMED_RESPONSE');
    handler = (_req, res) => json(res, 200, completion('I would approve this loan.'));
    const err = await failure(new OpenAiExecutor({ type: 'openai', baseUrl: base }, local).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_MALFORMED_RESPONSE');
    expect(err.message).toContain('I would approve this loan.');
  });

  it('passes a 401 through as EXECUTOR_HTTP_STATUS and times out a slow server', async () => {
    handler = (_req, res) => json(res, 401, { error: { message: 'Incorrect API key provided' } });
    const err = await failure(new OpenAiExecutor({ type: 'openai', baseUrl: base }, local).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_HTTP_STATUS');
    expect(err).toHaveProperty('status', 401);

    handler = (_req, res) => setTimeout(() => json(res, 200, completion('{}')), 3000);
    expectCode(await failure(new OpenAiExecutor({ type: 'openai', baseUrl: base }, local).execute(request, { timeoutMs: 200 })), 'EXECUTOR_TIMEOUT');
  });

  it('refuses loopback unless private networks are allowed', async () => {
    const err = await failure(new OpenAiExecutor({ type: 'openai', baseUrl: base }, { allowPrivateNetworks: false }).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_FORBIDDEN_ADDRESS');
    expect(received).toHaveLength(0);
  });
});
