/**
 * Issue 9, defects 2 and 3: the real `npm start` with a data dir is killed with SIGKILL in the
 * middle of a batch and of a burst of writes (the whole process group: npm, its shell and the node
 * process running bin/local.ts, so nothing of the killed host lives on), then started again on the
 * same data dir. After the restart the batch finishes (SUCCEEDED, one result per item), the executor is
 * asked again only for items without a stored result (so executor calls ≤ items, plus the calls
 * whose results were not stored when the process was killed), and every write the killed process
 * acknowledged has exactly one on-write validation report, and is in its function's list and in
 * the audit index.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const ITEMS = 40;
const MAX_CONCURRENCY = 4;

const children: ChildProcess[] = [];
const dirs: string[] = [];
let executor: Server | undefined;

afterAll(async () => {
  for (const c of children) if (c.pid !== undefined && groupAlive(c.pid)) process.kill(-c.pid, 'SIGKILL');
  await new Promise<void>((r) => (executor ? executor.close(() => r()) : r()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Whether any process of the group `pgid` is still alive (a killed process is gone once ESRCH). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILL to every process of the `npm start` group at once, then wait until all of them are gone:
 * killing only npm (or tsx's launcher) leaves the node process that holds DATA_DIR running, and a
 * restart would then find the data dir's DynamoDB store locked.
 */
async function killGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) throw new Error('the host has no pid');
  process.kill(-child.pid, 'SIGKILL');
  await until('the killed process group to be gone', async () => (groupAlive(child.pid ?? 0) ? undefined : true), 10_000);
}

async function startHost(dataDir: string): Promise<{ child: ChildProcess; url: string; exited: Promise<void> }> {
  // `npm start` itself, in its own process group so the test can kill all of it.
  const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, detached: true, env: { ...process.env, DATA_DIR: dataDir, PORT: '0', DYNAMODB_PORT: '0', S3_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no ready line within 30 s:\n${output}`)), 30_000);
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString('utf8');
      const m = /decision-replay listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.stderr?.on('data', (c: Buffer) => (output += c.toString('utf8')));
    void exited.then(() => fail(new Error(`exited before it was ready:\n${output}`)));
  });
  return { child, url, exited };
}

async function json<T>(url: string, method = 'GET', body?: unknown): Promise<{ status: number; body: T }> {
  // eslint-disable-next-line no-restricted-globals -- a separate `npm start` process that this test kills mid-request; the OpenAPI-checked helper is for the in-process host
  const res = await fetch(url, { method, ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

/** Every item of a list route, page after page (1,000 a page). */
async function allItems<T>(url: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page: { status: number; body: { items: T[]; nextCursor?: string } } = await json(`${url}&limit=1000${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    expect(page.status).toBe(200);
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor !== undefined);
  return items;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const decision = (i: number) => ({
  functionName: 'crash_fn',
  inputs: [{ name: 'applicant', value: { income: 40_000 + i } }],
  outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.5 }],
  executionTimeMs: 3,
});

