/**
 * Closing the local host (functions/local/host.ts) is bounded: a client holding a request open
 * cannot keep the HTTP API from closing, and a part that never finishes (a hung on-write delivery)
 * is named once everything else is closed, instead of close() waiting forever. A client that goes
 * away mid-request is not a server error.
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HTTP_CLOSE_GRACE_MS } from '../../functions/local/host.js';
import { requestJson } from '../support/http.js';
import { startTestHost } from '../support/host.js';

/** Connects and sends the head of a POST /snapshots with 10 of its 100 body bytes. */
async function halfRequest(url: string): Promise<Socket> {
  const socket: Socket = connect(Number(new URL(url).port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  // The server waits for the other 90 bytes of the body (Node's own limit is 5 min).
  // The host's own name: a request naming another host would be refused before its body is read.
  socket.write(`POST /snapshots HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"functio`);
  await new Promise((r) => setTimeout(r, 50));
  return socket;
}

describe('a client that goes away mid-request', () => {
  it('is neither logged as an error nor answered, and the host goes on serving', async () => {
    const errors: unknown[][] = [];
    const t = await startTestHost({ logger: { error: (...args: unknown[]) => errors.push(args), info: () => undefined } });
    try {
      const socket = await halfRequest(t.url);
      socket.destroy();
      await new Promise((r) => setTimeout(r, 100));

      expect((await requestJson(t.url, 'GET', '/openapi.json')).status).toBe(200);
      expect(errors).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe('closing the local host', () => {
  it(`cuts a connection whose request is still arriving ${HTTP_CLOSE_GRACE_MS} ms after close began, and closes`, async () => {
    const errors: unknown[][] = [];
    const t = await startTestHost({ logger: { error: (...args: unknown[]) => errors.push(args), info: () => undefined } });
    const socket = await halfRequest(t.url);
    const cut = new Promise<void>((resolve) => socket.once('close', () => resolve()));

    await t.close();

    await cut;
    expect(socket.destroyed).toBe(true);
    // Cutting it is close's own doing, not an error of the request.
    expect(errors).toEqual([]);
  });

  it('names a part that did not finish (a hung on-write delivery) after closing the rest', async () => {
    const t = await startTestHost({ closeTimeoutMs: 300 });
    let delivered = 0;
    t.host.stream.setHandler(() => {
      delivered += 1;
      return new Promise(() => undefined);
    });
    const res = await requestJson(t.url, 'POST', '/snapshots', { functionName: 'close_probe', inputs: [{ name: 'x', value: 1 }], outputs: [{ name: 'y', value: 2 }] });
    expect(res.status).toBe(201);
    for (let i = 0; i < 200 && delivered === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(delivered).toBe(1);

    await expect(t.close()).rejects.toThrow('the local host closed everything it could, but the DynamoDB stream (an on-write delivery) did not finish within 300 ms');
    // The rest is closed: the HTTP API no longer answers.
    await expect(requestJson(t.url, 'GET', '/openapi.json')).rejects.toThrow();
  });
});
