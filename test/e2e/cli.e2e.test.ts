/**
 * The `decision-replay` CLI against the in-memory local host: every snapshot, validation, replay,
 * policy and executor command, its output modes (JSON off a terminal, tables on one, --quiet) and
 * its exit codes (0 ok, 1 gated failure, 2 usage error naming the flag, 3 service/network error).
 * Most runs call the CLI's `main` in-process; a few run the real bin as a process.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayResult } from '../../functions/core/replay.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import type { SnapshotDiff } from '../../functions/core/diff.js';
import type { StoredPolicy } from '../../functions/core/policy.js';
import type { ValidationReport } from '../../functions/core/validation.js';
import { cli, cliProcess, unreachableUrl } from '../support/cli.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { tempDir } from '../support/temp-dirs.js';

const FN = 'cli_approve_loan';

describe('decision-replay CLI (local host)', () => {
  let t: TestHost;
  let dir: string;
  let env: Record<string, string>;
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const json = <T>(run: { stdout: string }) => JSON.parse(run.stdout) as T;

  beforeAll(async () => {
    t = await startTestHost();
    dir = tempDir('cli-e2e-');
    env = { DECISION_REPLAY_URL: t.url };
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('record, get, list, diff', () => {
    let a: Snapshot;
    let b: Snapshot;

    beforeAll(async () => {
      const ra = await cli(['record', file('a.json', demoV1Decision(FN, { income: 52000, age: 41 }))], { env });
      expect(ra.code, ra.stderr).toBe(0);
      a = json<Snapshot>(ra);
      const rb = await cli(['record', '-'], { env, stdin: JSON.stringify(demoV1Decision(FN, { income: 52000, age: 41, debt: 30000 })) });
      expect(rb.code, rb.stderr).toBe(0);
      b = json<Snapshot>(rb);
    });

    it('records a decision from a file and from stdin, printing the stored snapshot as JSON off a terminal', () => {
      expect(a).toMatchObject({ functionName: FN, schemaVersion: 1 });
      expect(a.snapshotId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(b.inputs[0]?.value).toEqual({ income: 52000, age: 41, debt: 30000 });
    });

    it('returns the first snapshot when a record is retried with the same --idempotency-key', async () => {
      const path = file('idem.json', demoV1Decision(FN, { income: 1000, age: 30 }));
      const first = await cli(['record', path, '--idempotency-key', 'cli-idem-1'], { env });
      const second = await cli(['record', path, '--idempotency-key', 'cli-idem-1'], { env });
      expect([first.code, second.code]).toEqual([0, 0]);
      expect(json<Snapshot>(second).snapshotId).toBe(json<Snapshot>(first).snapshotId);
    });

    it('gets a snapshot as JSON, as a table on a terminal, and only its id with --quiet', async () => {
      const asJson = await cli(['get', a.snapshotId], { env });
      expect(json(asJson)).toEqual(a);
      const asTable = await cli(['get', a.snapshotId], { env, tty: true });
      expect(asTable.code).toBe(0);
      expect(asTable.stdout).toMatch(new RegExp(`^snapshotId\\s+${a.snapshotId}$`, 'm'));
      expect(asTable.stdout).toMatch(/^output\s+decision\s+approve$/m);
      const forced = await cli(['get', a.snapshotId, '--output', 'json'], { env, tty: true });
      expect(json(forced)).toEqual(a);
      const quiet = await cli(['get', a.snapshotId, '--quiet'], { env });
      expect(quiet.stdout).toBe(`${a.snapshotId}\n`);
    });

    it('lists a function’s snapshots, one page or --all pages', async () => {
      const page = await cli(['list', '--function', FN, '--limit', '1'], { env });
      const first = json<{ items: Snapshot[]; nextCursor?: string }>(page);
      expect(first.items).toHaveLength(1);
      expect(first.nextCursor).toBeDefined();
      const all = await cli(['list', '--function', FN, '--limit', '1', '--all'], { env });
      const ids = json<{ items: Snapshot[] }>(all).items.map((s) => s.snapshotId);
      expect(ids).toHaveLength(3);
      expect(ids).toEqual(expect.arrayContaining([a.snapshotId, b.snapshotId]));
      const next = await cli(['list', '--function', FN, '--limit', '1', '--cursor', first.nextCursor as string], { env });
      expect(json<{ items: Snapshot[] }>(next).items[0]?.snapshotId).not.toBe(first.items[0]?.snapshotId);
    });

    it('diffs two snapshots leaf by leaf', async () => {
      const run = await cli(['diff', a.snapshotId, b.snapshotId], { env });
      expect(run.code).toBe(0);
      const diff = json<SnapshotDiff>(run);
      expect(diff.inputsChanged).toBe(true);
      expect(diff.changes).toContainEqual(expect.objectContaining({ path: 'inputs.applicant.debt', changeType: 'Added', newValue: 30000 }));
      const table = await cli(['diff', a.snapshotId, b.snapshotId, '-o', 'table'], { env });
      expect(table.stdout).toMatch(/^inputs\.applicant\.debt\s+Added\s+-\s+30000$/m);
    });
  });

  describe('policies, validation and replay', () => {
    let snap: Snapshot;
    beforeAll(async () => {
      snap = json<Snapshot>(await cli(['record', file('v.json', demoV1Decision(FN, { income: 52000, age: 41, debt: 20000 }))], { env }));
    });

    it('stores a policy version and reads it back', async () => {
      const put = await cli(['policy', 'put', 'cli-score', file('p.json', { functionNames: [], rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] })], { env });
      expect(put.code, put.stderr).toBe(0);
      expect(json<StoredPolicy>(put)).toMatchObject({ name: 'cli-score', version: 1 });
      const again = await cli(['policy', 'put', 'cli-score', '-', '-q'], { env, stdin: JSON.stringify({ rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] }) });
      expect(again.stdout).toBe('cli-score v2\n');
      const get = await cli(['policy', 'get', 'cli-score'], { env });
      expect(json<StoredPolicy>(get).version).toBe(2);
      const list = await cli(['policy', 'list'], { env });
      expect(json<{ items: StoredPolicy[] }>(list).items.map((p) => p.name)).toContain('cli-score');
    });

    it('validates: exit 0 when passed, exit 1 when violated (stored or inline policy)', async () => {
      const passed = await cli(['validate', snap.snapshotId, '--policy', 'cli-score'], { env });
      expect(passed.code).toBe(0);
      expect(json<ValidationReport>(passed).status).toBe('passed');
      const violated = await cli(['validate', snap.snapshotId, '--policy-file', file('strict.json', { rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0.99, max: 1 }] })], { env });
      expect(violated.code).toBe(1);
      expect(json<ValidationReport>(violated).violations).toHaveLength(1);
    });

    it('registers an executor and replays: exit 0 when v1 replays on v1, exit 1 when v2 disagrees', async () => {
      const put = await cli(['executor', 'put', FN, file('e.json', { type: 'http', url: `${t.url}/demo/credit/v1` })], { env });
      expect(put.code, put.stderr).toBe(0);
      const get = await cli(['executor', 'get', FN], { env });
      expect(json<{ executor: { url: string } }>(get).executor.url).toBe(`${t.url}/demo/credit/v1`);
      const same = await cli(['replay', snap.snapshotId, '--mode', 'Strict'], { env });
      expect(same.code, same.stderr).toBe(0);
      expect(json<ReplayResult>(same).status).toBe('Success');
      await cli(['executor', 'put', FN, '-'], { env, stdin: JSON.stringify({ type: 'http', url: `${t.url}/demo/credit/v2` }) });
      const changed = await cli(['replay', snap.snapshotId, '--mode', 'Strict', '--policy', 'cli-score'], { env });
      expect(changed.code).toBe(1);
      const result = json<ReplayResult>(changed);
      expect(result.status).toBe('Failed');
      expect(result.policy?.name).toBe('cli-score');
      const quiet = await cli(['replay', snap.snapshotId, '--mode', 'Strict', '-q'], { env });
      expect(quiet).toEqual({ code: 1, stdout: 'Failed\n', stderr: '' });
    });

    it('sends --model-version as a counterfactual override', async () => {
      const run = await cli(['replay', snap.snapshotId, '--model-version', 'v9'], { env });
      expect(json<ReplayResult>(run).overrides).toEqual({ modelParameters: { modelVersion: 'v9' } });
    });
  });

  describe('exit codes', () => {
    it('exits 2 naming an unknown flag, a bad value, a missing argument or an unknown command', async () => {
      const unknownFlag = await cli(['list', '--function', FN, '--bogus'], { env });
      expect(unknownFlag.code).toBe(2);
      expect(unknownFlag.stderr).toContain("'--bogus'");
      const badLimit = await cli(['list', '--function', FN, '--limit', 'lots'], { env });
      expect(badLimit).toMatchObject({ code: 2, stdout: '' });
      expect(badLimit.stderr).toContain("--limit must be an integer from 1 to 1000, got 'lots'");
      const badMode = await cli(['replay', '01JZZZZZZZZZZZZZZZZZZZZZZZ', '--mode', 'Fuzzy'], { env });
      expect(badMode.stderr).toContain("--mode must be one of Strict, Tolerant, ValidationOnly, got 'Fuzzy'");
      expect(badMode.code).toBe(2);
      const missing = await cli(['get'], { env });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("'get' takes 1 argument (<snapshotId>), got 0");
      const unknown = await cli(['frobnicate'], { env });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("unknown command 'frobnicate'");
      const badOutput = await cli(['get', 'x', '--output', 'yaml'], { env });
      expect(badOutput.stderr).toContain("--output must be one of json, table, got 'yaml'");
      const noRequired = await cli(['list'], { env });
      expect(noRequired.stderr).toContain('--function is required');
      const neither = await cli(['validate', 'x'], { env });
      expect(neither.stderr).toContain('give exactly one of --policy and --policy-file');
    });

    it('exits 2 when the file is missing or not JSON, or the body fails the service’s schema before sending', async () => {
      const missing = await cli(['record', join(dir, 'nope.json')], { env });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('no such file');
      const notJson = await cli(['record', file('bad.json', '{nope')], { env });
      expect(notJson.code).toBe(2);
      expect(notJson.stderr).toContain('is not valid JSON');
      const invalid = await cli(['record', file('invalid.json', { functionName: FN, inputs: [], outputs: [] })], { env });
      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toContain('outputs: a decision needs at least one output');
    });

    it('exits 3 with the service’s code and message when the service refuses (404)', async () => {
      const run = await cli(['get', '01JZZZZZZZZZZZZZZZZZZZZZZZ'], { env });
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/NOT_FOUND \(HTTP 404\): snapshot '01JZZZZZZZZZZZZZZZZZZZZZZZ' does not exist/);
    });

    it('exits 3 when the service cannot be reached', async () => {
      const run = await cli(['get', '01JZZZZZZZZZZZZZZZZZZZZZZZ', '--endpoint', await unreachableUrl()], { env: {} });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('NETWORK_ERROR');
      expect(run.stderr).toContain('ECONNREFUSED');
    });

    it('--endpoint wins over DECISION_REPLAY_URL; an endpoint that is not a URL is a usage error', async () => {
      const run = await cli(['get', '01JZZZZZZZZZZZZZZZZZZZZZZZ', '--endpoint', t.url], { env: { DECISION_REPLAY_URL: await unreachableUrl() } });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('HTTP 404');
      const bad = await cli(['get', 'x', '--endpoint', 'not a url'], { env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--endpoint: invalid endpoint "not a url": expected an http:// or https:// URL with a host');
    });
  });

  describe('help', () => {
    it('prints help with the exit codes for the CLI, a group and every command, exit 0', async () => {
      const top = await cli(['--help']);
      expect(top.code).toBe(0);
      expect(top.stdout).toContain('Exit codes:');
      expect(top.stdout).toContain('batch run');
      const group = await cli(['batch', '--help']);
      expect(group.stdout).toContain('batch cancel <batchId>');
      for (const words of [['record'], ['get'], ['list'], ['diff'], ['validate'], ['replay'], ['policy', 'put'], ['policy', 'get'], ['executor', 'put'], ['executor', 'get'], ['batch', 'run'], ['batch', 'get'], ['batch', 'list'], ['batch', 'cancel']]) {
        const run = await cli([...words, '--help']);
        expect(run.code, words.join(' ')).toBe(0);
        expect(run.stdout, words.join(' ')).toContain(`Usage: decision-replay ${words.join(' ')}`);
        expect(run.stdout).toContain('--endpoint URL');
        expect(run.stdout).toContain('3  service or network error');
      }
    });

    it('a group without its subcommand is a usage error listing them', async () => {
      const run = await cli(['batch']);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("'batch' needs a subcommand: run, get, list, cancel");
    });
  });

  describe('the bin, as a process', () => {
    it('records and reads back through `decision-replay` with DECISION_REPLAY_URL, exit codes as documented', async () => {
      const rec = await cliProcess(['record', '-'], { env, stdin: JSON.stringify(demoV1Decision(FN, { income: 7000, age: 19 })) });
      expect(rec.code, rec.stderr).toBe(0);
      const snapshot = JSON.parse(rec.stdout) as Snapshot;
      const got = await cliProcess(['get', snapshot.snapshotId, '-q'], { env });
      expect(got).toEqual({ code: 0, stdout: `${snapshot.snapshotId}\n`, stderr: '' });
      expect((await cliProcess(['get', '01JZZZZZZZZZZZZZZZZZZZZZZZ'], { env })).code).toBe(3);
      expect((await cliProcess(['get'], { env })).code).toBe(2);
      expect((await cliProcess(['--help'])).code).toBe(0);
    });
  });
});
