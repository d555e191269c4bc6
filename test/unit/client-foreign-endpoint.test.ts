/**
 * An endpoint that is not a decision-replay service (a proxy's or a login page's HTML, another
 * service's JSON, a wrong port): the SDK rejects with a DecisionReplayError that says what
 * answered, as its contract says of every failure, and the CLI exits 3 naming it, never with a
 * SyntaxError, a TypeError, a hang or a success.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { DecisionReplayClient, DecisionReplayError } from '../../client/src/index.js';

/** Each path prefix answers 200 with this body. */
const ANSWERS: Record<string, { type: string; body: string }> = {
  '/html': { type: 'text/html', body: '<html><body>Please sign in</body></html>' },
  '/array': { type: 'application/json', body: '[1,2,3]' },
  '/null': { type: 'application/json', body: 'null' },
  '/other': { type: 'application/json', body: '{"hello":"world"}' },
  '/zero-windows': { type: 'application/json', body: '{"items":[],"intervalMinutes":0}' },
};

describe('an endpoint that is not a decision-replay service', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const prefix = Object.keys(ANSWERS).find((p) => req.url?.startsWith(p)) ?? '/html';
      const answer = ANSWERS[prefix] as { type: string; body: string };
      res.writeHead(200, { 'content-type': answer.type });
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const client = (prefix: string) => new DecisionReplayClient({ endpoint: `${base}${prefix}`, retries: 0 });

  it('rejects an HTML page answered with 200 as a DecisionReplayError naming what answered', async () => {
    const err = await client('/html').getSnapshot('01M8VP1EMWG90XEJPS66ZG6ATJ').catch((e: unknown) => e);

    expect(err).toBeInstanceOf(DecisionReplayError);
    expect(err).toMatchObject({ status: 200, code: 'INVALID_RESPONSE' });
    expect((err as Error).message).toContain('not JSON (text/html)');
    expect((err as Error).message).toContain('Please sign in');
  });

  it('rejects JSON that is not an object, and a list answer with no items', async () => {
    for (const prefix of ['/array', '/null']) {
      await expect(client(prefix).getSnapshot('01M8VP1EMWG90XEJPS66ZG6ATJ')).rejects.toMatchObject({ code: 'INVALID_RESPONSE', message: expect.stringContaining('not a JSON object') });
    }
    await expect(client('/other').listSnapshots({ functionName: 'f' })).rejects.toMatchObject({ code: 'INVALID_RESPONSE', message: expect.stringContaining('no items list') });
    const iterated = (async () => {
      for await (const s of client('/other').iterateSnapshots({ functionName: 'f' })) void s;
    })();
    await expect(iterated).rejects.toBeInstanceOf(DecisionReplayError);
  });

  it('makes the CLI exit 3 with a message saying what answered, not a JavaScript error', async () => {
    const html = await runCli(['get', '01M8VP1EMWG90XEJPS66ZG6ATJ', '--endpoint', `${base}/html`]);
    const other = await runCli(['list', '--function', 'f', '--endpoint', `${base}/other`]);

    expect(html.code).toBe(3);
    expect(html.stderr).toMatch(/^decision-replay: INVALID_RESPONSE \(HTTP 200\): GET .* answered 200 with a body that is not JSON/);
    expect(other.code).toBe(3);
    expect(other.stderr).toContain('no items list');
    expect(other.stderr).not.toContain('Cannot read properties');
  });

  it("does not print another service's JSON as the snapshot asked for, with exit 0", async () => {
    const r = await runCli(['get', '01M8VP1EMWG90XEJPS66ZG6ATJ', '--endpoint', `${base}/other`]);

    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("INVALID_RESPONSE (HTTP 200): GET /snapshots/01M8VP1EMWG90XEJPS66ZG6ATJ answered something that is not snapshot '01M8VP1EMWG90XEJPS66ZG6ATJ'");
  });

  it('refuses a digest listing whose window length is not a positive number of minutes, rather than walk the range forever', async () => {
    const r = await runCli(['verify', '--from', '2026-12-01T00:00Z', '--to', '2026-12-01T01:00Z', '--endpoint', `${base}/zero-windows`]);

    expect(r.code).toBe(3);
    expect(r.stderr).toContain('intervalMinutes 0, not a positive whole number of minutes');
  });
  it('names a port fetch refuses to connect to (6000, a "bad port"), at once rather than after every retry', async () => {
    // A long backoff: had it retried, this would take 3 × 20 s.
    const started = Date.now();
    const err = await new DecisionReplayClient({ endpoint: 'http://127.0.0.1:6000', retryBaseDelayMs: 20_000 }).listSnapshots({ functionName: 'f' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecisionReplayError);
    expect(err).toMatchObject({ status: 0, code: 'NETWORK_ERROR' });
    expect((err as Error).message).toBe('GET http://127.0.0.1:6000/snapshots: port 6000 is one fetch refuses to connect to (a blocked "bad port" of the Fetch standard, as browsers refuse it too); run the service on another port');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
