/**
 * Closing the local host (functions/local/host.ts) is bounded: a client holding a request open
 * cannot keep the HTTP API from closing, and a part that never finishes (a hung on-write delivery)
 * is named once everything else is closed, instead of close() waiting forever.
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HTTP_CLOSE_GRACE_MS } from '../../functions/local/host.js';
import { requestJson } from '../support/http.js';
import { startTestHost } from '../support/host.js';

describe('closing the local host', () => {
  it(`cuts a connection whose request is still arriving ${HTTP_CLOSE_GRACE_MS} ms after close began, and closes`, async () => {
    const t = await startTestHost();
    const socket: Socket = connect(Number(new URL(t.url).port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    // Half a request: the server waits for the other 90 bytes of the body (Node's own limit is 5 min).
    socket.write('POST /snapshots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"functio');
    const cut = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise((r) => setTimeout(r, 50));

    await t.close();

    await cut;
    expect(socket.destroyed).toBe(true);
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
