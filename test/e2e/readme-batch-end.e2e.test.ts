/**
 * README.md's "### When a batch execution ends abnormally" shows two real runs on the local host:
 * a batch cancelled with the CLI (its transcript, the second cancel's 409 and exit 3, and the API's
 * 409 for it), and a batch whose execution was stopped outside the API, read back `FAILED`. This
 * plays both again and compares what they print with the README (ids and timestamps unified; how
 * many items had finished when the cancel or the stop came is timing, so those numbers are compared
 * within the range the README's `<!-- tour: range … -->` marks give).
 *
 * The cancel runs against a fresh `npm start -- --in-memory`. A stop "outside the API" has no
 * route: it is the host's own state machine stopping the execution (as the console or
 * `aws stepfunctions stop-execution` does on AWS), so that example runs on the same local host
 * started in this process (test/support/host.ts), where the test can reach the state machine.
 *
 * Both batches replay on a slow model (a server here), so each is still
 * running when it is cancelled or stopped.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchangeTests, ReadmeSession, ROOT, transcriptTests } from '../support/readme-session.js';
import { parseExchanges, parseTranscripts } from '../support/readme-tour.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestJson } from '../support/http.js';

const SECTION = '### When a batch execution ends abnormally';
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const transcripts = parseTranscripts(README, SECTION, ['']);
const cancelSteps = transcripts[0] ?? [];
const exchanges = parseExchanges(README, SECTION);
/** The cancel block's API exchange (after its transcript), and the stopped execution's GET. */
const cancelExchanges = exchanges.filter((e) => e.method === 'POST' && e.path.endsWith('/cancel'));
const stoppedExchanges = exchanges.filter((e) => e.method === 'GET');
const ULID = /[0-9A-HJKMNP-TV-Z]{26}/;

const OUTPUTS = [{ name: 'decision', value: 'approve' }];

/**
 * A model that answers every call with the recorded decision after `delayMs`. With one call at a
 * time, the 60-item batch takes 18 s at 300 ms, far longer than the CLI takes to start its cancel;
 * the 10-item batch counts its first chunk of 5 after 3 s at 600 ms and ends 3 s later, the time
 * the test has to stop it.
 */
async function slowModel(delayMs: number): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ outputs: OUTPUTS })), delayMs));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/decide`, server };
}

const call = <T>(port: number, method: string, path: string, body?: unknown) => requestJson<T>(`http://127.0.0.1:${port}`, method, path, body);

/**
 * `items` decisions of `fn` recorded, its executor the slow model, and a batch over them started:
 * resolves while the batch is still running, once it has stored a result (`until: 'result'`: what
 * a cancel counts) or once its `completed` counts one (`'completed'`: the batch's own count, which
 * moves a chunk at a time).
 */
async function runningBatch(port: number, modelUrl: string, fn: string, items: number, maxConcurrency: number, until: 'result' | 'completed'): Promise<string> {
  expect((await call(port, 'PUT', `/functions/${fn}/executor`, { type: 'http', url: modelUrl })).status).toBe(200);
  // Ten writes at a time: one at a time, 60 took 7 s of a busy machine.
  for (let from = 0; from < items; from += 10) {
    const batch = Array.from({ length: Math.min(10, items - from) }, (_, k) => call(port, 'POST', '/snapshots', { functionName: fn, inputs: [{ name: 'i', value: from + k }], outputs: OUTPUTS, executionTimeMs: 1 }));
    expect((await Promise.all(batch)).map((r) => r.status)).toEqual(batch.map(() => 201));
  }
  const started = await call<{ batchId: string }>(port, 'POST', '/batches', { selector: { functionName: fn }, mode: 'Strict', maxConcurrency });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const b = await call<{ status: string; completed: number }>(port, 'GET', `/batches/${started.body.batchId}`);
    if (b.body.status !== 'RUNNING') throw new Error(`batch ended ${b.body.status} before the example could act on it: ${JSON.stringify(b.body)}`);
    const done = until === 'completed' ? b.body.completed : (await call<{ items: unknown[] }>(port, 'GET', `/batches/${started.body.batchId}/results?limit=1`)).body.items.length;
    if (done >= 1) return started.body.batchId;
    if (Date.now() > deadline) throw new Error(`batch ${started.body.batchId} completed no item within 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('README: cancelling a batch with the CLI, against npm start -- --in-memory', () => {
  const session = new ReadmeSession();
  let model: { url: string; server: Server };

  beforeAll(async () => {
    model = await slowModel(300);
    await session.start();
    await session.useCli();
  }, 120_000);
  afterAll(async () => {
    await session.stop();
    model?.server.close();
  }, 30_000);

  it('the section has the cancel transcript (two cancels) and the API 409', () => {
    expect(transcripts).toHaveLength(1);
    expect(cancelSteps.map((s) => s.command.split(' ').slice(0, 3).join(' '))).toEqual(['decision-replay batch cancel', 'decision-replay batch cancel']);
    expect(cancelSteps[0]?.mark?.kind).toBe('range');
    expect(cancelExchanges).toHaveLength(1);
  });

  it('a 60-item batch is running (the README\'s batch id stands for it)', async () => {
    const batchId = await runningBatch(session.host.port, model.url, 'cancel_example', 60, 1, 'result');
    const shown = ULID.exec(cancelSteps[0]?.command ?? '')?.[0];
    expect(shown).toBeDefined();
    expect(session.subs.unify(shown ?? '', batchId)).toBe(true);
  }, 60_000);

  transcriptTests(session, cancelSteps, 'cancel transcript');
  exchangeTests(session, cancelExchanges, 'cancel example');
});

describe('README: a batch whose execution was stopped outside the API ends FAILED (local host)', () => {
  const session = new ReadmeSession();
  let t: TestHost;
  let model: { url: string; server: Server };

  beforeAll(async () => {
    model = await slowModel(600);
    await session.start({}, {
      host: async () => {
        t = await startTestHost();
        return { port: Number(new URL(t.url).port), dynamoPort: Number(new URL(t.host.dynamoEndpoint).port), stop: () => t.close() };
      },
    });
  }, 120_000);
  afterAll(async () => {
    await session.stop();
    model?.server.close();
  }, 30_000);

  it('the section has the stopped execution\'s GET', () => {
    expect(stoppedExchanges).toHaveLength(1);
    expect(stoppedExchanges[0]?.mark.kind).toBe('range');
  });

  it('a 10-item batch whose execution is stopped, as the console would, has ended', async () => {
    const batchId = await runningBatch(session.host.port, model.url, 'stopped_example', 10, 1, 'completed');
    t.host.stateMachine.stop(batchId);
    const until = Date.now() + 30_000;
    while ((await call<{ status: string }>(session.host.port, 'GET', `/batches/${batchId}`)).body.status === 'RUNNING') {
      if (Date.now() > until) throw new Error(`batch ${batchId} still RUNNING 30 s after its execution was stopped`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const shown = ULID.exec(stoppedExchanges[0]?.path ?? '')?.[0];
    expect(shown).toBeDefined();
    expect(session.subs.unify(shown ?? '', batchId)).toBe(true);
  }, 60_000);

  exchangeTests(session, stoppedExchanges, 'stopped-execution example');
});
