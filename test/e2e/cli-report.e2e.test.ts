/**
 * `decision-replay report batch|diff|replay` against the in-memory local host: each writes the
 * HTML document the matching `GET …/report` route answers (`-o FILE`, or stdout), and maps the
 * service's errors and an unwritable file to the CLI's exit codes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../functions/core/batch.js';
import type { ReplayResult } from '../../functions/core/replay.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import { cli } from '../support/cli.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestJson, requestWithHeaders } from '../support/http.js';
import { withoutGenerationTime } from '../support/reports.js';
import { tempDir } from '../support/temp-dirs.js';

const FN = 'cli_report_loan';
const UNKNOWN = '01JZZZZZZZZZZZZZZZZZZZZZZZ';

describe('decision-replay report (local host)', () => {
  let t: TestHost;
  let dir: string;
  let env: Record<string, string>;
  let a: Snapshot;
  let b: Snapshot;
  let batchId: string;

  beforeAll(async () => {
    t = await startTestHost();
    dir = tempDir('cli-report-');
    env = { DECISION_REPLAY_URL: t.url };
    a = (await requestJson<Snapshot>(t.url, 'POST', '/snapshots', demoV1Decision(FN, { income: 52_000, age: 41 }))).body;
    b = (await requestJson<Snapshot>(t.url, 'POST', '/snapshots', demoV1Decision(FN, { income: 31_000, age: 23, debt: 12_000 }))).body;
    expect((await requestJson(t.url, 'PUT', `/functions/${FN}/executor`, { type: 'http', url: `${t.url}/demo/credit/v2` })).status).toBe(200);
    batchId = (await requestJson<{ batchId: string }>(t.url, 'POST', '/batches', { snapshotIds: [a.snapshotId, b.snapshotId] })).body.batchId;
    for (let i = 0; i < 300; i++) {
      if ((await requestJson<Batch>(t.url, 'GET', `/batches/${batchId}`)).body.status !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    await t?.close();
  });

  it('report batch <id> -o FILE writes the document GET /batches/{id}/report answers', async () => {
    const run = await cli(['report', 'batch', batchId, '-o', 'batch.html'], { env, cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const written = readFileSync(join(dir, 'batch.html'), 'utf8');
    // The size it tells is the file's, in bytes (the document is UTF-8), with thousands separators.
    expect(run.stderr).toBe(`wrote the report of batch ${batchId} to batch.html (${Buffer.byteLength(written).toLocaleString('en-US')} bytes)\n`);
    expect(Buffer.byteLength(written)).toBeGreaterThan(1000);
    const served = (await requestWithHeaders<string>(t.url, 'GET', `/batches/${batchId}/report`)).body;
    expect(withoutGenerationTime(written)).toBe(withoutGenerationTime(served));
    expect(written).toMatch(/^<!doctype html>/);
  });

  it('report diff <a> <b> writes the diff view; without -o it goes to stdout', async () => {
    const run = await cli(['report', 'diff', a.snapshotId, b.snapshotId, '-o', join(dir, 'diff.html')], { env });
    expect(run.code, run.stderr).toBe(0);
    const toStdout = await cli(['report', 'diff', a.snapshotId, b.snapshotId], { env });
    expect(toStdout.code).toBe(0);
    expect(withoutGenerationTime(toStdout.stdout)).toBe(withoutGenerationTime(readFileSync(join(dir, 'diff.html'), 'utf8')));
    expect(toStdout.stdout).toContain(`${a.snapshotId} → ${b.snapshotId}`);
  });

  it("report replay renders a snapshot's latest replay, or one replay with --snapshot", async () => {
    const replay = (await requestJson<ReplayResult>(t.url, 'POST', `/snapshots/${b.snapshotId}/replay`, {})).body;
    const latest = await cli(['report', 'replay', b.snapshotId, '-o', 'latest.html'], { env, cwd: dir });
    const one = await cli(['report', 'replay', replay.replayId, '--snapshot', b.snapshotId], { env });
    expect([latest.code, one.code]).toEqual([0, 0]);
    expect(withoutGenerationTime(readFileSync(join(dir, 'latest.html'), 'utf8'))).toBe(withoutGenerationTime(one.stdout));
    expect(one.stdout).toContain(`replay ${replay.replayId}`);
    // A replay id without --snapshot reads as an unknown snapshot: the message says what to add.
    const alone = await cli(['report', 'replay', replay.replayId], { env });
    expect(alone.code).toBe(3);
    expect(alone.stderr).toContain(`SNAPSHOT_NOT_FOUND (HTTP 404): snapshot '${replay.replayId}' does not exist; if ${replay.replayId} is a replay id, name its snapshot too: report replay ${replay.replayId} --snapshot <snapshotId>`);
  });

  it('exits 3 naming the service error, and 2 when the file cannot be written', async () => {
    const missing = await cli(['report', 'batch', UNKNOWN, '-o', 'x.html'], { env, cwd: dir });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`BATCH_NOT_FOUND (HTTP 404): batch '${UNKNOWN}' does not exist`);
    expect(existsSync(join(dir, 'x.html'))).toBe(false);
    const noReplay = await cli(['report', 'replay', UNKNOWN, '--snapshot', a.snapshotId], { env });
    expect(noReplay.code).toBe(3);
    expect(noReplay.stderr).toContain('REPLAY_NOT_FOUND');
    const unwritable = await cli(['report', 'batch', batchId, '-o', join(dir, 'no-such-dir', 'r.html')], { env });
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toMatch(/-o .*r\.html: cannot write the report/);
    const usage = await cli(['report', 'diff', a.snapshotId], { env });
    expect(usage.code).toBe(2);
  });

  it('keeps -o as the format flag of the other commands, and --help names -o FILE', async () => {
    const get = await cli(['get', a.snapshotId, '-o', 'json'], { env });
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ snapshotId: a.snapshotId });
    const help = await cli(['report', 'batch', '--help'], { env });
    expect(help.stdout).toContain('-o, --out FILE');
    expect(help.stdout).toMatch(/ {4}--output json\|table/);
  });
});