describe('SIGKILL of npm start mid-batch and mid-write-burst', () => {
  it('resumes the batch to SUCCEEDED without extra executor answers, and validates every acknowledged write exactly once', { timeout: 240_000 }, async () => {
    // A model service that answers after 150 ms and counts the requests it receives.
    let received = 0;
    executor = createServer((req, res) => {
      received += 1;
      req.resume();
      req.on('end', () =>
        setTimeout(() => {
          if (res.destroyed) return;
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.5 }] }));
        }, 150),
      );
    });
    await new Promise<void>((r) => executor?.listen(0, '127.0.0.1', () => r()));
    const executorUrl = `http://127.0.0.1:${(executor.address() as AddressInfo).port}/decide`;

    const dataDir = mkdtempSync(join(tmpdir(), 'dr-crash-'));
    dirs.push(dataDir);
    const first = await startHost(dataDir);

    // Arrange: a policy attached to the function (so every write gets a report), the executor,
    // the batch's snapshots, and the batch itself.
    expect((await json(`${first.url}/policies/crash-floor`, 'PUT', { functionNames: ['crash_fn'], rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] })).status).toBe(200);
    expect((await json(`${first.url}/functions/crash_fn/executor`, 'PUT', { type: 'http', url: executorUrl, timeoutMs: 5_000 })).status).toBe(200);
    const ids: string[] = [];
    for (let i = 0; i < ITEMS; i++) ids.push((await json<{ snapshotId: string }>(`${first.url}/snapshots`, 'POST', decision(i))).body.snapshotId);
    const started = await json<{ batchId: string }>(`${first.url}/batches`, 'POST', { snapshotIds: ids, mode: 'Strict', maxConcurrency: MAX_CONCURRENCY });
    expect(started.status).toBe(202);
    const batchId = started.body.batchId;
    await until('the batch to be under way', async () => ((await json<{ completed: number }>(`${first.url}/batches/${batchId}`)).body.completed >= 8 ? true : undefined));
    const completedBeforeKill = (await json<{ completed: number }>(`${first.url}/batches/${batchId}`)).body.completed;

    // Act: a burst of writes, then SIGKILL while it is in flight.
    const acknowledged: string[] = [];
    const burst = Array.from({ length: 300 }, (_, i) =>
      json<{ snapshotId: string }>(`${first.url}/snapshots`, 'POST', decision(1_000 + i)).then(
        (r) => void (r.status === 201 && acknowledged.push(r.body.snapshotId)),
        () => undefined,
      ),
    );
    await until('some writes to be acknowledged', async () => (acknowledged.length >= 40 ? true : undefined));
    await killGroup(first.child);
    const receivedAtKill = received;
    await Promise.all(burst);
    expect(acknowledged.length).toBeGreaterThanOrEqual(40);

    const second = await startHost(dataDir);

    // Assert: the batch was resumed and finished, one result per item.
    const batch = await until('the batch to finish', async () => {
      const b = (await json<{ status: string; total: number; completed: number }>(`${second.url}/batches/${batchId}`)).body;
      return b.status === 'RUNNING' ? undefined : b;
    });
    expect(batch).toMatchObject({ status: 'SUCCEEDED', total: ITEMS, completed: ITEMS });
    const results = await json<{ items: { status: string }[] }>(`${second.url}/batches/${batchId}/results?limit=1000`);
    expect(results.body.items).toHaveLength(ITEMS);
    // A resumed item finds its stored result before calling the executor: after the restart the
    // executor is asked only for items without a result (at most the items not yet completed when
    // the progress was last read before the kill). The only repeats are the calls whose results
    // were not stored at the kill.
    expect(received - receivedAtKill).toBeLessThanOrEqual(ITEMS - completedBeforeKill);
    // Over both processes: one call per item, plus one repeat per call whose result was not stored
    // at the kill. A batch runs at most maxConcurrency chunks at once, and a chunk has at most two
    // such calls: the one in flight, and the one before it, answered, whose result was still being
    // written (a chunk starts the next call while the previous result goes out). Seen in CI: 45
    // calls, 5 repeats, against a bound of one per chunk.
    expect(received).toBeGreaterThanOrEqual(ITEMS);
    expect(received).toBeLessThanOrEqual(ITEMS + 2 * MAX_CONCURRENCY);

    // Every acknowledged write has exactly one on-write report (a redelivered one is not doubled).
    for (const id of acknowledged) {
      const reports = await until(`the validation of ${id}`, async () => {
        const r = await json<{ items: { policy: { name: string } }[] }>(`${second.url}/snapshots/${id}/validations`);
        return r.body.items.length > 0 ? r.body.items : undefined;
      }, 60_000);
      expect(reports.filter((r) => r.policy.name === 'crash-floor'), id).toHaveLength(1);
    }

    // Every acknowledged write is in its function's list (GSI1) and in the audit index (GSI3): the
    // killed process answered writes before their global index entries were written, and did not
    // write those of the writes in flight; this start wrote them before serving.
    const listed = new Set((await allItems<{ snapshotId: string }>(`${second.url}/snapshots?functionName=crash_fn`)).map((s) => s.snapshotId));
    expect(acknowledged.filter((id) => !listed.has(id))).toEqual([]);
    const records = await allItems<{ kind: string; id: string }>(`${second.url}/audit/records?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`);
    const audited = new Set(records.filter((r) => r.kind === 'snapshot').map((r) => r.id));
    expect(acknowledged.filter((id) => !audited.has(id))).toEqual([]);
    if (second.child.pid !== undefined) process.kill(-second.child.pid, 'SIGTERM');
    await second.exited;
  });
});

describe('SIGKILL of npm start while it records a batch of listed ids', () => {
  it('runs the batch after the restart if it was recorded: it never is before its ids are written', { timeout: 120_000 }, async () => {
    // Issue 9: the batch was recorded, then its 100,000 ids written to its manifest; a kill in
    // between left a batch whose ids were nowhere, FAILED after the restart. The kill comes the
    // moment the batch shows up in GET /batches.
    const dataDir = mkdtempSync(join(tmpdir(), 'dr-crash-plan-'));
    dirs.push(dataDir);
    const first = await startHost(dataDir);
    const ids = Array.from({ length: 100_000 }, (_, i) => `01M8XF${String(i).padStart(20, '0')}`);

    // Act
    const posted = json(`${first.url}/batches`, 'POST', { snapshotIds: ids, maxConcurrency: 1 }).catch(() => undefined);
    const batchId = await until(
      'the batch to be recorded',
      async () => (await json<{ items: Array<{ batchId: string }> }>(`${first.url}/batches?limit=1`).catch(() => undefined))?.body.items[0]?.batchId,
      60_000,
      5,
    );
    await killGroup(first.child);
    await posted;
    const second = await startHost(dataDir);

    // Assert: resumed with its ids, not FAILED for want of them.
    const batch = (await json<{ status: string; total: number | null; failureReason?: string }>(`${second.url}/batches/${batchId}`)).body;
    expect(batch).toMatchObject({ total: 100_000 });
    expect(batch.status, batch.failureReason).not.toBe('FAILED');
    // Its items are missing snapshots: not worth waiting for. Stopped.
    expect([200, 409]).toContain((await json(`${second.url}/batches/${batchId}/cancel`, 'POST')).status);
    if (second.child.pid !== undefined) process.kill(-second.child.pid, 'SIGTERM');
    await second.exited;
  });
});
