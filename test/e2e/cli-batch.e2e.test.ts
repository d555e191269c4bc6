/**
 * Batches from the CLI against the in-memory local host: `batch run` (progress off and on a
 * terminal, the summary, the gates and their exit codes), `batch get`, `batch list` and
 * `batch cancel`, and the two routes behind the last two: `GET /batches` and
 * `POST /batches/{id}/cancel`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../functions/core/batch.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import { decideCredit, type Applicant } from '../../functions/local/demo-model.js';
import { localS3ClientConfig } from '../../functions/local/s3.js';
import { cli } from '../support/cli.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestJson } from '../support/http.js';
import { tempDir } from '../support/temp-dirs.js';

const FN = 'cli_batch_loans';
const SLOW_FN = 'cli_batch_slow';
/** 12 applicants: the debt-free decide alike in v1 and v2; with debt, v2 flips some decisions. */
const APPLICANTS: Applicant[] = Array.from({ length: 12 }, (_, i) => ({ income: 30_000 + i * 4_000, age: 25 + i, ...(i % 2 === 1 && { debt: 8_000 + i * 2_000 }) }));

type BatchRun = Batch & { gates: { name: string; passed: boolean; actual: unknown; threshold?: number }[] };

describe('decision-replay batch commands (local host)', () => {
  let t: TestHost;
  let slow: Server;
  let env: Record<string, string>;
  const ids: string[] = [];
  let dir: string;

  beforeAll(async () => {
    t = await startTestHost();
    env = { DECISION_REPLAY_URL: t.url };
    dir = tempDir('cli-batch-');
    for (const applicant of APPLICANTS) {
      const res = await requestJson<Snapshot>(t.url, 'POST', '/snapshots', demoV1Decision(FN, applicant));
      ids.push(res.body.snapshotId);
    }
    await requestJson(t.url, 'PUT', `/functions/${FN}/executor`, { type: 'http', url: `${t.url}/demo/credit/v2` });
    // A slow model (v1's answers after 250 ms) so that a batch is still running when it is cancelled.
    slow = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const { inputs } = JSON.parse(body) as { inputs: { value: Applicant }[] };
        const v1 = decideCredit('v1', inputs[0]?.value as Applicant);
        const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ outputs: [{ name: 'decision', value: v1.decision }, { name: 'score', value: v1.score }, { name: 'rationale', value: v1.rationale }] })), 250);
        res.on('close', () => clearTimeout(timer));
      });
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    for (const applicant of APPLICANTS.slice(0, 8)) await requestJson(t.url, 'POST', '/snapshots', demoV1Decision(SLOW_FN, applicant));
    await requestJson(t.url, 'PUT', `/functions/${SLOW_FN}/executor`, { type: 'http', url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/` });
  });

  afterAll(async () => {
    await t?.close();
    await new Promise<void>((resolve) => (slow ? slow.close(() => resolve()) : resolve()));
  });

  describe('batch run', () => {
    let passing: { code: number; stdout: string; stderr: string };
    let elapsedMs: number;

    beforeAll(async () => {
      const started = Date.now();
      passing = await cli(['batch', 'run', '--function', FN, '--last', '1d', '--max-concurrency', '3', '--poll-interval', '20', '--min-match-rate', '0.2', '--max-error-rate', '0'], { env });
      elapsedMs = Date.now() - started;
    });

    it('follows the batch to the end and prints it with its statistics and gates as JSON; exit 0 when the gates pass', () => {
      expect(passing.code, passing.stderr).toBe(0);
      const batch = JSON.parse(passing.stdout) as BatchRun;
      expect(batch).toMatchObject({ status: 'SUCCEEDED', total: 12, completed: 12 });
      expect(batch.stats).toMatchObject({ totalReplays: 12, failedReplays: 0 });
      expect(batch.stats?.matchRate).toBeGreaterThan(0.2);
      expect(batch.stats?.matchRate).toBeLessThan(1);
      expect(batch.gates.map((g) => [g.name, g.passed])).toEqual([
        ['status', true],
        ['min-match-rate', true],
        ['max-error-rate', true],
      ]);
    });

    it('prints plain progress lines to stderr off a terminal, at most one a second plus the last', () => {
      const lines = passing.stderr.trim().split('\n');
      expect(lines[0]).toMatch(/^batch [0-9A-Z]{26} started: 12 snapshots$/);
      const progress = lines.slice(1);
      expect(progress.length).toBeGreaterThanOrEqual(1);
      expect(progress.length).toBeLessThanOrEqual(Math.floor(elapsedMs / 1000) + 2);
      for (const line of progress) expect(line).toMatch(/^batch [0-9A-Z]{26} (RUNNING|SUCCEEDED) \d+\/12 {2}\d+\.\d\/s {2}ETA \S+ {2}match (\d+\.\d%|-)$/);
      expect(progress.at(-1)).toMatch(/SUCCEEDED 12\/12 .* ETA 0s/);
      expect(passing.stderr).not.toContain('\r');
    });

    it('exits 1 when the match rate is below --min-match-rate, and says which gate failed', async () => {
      const run = await cli(['batch', 'run', '--function', FN, '--min-match-rate', '100%', '--poll-interval', '20', '-o', 'table'], { env });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^min-match-rate\s+100\.0%\s+\d+\.\d%\s+FAIL$/m);
      expect(run.stdout).toMatch(/^status\s+SUCCEEDED$/m);
    });

    it('on a terminal draws a progress bar and prints the summary table with the top mismatching fields', async () => {
      const run = await cli(['batch', 'run', '--function', FN, '--poll-interval', '20'], { env, tty: true });
      expect(run.code).toBe(0);
      // Each redraw: carriage return, the bar, the facts, then "erase to end of line" (ESC [ K).
      expect(run.stderr).toMatch(/\r\[#+-*\] \d+\/12 {2}\d+\.\d\/s {2}ETA \S+ {2}match \S+ {2}(RUNNING|SUCCEEDED)/);
      expect(run.stderr).toContain(`SUCCEEDED${String.fromCharCode(27)}[K`);
      expect(run.stderr.endsWith('\n')).toBe(true);
      expect(run.stdout).toMatch(/^match rate\s+\d+\.\d%$/m);
      expect(run.stdout).toMatch(/^p50 \/ p95 \/ p99 ms\s+\S+ \/ \S+ \/ \S+$/m);
      expect(run.stdout).toContain('top mismatching fields:');
      expect(run.stdout).toMatch(/^outputs\.\S+\s+\d+$/m);
    });

    it('replays the ids of a file with --ids, and --quiet prints only the batch id', async () => {
      const file = join(dir, 'ids.txt');
      writeFileSync(file, ids.slice(0, 3).join('\n'));
      const run = await cli(['batch', 'run', '--ids', file, '--mode', 'Strict', '--quiet', '--poll-interval', '20'], { env });
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(/^[0-9A-Z]{26}\n$/);
      const got = await cli(['batch', 'get', run.stdout.trim()], { env });
      expect(JSON.parse(got.stdout)).toMatchObject({ status: 'SUCCEEDED', total: 3, request: { mode: 'Strict' } });
    });

    it('replays the ids of a CSV with --ids-file (sent in the body), and exits 2 naming the line of a bad one, starting nothing', async () => {
      const file = join(dir, 'ids.csv');
      writeFileSync(file, `snapshotId,note\n${ids.slice(0, 2).map((id) => `${id},x`).join('\n')}\n`);
      const run = await cli(['batch', 'run', '--ids-file', file, '--poll-interval', '20'], { env });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr.split('\n')[0]).toMatch(/^batch [0-9A-Z]{26} started: 2 snapshots$/);
      expect(JSON.parse(run.stdout)).toMatchObject({ status: 'SUCCEEDED', total: 2 });
      expect(JSON.parse(run.stdout).request).not.toHaveProperty('snapshotManifest');

      const before = (await requestJson<{ items: Batch[] }>(t.url, 'GET', '/batches?limit=1000')).body.items.length;
      writeFileSync(file, `${ids[0]}\n${ids[1]}\n${ids[0]}\n`);
      const bad = await cli(['batch', 'run', '--ids-file', file], { env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`--ids-file '${file}' line 3: '${ids[0]}' is listed twice (first on line 1)`);
      expect((await requestJson<{ items: Batch[] }>(t.url, 'GET', '/batches?limit=1000')).body.items).toHaveLength(before);
    });

    it('refuses what the service would refuse with 400 before sending it: exit 2, no batch (--from after --to, --tolerance with Strict)', async () => {
      // Probe D17: `--from 05:00Z --to 04:00Z` went to the service (exit 3, INVALID_REQUEST).
      const before = (await requestJson<{ items: Batch[] }>(t.url, 'GET', '/batches?limit=1000')).body.items.length;
      const backwards = await cli(['batch', 'run', '--function', FN, '--from', '2026-12-02T05:00Z', '--to', '2026-12-02T04:00Z'], { env });
      expect(backwards.code, backwards.stderr).toBe(2);
      expect(backwards.stderr).toContain('invalid batch request: selector: from is after to');
      const strict = await cli(['batch', 'run', '--function', FN, '--mode', 'Strict', '--tolerance', '0.5'], { env });
      expect(strict.code, strict.stderr).toBe(2);
      expect(strict.stderr).toContain('tolerance applies to Tolerant mode only, not Strict');
      expect((await requestJson<{ items: Batch[] }>(t.url, 'GET', '/batches?limit=1000')).body.items).toHaveLength(before);
    });

    it('replays the ids of an object in S3 with --ids-manifest; a missing one is exit 3 with the service\'s 404', async () => {
      const s3 = new S3Client(localS3ClientConfig(t.host.s3Endpoint));
      await s3.send(new PutObjectCommand({ Bucket: t.host.manifestBucket, Key: 'uploads/cli-ids.txt', Body: ids.slice(0, 4).join('\n') }));
      s3.destroy();
      const run = await cli(['batch', 'run', '--ids-manifest', `s3://${t.host.manifestBucket}/uploads/cli-ids.txt`, '--poll-interval', '20'], { env });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ status: 'SUCCEEDED', total: 4, request: { snapshotManifest: `s3://${t.host.manifestBucket}/uploads/cli-ids.txt` } });

      const missing = await cli(['batch', 'run', '--ids-manifest', `s3://${t.host.manifestBucket}/uploads/none.txt`], { env });
      expect(missing.code).toBe(3);
      expect(missing.stderr).toContain('does not exist');
    });

    it('says the snapshots are being planned when the workflow plans the selection (no "null snapshots")', async () => {
      const run = await cli(['batch', 'run', '--function', FN, '--limit', '20000', '--poll-interval', '20'], { env });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr.split('\n')[0]).toMatch(/^batch [0-9A-Z]{26} started: its snapshots are being planned by the workflow \(the count follows\)$/);
      expect(run.stderr).not.toContain('null');
      expect(JSON.parse(run.stdout)).toMatchObject({ status: 'SUCCEEDED', total: 12 });
    });

    it('--no-wait returns the started batch at once', async () => {
      const run = await cli(['batch', 'run', '--function', FN, '--no-wait', '--model-version', 'v2'], { env });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ status: 'RUNNING', total: 12 });
    });

    it('exits 2 naming the flag for bad or conflicting flags, before starting anything', async () => {
      const cases: [string[], string][] = [
        [['--function', FN, '--ids', 'x'], 'give exactly one of --function, --ids-file and --ids-manifest'],
        [['--ids-file', 'x', '--ids-manifest', 's3://b/k'], 'give exactly one of --function, --ids-file and --ids-manifest'],
        [['--ids-manifest', 'https://b/k'], "--ids-manifest must be an s3://bucket/key URI, got 'https://b/k'"],
        [['--ids-manifest', 's3://b/k', '--last', '1d'], '--last, --from, --to and --limit select by function: not with --ids-manifest'],
        [['--function', FN, '--min-match-rate', '1.5'], "--min-match-rate must be a fraction from 0 to 1 (or a percentage such as 95%), got '1.5'"],
        [['--function', FN, '--last', 'a week'], "--last must be a duration such as 90m, 24h, 7d or 2w, got 'a week'"],
        [['--function', FN, '--max-concurrency', '0'], "--max-concurrency must be an integer from 1 to 1000, got '0'"],
        [['--function', FN, '--no-wait', '--max-error-rate', '0.1'], '--no-wait cannot apply --min-match-rate or --max-error-rate'],
        [['--function', FN, '--last', '1d', '--from', '2026-01-01'], 'give --last or --from/--to, not both'],
      ];
      const before = (await requestJson<{ items: Batch[] }>(t.url, 'GET', '/batches?limit=1000')).body.items.length;
      for (const [flags, message] of cases) {
        const run = await cli(['batch', 'run', ...flags], { env });
        expect(run.code, flags.join(' ')).toBe(2);
        expect(run.stderr).toContain(message);
      }
      expect((await requestJson<{ items: Batch[] }>(t.url, 'GET', '/batches?limit=1000')).body.items).toHaveLength(before);
    });
  });

  describe('batch list and GET /batches', () => {
    it('lists batches newest first, filtered by function and status, in pages', async () => {
      const all = await requestJson<{ items: Batch[]; nextCursor?: string }>(t.url, 'GET', '/batches');
      expect(all.status).toBe(200);
      const created = all.body.items.map((b) => b.createdAt);
      expect(created).toEqual([...created].sort().reverse());
      const page = await cli(['batch', 'list', '--function', FN, '--status', 'SUCCEEDED', '--limit', '2'], { env });
      const first = JSON.parse(page.stdout) as { items: Batch[]; nextCursor?: string };
      expect(first.items).toHaveLength(2);
      expect(first.items.every((b) => b.status === 'SUCCEEDED' && b.request.selector?.functionName === FN)).toBe(true);
      const next = await cli(['batch', 'list', '--function', FN, '--status', 'SUCCEEDED', '--limit', '2', '--cursor', first.nextCursor as string], { env });
      const second = JSON.parse(next.stdout) as { items: Batch[] };
      expect(second.items.length).toBeGreaterThan(0);
      expect(second.items.map((b) => b.batchId)).not.toContain(first.items[0]?.batchId);
      const table = await cli(['batch', 'list', '--function', FN, '-o', 'table'], { env });
      expect(table.stdout).toMatch(/^batchId\s+status\s+trigger\s+total\s+completed\s+match rate\s+createdAt$/m);
      expect(table.stdout).toMatch(new RegExp(`^${first.items[0]?.batchId ?? '-'}\\s+SUCCEEDED\\s+api\\s`, 'm'));
      // No schedule ran here: its filter lists nothing (the scheduled runs are listed in triggers.e2e).
      const scheduled = await cli(['batch', 'list', '--schedule', 'nightly-loans'], { env });
      expect(JSON.parse(scheduled.stdout)).toEqual({ items: [] });
    });

    it('refuses an unknown status or function name with 400, and exit 2 from the CLI', async () => {
      const res = await requestJson<{ error: { code: string; message: string } }>(t.url, 'GET', '/batches?status=DONE');
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain('status must be one of RUNNING, SUCCEEDED, FAILED, CANCELLED');
      expect((await requestJson(t.url, 'GET', '/batches?functionName=bad%20name')).status).toBe(400);
      const run = await cli(['batch', 'list', '--status', 'DONE'], { env });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("--status must be one of RUNNING, SUCCEEDED, FAILED, CANCELLED, got 'DONE'");
      const schedule = await cli(['batch', 'list', '--schedule', 'nightly loans'], { env });
      expect(schedule.code).toBe(2);
      expect(schedule.stderr).toContain(`--schedule must be a schedule's name (letters, digits, "-" and "_" (max 64), starting with a letter or digit), got 'nightly loans'`);
    });
  });

  describe('batch cancel and POST /batches/{id}/cancel', () => {
    it('stops a running batch: CANCELLED with statistics over the results so far, which the workflow does not overwrite', async () => {
      const started = await cli(['batch', 'run', '--function', SLOW_FN, '--max-concurrency', '1', '--no-wait', '-q'], { env });
      const batchId = started.stdout.trim();
      // Wait until at least one result is in.
      for (let i = 0; i < 200; i++) {
        const b = await requestJson<Batch>(t.url, 'GET', `/batches/${batchId}`);
        // While it runs: the counts behind the match rate so far (the slow model answers as v1 did).
        expect(b.body.progress).toEqual({ completed: b.body.completed, successful: b.body.completed, matches: b.body.completed });
        if (b.body.completed >= 1) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const run = await cli(['batch', 'cancel', batchId], { env });
      expect(run.code, run.stderr).toBe(0);
      const cancelled = JSON.parse(run.stdout) as Batch;
      expect(cancelled.status).toBe('CANCELLED');
      expect(cancelled.completed).toBeGreaterThanOrEqual(1);
      expect(cancelled.completed).toBeLessThan(8);
      expect(cancelled.stats?.totalReplays).toBe(cancelled.completed);
      expect(cancelled.completedAt).toBeDefined();

      // Long after: no further item started, and the batch is still CANCELLED with the same stats.
      await new Promise((r) => setTimeout(r, 800));
      const later = await requestJson<Batch>(t.url, 'GET', `/batches/${batchId}`);
      expect(later.body).toMatchObject({ status: 'CANCELLED', completed: cancelled.completed, stats: cancelled.stats });
      const results = await requestJson<{ items: { createdAt: string }[] }>(t.url, 'GET', `/batches/${batchId}/results?limit=1000`);
      expect(results.body.items.length).toBeLessThanOrEqual(cancelled.completed + 1);
      // The README's rule tells the listed results apart: those created after completedAt are the
      // ones the statistics leave out (the item that was in flight, if any).
      const late = results.body.items.filter((r) => Date.parse(r.createdAt) > Date.parse(cancelled.completedAt ?? ''));
      expect(results.body.items.length - late.length).toBe(cancelled.completed);
      // The report shows the batch's own figures and says how many arrived after the cancel.
      const report = (await requestJson<string>(t.url, 'GET', `/batches/${batchId}/report`)).body;
      expect(report).not.toContain('no final statistics');
      expect(report).toContain(`Figures are the batch statistics as of its cancel at ${cancelled.completedAt ?? ''}: ${cancelled.completed} result`);
      expect(report).toContain(`data-testid="count-total">${cancelled.completed}<`);
      expect(report).toContain(late.length === 0 ? 'No result arrived after the cancel.' : 'data-testid="after-cancel-count">1 result</strong>');

      // Not running any more: 409, exit 3 from the CLI; `batch run` gates a CANCELLED batch as a failure.
      const again = await requestJson<{ error: { code: string } }>(t.url, 'POST', `/batches/${batchId}/cancel`);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('BATCH_NOT_RUNNING');
      const cliAgain = await cli(['batch', 'cancel', batchId], { env });
      expect(cliAgain.code).toBe(3);
      expect(cliAgain.stderr).toContain('BATCH_NOT_RUNNING (HTTP 409)');
      const listed = await cli(['batch', 'list', '--status', 'CANCELLED', '-q'], { env });
      expect(listed.stdout.split('\n')).toContain(batchId);
    });

    it('answers 409 for a finished batch and 404 for an unknown one', async () => {
      const finished = (await requestJson<{ items: Batch[] }>(t.url, 'GET', '/batches?status=SUCCEEDED&limit=1')).body.items[0] as Batch;
      const res = await requestJson<{ error: { code: string; message: string } }>(t.url, 'POST', `/batches/${finished.batchId}/cancel`);
      expect(res.status).toBe(409);
      expect(res.body.error.message).toContain('is SUCCEEDED: only a RUNNING batch can be cancelled');
      expect((await requestJson<Batch>(t.url, 'GET', `/batches/${finished.batchId}`)).body.status).toBe('SUCCEEDED');
      expect((await requestJson(t.url, 'POST', '/batches/01JZZZZZZZZZZZZZZZZZZZZZZZ/cancel')).status).toBe(404);
    });

    it('batch run exits 1 when the batch ends CANCELLED', async () => {
      const following = cli(['batch', 'run', '--function', SLOW_FN, '--max-concurrency', '1', '--poll-interval', '20'], { env });
      let batchId: string | undefined;
      for (let i = 0; i < 200 && batchId === undefined; i++) {
        await new Promise((r) => setTimeout(r, 25));
        batchId = (await requestJson<{ items: Batch[] }>(t.url, 'GET', '/batches?status=RUNNING')).body.items.find((b) => b.request.selector?.functionName === SLOW_FN)?.batchId;
      }
      expect(batchId).toBeDefined();
      expect((await requestJson(t.url, 'POST', `/batches/${batchId as string}/cancel`)).status).toBe(200);
      const run = await following;
      expect(run.code).toBe(1);
      expect((JSON.parse(run.stdout) as BatchRun).gates).toEqual([{ name: 'status', actual: 'CANCELLED', passed: false }]);
    });
  });
});
