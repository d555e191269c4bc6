/**
 * The SDK's cap on one answer's body (`maxResponseBytes`, CLI `--max-response-mb`). Without it, an
 * endpoint that is not the service could send a body of any size and the client held all of it:
 * a 300 MB body took the CLI to 1.8 GB. Also: a connection lost while the body streams is a
 * network failure (retried where the request allows), not a raw `TypeError: terminated`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RESPONSE_BYTES, DecisionReplayClient, DecisionReplayError, DecisionReplayNetworkError } from '../../client/src/index.js';
import { runCli } from '../support/cli.js';

const ID = '01HZZZZZZZZZZZZZZZZZZZZZZZ';

/** A JSON object of exactly `bytes` bytes. */
function jsonOfSize(bytes: number): string {
  const shell = '{"pad":""}';
  return `{"pad":"${'x'.repeat(bytes - shell.length)}"}`;
}

describe('the client reads no more of an answer than maxResponseBytes', () => {
  let server: Server;
  let endpoint: string;
  let handler: (req: IncomingMessage, res: ServerResponse, n: number) => void;
  let requests = 0;
  /** Bytes the server wrote before the client stopped reading (endless answers). */
  let written = 0;
  let closed: Promise<void>;
  let markClosed: () => void;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests += 1;
      handler(req, res, requests);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    requests = 0;
    written = 0;
    closed = new Promise((resolve) => (markClosed = resolve));
  });

  /** Answers `status` with 1 KiB chunks for as long as the client reads them. */
  function endless(status: number) {
    return (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024, 0x20);
      const pump = () => {
        while (!res.destroyed && written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', markClosed);
      pump();
    };
  }

  const client = (options: { maxResponseBytes?: number } = {}) => new DecisionReplayClient({ endpoint, retryBaseDelayMs: 1, timeoutMs: 5000, ...options });

  it('defaults to 64 MiB and refuses a limit that is not a whole number of bytes', () => {
    expect(DEFAULT_MAX_RESPONSE_BYTES).toBe(64 * 1024 * 1024);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new DecisionReplayClient({ endpoint, maxResponseBytes: bad })).toThrow(/maxResponseBytes must be a whole number of bytes/);
    }
  });

  it('stops reading a body that streams past the limit, and does not retry it', async () => {
    handler = endless(200);
    const err = await client({ maxResponseBytes: 10_000 }).getSnapshot(ID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecisionReplayError);
    expect(err).not.toBeInstanceOf(DecisionReplayNetworkError);
    const e = err as DecisionReplayError;
    expect(e.code).toBe('RESPONSE_TOO_LARGE');
    expect(e.status).toBe(200);
    expect(e.details).toEqual({ limitBytes: 10_000 });
    expect(e.message).toContain(`GET ${endpoint}/snapshots/${ID} answered 200 with a body of more than 10000 bytes`);
    expect(e.message).toContain('maxResponseBytes; CLI --max-response-mb');
    // The client hung up: the server's answer was closed long before its 64 MiB.
    await closed;
    expect(written).toBeLessThan(8 * 1024 * 1024);
    expect(requests).toBe(1);
  });

  it('refuses a declared Content-Length over the limit before reading the body', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50_000_000) });
      res.write('{"pad":"');
      res.on('close', markClosed);
    };
    const err = (await client({ maxResponseBytes: 1000 }).getSnapshot(ID).catch((e: unknown) => e)) as DecisionReplayError;
    expect(err.code).toBe('RESPONSE_TOO_LARGE');
    expect(err.message).toContain('a body of 50000000 bytes (its Content-Length)');
    await closed;
    expect(requests).toBe(1);
  });

  it('reads an answer of exactly the limit', async () => {
    const body = jsonOfSize(4096);
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    const answer = (await client({ maxResponseBytes: 4096 }).getSnapshot(ID)) as unknown as { pad: string };
    expect(answer.pad).toHaveLength(4096 - 10);
    const over = (await client({ maxResponseBytes: 4095 }).getSnapshot(ID).catch((e: unknown) => e)) as DecisionReplayError;
    expect(over.code).toBe('RESPONSE_TOO_LARGE');
  });

  it('counts the decoded bytes: a small gzip body that expands past the limit is refused', async () => {
    const zipped = gzipSync(jsonOfSize(1_000_000));
    expect(zipped.length).toBeLessThan(5_000);
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(zipped.length) }).end(zipped);
    const err = (await client({ maxResponseBytes: 100_000 }).getSnapshot(ID).catch((e: unknown) => e)) as DecisionReplayError;
    expect(err.code).toBe('RESPONSE_TOO_LARGE');
    // Under the limit once decoded, the same answer reads.
    const answer = (await client({ maxResponseBytes: 1_000_000 }).getSnapshot(ID)) as unknown as { pad: string };
    expect(answer.pad.length).toBe(1_000_000 - 10);
  });

  it('caps error bodies too, keeping the answer status', async () => {
    handler = endless(404);
    const err = (await client({ maxResponseBytes: 2048 }).getSnapshot(ID).catch((e: unknown) => e)) as DecisionReplayError;
    expect(err.code).toBe('RESPONSE_TOO_LARGE');
    expect(err.status).toBe(404);
  });

  it('retries a read whose connection is lost while the body streams, as any network failure', async () => {
    const body = JSON.stringify({ snapshotId: ID });
    handler = (_req, res, n) => {
      if (n === 1) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
        res.write(body.slice(0, 5), () => res.socket?.destroy());
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    };
    const answer = await client().getSnapshot(ID);
    expect(answer).toEqual({ snapshotId: ID });
    expect(requests).toBe(2);
  });

  it('does not resend a replay whose answer was cut off (it may have run): a network error after one request', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"replayId"', () => res.socket?.destroy());
    };
    const err = await client().replaySnapshot(ID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecisionReplayNetworkError);
    expect((err as Error).message).toMatch(new RegExp(`^POST ${endpoint}/snapshots/${ID}/replay: `));
    expect(requests).toBe(1);
  });

  it('CLI: --max-response-mb (else DECISION_REPLAY_MAX_RESPONSE_MB) sets the limit; an answer over it exits 3 naming it', async () => {
    // A snapshot-like answer of ~200 KB: within the default limit, over 0.1 MiB.
    const snapshot = JSON.stringify({ snapshotId: ID, pad: 'x'.repeat(200_000) });
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-integrity': 'verified' }).end(snapshot);
    const capped = await runCli(['get', ID, '--endpoint', endpoint, '--max-response-mb', '0.1']);
    expect(capped.code, capped.stderr).toBe(3);
    expect(capped.stderr).toContain('RESPONSE_TOO_LARGE (HTTP 200)');
    expect(capped.stderr).toContain("over this client's limit of 104858 bytes (0.1 MiB)");
    expect(requests).toBe(1);
    // A limit under 0.01 MiB still reads as what it is, not as 0 MiB.
    const tiny = await runCli(['get', ID, '--endpoint', endpoint, '--max-response-mb', '0.0001']);
    expect(tiny.stderr).toContain("over this client's limit of 105 bytes (0.0001 MiB)");
    const fromEnv = await runCli(['get', ID, '--endpoint', endpoint], { env: { DECISION_REPLAY_MAX_RESPONSE_MB: '0.1' } });
    expect(fromEnv.code, fromEnv.stderr).toBe(3);
    expect(fromEnv.stderr).toContain('RESPONSE_TOO_LARGE');
    // The flag wins over the environment; the default (64 MiB) reads it.
    const flagWins = await runCli(['get', ID, '--endpoint', endpoint, '--max-response-mb', '1'], { env: { DECISION_REPLAY_MAX_RESPONSE_MB: '0.1' } });
    expect(flagWins.code, flagWins.stderr).toBe(0);
    const byDefault = await runCli(['get', ID, '--endpoint', endpoint]);
    expect(byDefault.code, byDefault.stderr).toBe(0);
  });

  it('CLI: a limit that is not a positive size up to 512 MiB is a usage error naming its source, before sending', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    for (const bad of ['0', '-1', 'big', '64MB', '1e3', '', '513']) {
      const r = await runCli(['get', ID, '--endpoint', endpoint, `--max-response-mb=${bad}`]);
      expect(r.code, `'${bad}': ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`--max-response-mb: '${bad}' is not a size`);
    }
    const env = await runCli(['get', ID, '--endpoint', endpoint], { env: { DECISION_REPLAY_MAX_RESPONSE_MB: 'lots' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("DECISION_REPLAY_MAX_RESPONSE_MB: 'lots' is not a size");
    expect(requests).toBe(0);
  });
});
