/**
 * `decision-replay verify` and `export` against the local host, and `verify --bundle` offline: the
 * CLI re-reads digests, manifests and records through the API and runs the service's own
 * verification on them; the bundle it exports verifies with no service at all, and every edit of
 * the bundle an insider could try is named, with exit status 1.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoSnapshotStore } from '../../functions/adapters/dynamodb/snapshot-store.js';
import type { VerificationReport } from '../../functions/core/audit/verify.js';
import { canonicalJson } from '../../functions/core/json.js';
import { recordContentHash } from '../../functions/core/records.js';
import { buildSnapshot } from '../../functions/core/snapshot.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { cli, unreachableUrl } from '../support/cli.js';
import { requestJson, requestWithHeaders } from '../support/http.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { tempDir } from '../support/temp-dirs.js';
import { bundleJsonText, bundleReadme, type BundleManifest } from '../../client/src/audit/bundle.js';

const T0 = Date.parse('2026-11-30T10:00:10.000Z');
const MINUTE = 60_000;
const FN = 'cli_audit_loan';
const RANGE = ['--from', '2026-11-30T10:00:00Z', '--to', '2026-11-30T10:04:00Z'];

const decision = (score: number, functionName = FN) => ({ functionName, inputs: [{ name: 'applicant', value: { income: 52000 + score } }], outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: score }] });

type Shown = VerificationReport & { keyFingerprint: string; source: string };

describe('decision-replay verify / export / verify --bundle (local host)', () => {
  let t: TestHost;
  let db: DynamoDBClient;
  let env: Record<string, string>;
  let work: string;
  let bundle: string;
  const snapshotIds: string[] = [];

  /** A host on one-minute windows and a controlled clock: records at 10:00 and 10:03, windows 10:00–10:03 sealed. */
  beforeAll(async () => {
    const clock = { now: T0 };
    t = await startTestHost({ clock: { now: () => clock.now }, digestIntervalMinutes: 1 });
    db = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
    env = { DECISION_REPLAY_URL: t.url };
    work = tempDir('cli-audit-');
    for (const score of [0.5, 0.6, 0.7]) {
      clock.now += 1000;
      snapshotIds.push((await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(score))).body.snapshotId);
    }
    await requestJson(t.url, 'POST', '/snapshots', decision(0.4, 'other_fn'));
    expect((await requestJson(t.url, 'POST', `/snapshots/${snapshotIds[0]}/replay`, { mode: 'ValidationOnly' })).status).toBe(200);
    expect((await requestJson(t.url, 'POST', `/snapshots/${snapshotIds[0]}/validate`, { policy: { rules: [{ name: 'floor', field: 'outputs.score', comparator: 'WithinRange', min: 0.55, max: 1 }] } })).status).toBe(200);
    clock.now = T0 + 3 * MINUTE;
    snapshotIds.push((await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(0.9))).body.snapshotId);
    clock.now = T0 + 4 * MINUTE;
    await t.host.audit.timer.runNow();

    bundle = join(work, 'bundle');
    const exported = await cli(['export', '--function', FN, ...RANGE, '-o', bundle, '--output', 'json'], { env });
    expect(exported.code, exported.stderr).toBe(0);
  });

  afterAll(async () => {
    db?.destroy();
    await t?.close();
  });

  /** A fresh copy of the exported bundle to tamper with. */
  function copyOfBundle(name: string): string {
    const dir = join(work, name);
    cpSync(bundle, dir, { recursive: true });
    return dir;
  }

  /**
   * What an insider who edits a bundle does last: bundle.json (which is not signed) rewritten as an
   * export writes it, with every listed file's hash and the counts recomputed from the files as
   * they now are, then `edit`, and README.md written afresh for it.
   */
  function resealBundleJson(dir: string, edit: (manifest: BundleManifest) => void = () => {}): void {
    const manifest = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as BundleManifest;
    for (const file of Object.keys(manifest.files)) manifest.files[file] = createHash('sha256').update(readFileSync(join(dir, file))).digest('hex');
    const lines = (file: string) => readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l.trim() !== '').length;
    const c = { snapshots: lines('records/snapshots.jsonl'), replays: lines('records/replays.jsonl'), validations: lines('records/validations.jsonl'), batchResults: lines('records/batch-results.jsonl') };
    manifest.counts = { ...manifest.counts, ...c, records: c.snapshots + c.replays + c.validations + c.batchResults, policies: lines('records/policies.jsonl') };
    edit(manifest);
    writeFileSync(join(dir, 'bundle.json'), bundleJsonText(manifest));
    writeFileSync(join(dir, 'README.md'), bundleReadme(manifest));
  }

  async function verifyJson(args: string[], options: { env?: Record<string, string> } = {}): Promise<{ code: number; report: Shown; stderr: string }> {
    const run = await cli(['verify', ...args, '--output', 'json'], { env: options.env ?? env });
    return { code: run.code, report: JSON.parse(run.stdout === '' ? '{}' : run.stdout) as Shown, stderr: run.stderr };
  }

  it('verifies a clean range through the API with zero findings and its counts, exit 0', async () => {
    const { code, report } = await verifyJson(RANGE);

    expect(code).toBe(0);
    expect(report.clean).toBe(true);
    // 5 snapshots (one of another function), 1 replay result, 1 validation report.
    expect(report.counts).toEqual({ digests: 4, records: 7, late: 0, altered: 0, missing: 0, unexpected: 0, chainBreaks: 0, badSignatures: 0, indexMismatches: 0 });
    expect(report.source).toBe(t.url);
    expect(report.keyFingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it("verifies one function's records with --function, and prints a table that says CLEAN", async () => {
    const run = await cli(['verify', ...RANGE, '--function', FN, '--output', 'table'], { env });

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/records\s+6\n/);
    expect(run.stdout).toContain('CLEAN: no findings');
  });

  it('says NOTHING VERIFIED and exits 4 (not 0, not 1) for a range in which no window is sealed', async () => {
    // Before, the report {clean: true, sealed: null, counts all 0} printed CLEAN and exited 0: a CI gate passed vacuously.
    const before = ['--from', '2026-11-29T00:00:00Z', '--to', '2026-11-29T01:00:00Z'];
    const table = await cli(['verify', ...before, '--output', 'table'], { env });
    expect(table.code, table.stderr).toBe(4);
    expect(table.stdout).not.toContain('CLEAN');
    expect(table.stdout).toContain('NOTHING VERIFIED: no digest window in 2026-11-29T00:00:00.000Z – 2026-11-29T01:00:00.000Z is sealed, so no record was checked');
    const { code, report, stderr } = await verifyJson([...before, '--function', FN]);
    expect(code).toBe(4);
    expect(report).toMatchObject({ clean: true, sealed: null, counts: { digests: 0, records: 0 } }); // the API's shape, unchanged
    expect(stderr).toContain(`NOTHING VERIFIED: no digest window in 2026-11-29T00:00:00.000Z – 2026-11-29T01:00:00.000Z (function ${FN}) is sealed`);
    const quiet = await cli(['verify', ...before, '-q'], { env });
    expect(quiet).toMatchObject({ code: 4, stdout: 'nothing verified\n' });
  });

  it('says PARTLY VERIFIED and exits 5 (not 0) when the end of the range is not sealed yet, naming that part', async () => {
    // The CLI's "now" (its Date) just after the host sealed 10:00–10:04: 10:04 onwards is open.
    vi.useFakeTimers({ toFake: ['Date'], now: T0 + 4 * MINUTE + 10_000 });
    try {
      const partial = ['--from', '2026-11-30T10:00:00Z', '--to', '2026-11-30T10:10:00Z'];
      const table = await cli(['verify', ...partial, '--output', 'table'], { env });
      expect(table.code, table.stdout + table.stderr).toBe(5);
      expect(table.stdout).not.toContain('CLEAN');
      expect(table.stdout).toMatch(/not sealed yet\s+2026-11-30T10:04:00.000Z – 2026-11-30T10:10:00.000Z \(not verified\)/);
      expect(table.stdout).toContain('PARTLY VERIFIED: no findings in the sealed part 2026-11-30T10:00:00.000Z – 2026-11-30T10:04:00.000Z; 2026-11-30T10:04:00.000Z – 2026-11-30T10:10:00.000Z is not sealed yet');
      const { code, report, stderr } = await verifyJson(partial);
      expect(code).toBe(5);
      expect(report).toMatchObject({ clean: true, sealed: { to: '2026-11-30T10:04:00.000Z' }, unsealed: { from: '2026-11-30T10:04:00.000Z', to: '2026-11-30T10:10:00.000Z' } });
      expect(stderr).toContain('PARTLY VERIFIED');
      expect(await cli(['verify', ...partial, '-q'], { env })).toMatchObject({ code: 5, stdout: 'partly verified\n' });
      // The same range through the API says the same.
      const served = await requestJson<VerificationReport>(t.url, 'GET', '/audit/verify?from=2026-11-30T10:00:00Z&to=2026-11-30T10:10:00Z');
      expect(served.body.unsealed).toEqual({ from: '2026-11-30T10:04:00.000Z', to: '2026-11-30T10:10:00.000Z' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('exports a bundle whose end was not sealed yet: verify --bundle says PARTLY VERIFIED (exit 5), not unexpected records', async () => {
    // A decision of 10:04:10 (the host's clock); window 10:04 closed at 10:05 and is not sealed yet.
    const late = (await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(0.8, 'partial_fn'))).body.snapshotId;
    vi.useFakeTimers({ toFake: ['Date'], now: T0 + 5 * MINUTE + 30_000 });
    try {
      const dir = join(work, 'partial');
      const exported = await cli(['export', '--function', 'partial_fn', '--from', '2026-11-30T10:00:00Z', '--to', '2026-11-30T10:06:00Z', '-o', dir, '--output', 'json'], { env });
      expect(exported.code, exported.stderr).toBe(0);
      expect(readFileSync(join(dir, 'records', 'snapshots.jsonl'), 'utf8')).toContain(late);
      const { code, report } = await verifyJson(['--bundle', dir], { env: { DECISION_REPLAY_URL: await unreachableUrl() } });
      expect(code).toBe(5);
      expect(report).toMatchObject({ clean: true, unexpected: [], unsealed: { from: '2026-11-30T10:04:00.000Z', to: '2026-11-30T10:06:00.000Z' } });
    } finally {
      vi.useRealTimers();
    }
  });

  it('serves a sealed manifest whole (Accept-Ranges) and in byte ranges (206, Content-Range), as the CLI reads it', async () => {
    const path = '/audit/manifests/2026-11-30T10:00:00.000Z';
    const whole = await requestWithHeaders(t.url, 'GET', path);
    const size = Buffer.byteLength(whole.text);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(size).toBeGreaterThan(20);
    const part = await requestWithHeaders(t.url, 'GET', path, undefined, { range: 'bytes=10-19' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${size}`);
    expect(part.text).toBe(whole.text.slice(10, 20));
    const past = await requestWithHeaders(t.url, 'GET', path, undefined, { range: `bytes=${size}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${size}`);
  });

  it('answers the same verdict as GET /audit/verify', async () => {
    const { report } = await verifyJson(RANGE);
    const served = await requestJson<VerificationReport>(t.url, 'GET', '/audit/verify?from=2026-11-30T10:00:00Z&to=2026-11-30T10:04:00Z');
    const { keyFingerprint: _k, source: _s, ...own } = report;
    expect(own).toEqual(served.body);
  });

  it('exits 2 naming a missing or bad flag, and 3 when the service cannot be reached', async () => {
    const missing = await cli(['verify', '--from', '2026-11-30T10:00:00Z'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--to is required');
    const reversed = await cli(['verify', '--from', '2026-11-30T11:00:00Z', '--to', '2026-11-30T10:00:00Z'], { env });
    expect(reversed.code).toBe(2);
    const badKey = await cli(['verify', ...RANGE, '--public-key', join(work, 'nope.pem')], { env });
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('--public-key');
    const notBundle = await cli(['verify', '--bundle', work], { env });
    expect(notBundle.code).toBe(2);
    expect(notBundle.stderr).toContain('bundle.json');
    const down = await cli(['verify', ...RANGE], { env: { DECISION_REPLAY_URL: await unreachableUrl() } });
    expect(down.code).toBe(3);
  });

  it('refuses to export into a directory that is not empty (exit 2), and needs --function', async () => {
    const again = await cli(['export', '--function', FN, ...RANGE, '-o', bundle], { env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('not empty');
    const noFunction = await cli(['export', ...RANGE, '-o', join(work, 'x')], { env });
    expect(noFunction.code).toBe(2);
    expect(noFunction.stderr).toContain('--function is required');
  });

  it('exports a self-contained bundle: records per kind, digests with signatures, manifests, the key, bundle.json and a README', () => {
    const manifest = JSON.parse(readFileSync(join(bundle, 'bundle.json'), 'utf8')) as { counts: Record<string, number>; functionName: string; files: Record<string, string> };
    expect(manifest.functionName).toBe(FN);
    expect(manifest.counts).toMatchObject({ records: 6, snapshots: 4, replays: 1, validations: 1, batchResults: 0 });
    expect(readFileSync(join(bundle, 'records/snapshots.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
    expect(readdirSync(join(bundle, 'digests')).filter((f) => f.endsWith('.json')).length).toBeGreaterThanOrEqual(4);
    expect(readFileSync(join(bundle, 'README.md'), 'utf8')).toContain('verify --bundle');
    // One digest verifies with openssl alone, as the bundle's README says.
    const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', 'public-key.pem', '-signature', 'digests/2026-11-30T10:00:00.000Z.sig', 'digests/2026-11-30T10:00:00.000Z.json'], { cwd: bundle }).toString();
    expect(out.trim()).toBe('Verified OK');
  });

  it('verifies the bundle offline, with no service running, with zero findings, exit 0', async () => {
    const { code, report } = await verifyJson(['--bundle', bundle], { env: { DECISION_REPLAY_URL: await unreachableUrl() } });

    expect(code).toBe(0);
    expect(report.clean).toBe(true);
    expect(report.counts).toMatchObject({ digests: 4, records: 6, altered: 0, missing: 0, unexpected: 0, chainBreaks: 0, badSignatures: 0 });
  });

  it('names a record altered in the bundle (content and contentHash both rewritten): altered, exit 1', async () => {
    const dir = copyOfBundle('altered');
    const file = join(dir, 'records/snapshots.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const record = JSON.parse(lines[1] as string) as Record<string, unknown> & { outputs: Array<{ name: string; value: unknown }> };
    record.outputs = record.outputs.map((o) => (o.name === 'decision' ? { ...o, value: 'reject' } : o));
    record.contentHash = recordContentHash(record);
    lines[1] = canonicalJson(record);
    writeFileSync(file, `${lines.join('\n')}\n`);

    const { code, report } = await verifyJson(['--bundle', dir]);

    expect(code).toBe(1);
    expect(report.altered).toEqual(expect.arrayContaining([expect.objectContaining({ id: record.snapshotId, kind: 'snapshot', reason: expect.stringContaining('both rewritten') })]));
    expect(report.altered).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'records/snapshots.jsonl', kind: 'bundle-file' })]));
  });

  it('names a record dropped from the bundle: missing, exit 1', async () => {
    const dir = copyOfBundle('dropped');
    const file = join(dir, 'records/snapshots.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const dropped = JSON.parse(lines[0] as string) as { snapshotId: string };
    writeFileSync(file, `${lines.slice(1).join('\n')}\n`);

    const { code, report } = await verifyJson(['--bundle', dir]);

    expect(code).toBe(1);
    expect(report.missing).toEqual([expect.objectContaining({ id: dropped.snapshotId, kind: 'snapshot', reason: expect.stringContaining('deleted') })]);
  });

  it('names a record inserted into the bundle: unexpected, exit 1', async () => {
    const dir = copyOfBundle('inserted');
    const forged = buildSnapshot(decision(0.99), '01KB0000000000000000000009', '2026-11-30T10:01:30.000Z');
    writeFileSync(join(dir, 'records/snapshots.jsonl'), `${readFileSync(join(dir, 'records/snapshots.jsonl'), 'utf8')}${canonicalJson(forged)}\n`);

    const { code, report } = await verifyJson(['--bundle', dir]);

    expect(code).toBe(1);
    expect(report.unexpected).toEqual([expect.objectContaining({ id: forged.snapshotId, kind: 'snapshot' })]);
  });

  it('names a file an export never writes even when bundle.json lists it with its right hash (was CLEAN): altered, exit 1', async () => {
    const dir = copyOfBundle('stray');
    // A forged record file beside the real one, and a note an auditor might take as evidence: an
    // insider adds both and lists them in bundle.json (which is not signed) with their hashes.
    const lines = readFileSync(join(dir, 'records/snapshots.jsonl'), 'utf8').trim().split('\n');
    const forged = JSON.parse(lines[0] as string) as Record<string, unknown> & { outputs: Array<{ name: string; value: unknown }> };
    forged.outputs = forged.outputs.map((o) => (o.name === 'decision' ? { ...o, value: 'decline' } : o));
    forged.contentHash = recordContentHash(forged);
    const strays = { 'records/snapshots-corrected.jsonl': `${canonicalJson(forged)}\n`, 'approval.txt': 'All decisions in this bundle were reviewed and approved.\n', 'digests/2026-11-30T10:00:00.000Z.json.bak': '{}' };
    for (const [name, text] of Object.entries(strays)) writeFileSync(join(dir, name), text);
    resealBundleJson(dir, (manifest) => {
      for (const [name, text] of Object.entries(strays)) manifest.files[name] = createHash('sha256').update(text).digest('hex');
    });

    const { code, report } = await verifyJson(['--bundle', dir]);

    expect(code).toBe(1);
    expect(report.clean).toBe(false);
    for (const name of Object.keys(strays)) {
      expect(report.altered).toEqual(expect.arrayContaining([{ id: name, kind: 'bundle-file', reason: expect.stringContaining('not a file an export writes') }]));
    }
    // Only the strays: every file the export wrote is still as it was.
    expect(report.altered).toHaveLength(3);
  });

  it('names bytes an export never writes although no value changed, with bundle.json resealed to match (each was CLEAN)', async () => {
    const dir = copyOfBundle('re-encoded');
    const text = (file: string) => readFileSync(join(dir, file), 'utf8');
    const snapshots = text('records/snapshots.jsonl').trim().split('\n');
    // Line 2 re-encoded with its keys in another order and spaces, the same values.
    const second = JSON.parse(snapshots[1] as string) as Record<string, unknown>;
    snapshots[1] = JSON.stringify(Object.fromEntries(Object.entries(second).reverse())).replaceAll('","', '", "');
    // Windows line endings throughout, as an editor on another system saves a file.
    writeFileSync(join(dir, 'records/snapshots.jsonl'), `${snapshots.join('\r\n')}\r\n`);
    // A byte-order mark before the one validation report, and no final line feed after it.
    writeFileSync(join(dir, 'records/validations.jsonl'), `\ufeff${text('records/validations.jsonl').trimEnd()}`);
    // A blank line after the one replay result.
    writeFileSync(join(dir, 'records/replays.jsonl'), `${text('records/replays.jsonl')}\n`);
    // The key re-wrapped at 76 characters (the same key, the same fingerprint).
    const pem = text('public-key.pem');
    const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');
    writeFileSync(join(dir, 'public-key.pem'), `-----BEGIN PUBLIC KEY-----\n${(body.match(/.{1,76}/g) ?? []).join('\n')}\n-----END PUBLIC KEY-----\n`);
    resealBundleJson(dir);

    const { code, report } = await verifyJson(['--bundle', dir], { env: { DECISION_REPLAY_URL: await unreachableUrl() } });

    expect(code).toBe(1);
    const named = report.altered.map((f) => `${f.id} ${f.reason}`);
    for (const line of [1, 2, 3, 4]) expect(named).toContainEqual(expect.stringMatching(new RegExp(`^records/snapshots.jsonl:${line} line ${line} of records/snapshots.jsonl (ends in a carriage return|is not written as the canonical JSON)`)));
    expect(named).toContainEqual(expect.stringContaining('records/validations.jsonl:1 line 1 of records/validations.jsonl does not end in a line feed'));
    expect(named).toContainEqual(expect.stringContaining('records/replays.jsonl:2 line 2 of records/replays.jsonl is blank'));
    expect(named).toContainEqual(expect.stringContaining('public-key.pem not written as an export writes the key'));
    // The BOM makes the validation line something other than a record: named, and its record missing.
    expect(named).toContainEqual(expect.stringContaining('records/validations.jsonl:1 line 1 of records/validations.jsonl is not a validation record'));
    // No value changed: every snapshot still verifies against its seal, and nothing is unexpected.
    expect(report.altered.filter((f) => f.kind !== 'bundle-file')).toEqual([]);
    expect(report.unexpected).toEqual([]);
    // The resealed bundle.json says so, and the README written for it is the export's text.
    expect(report.altered.filter((f) => f.id === 'README.md')).toEqual([]);
  });

  it("names an edit of the bundle's README.md, which bundle.json does not list (was CLEAN), and one of bundle.json that changes no value", async () => {
    const readmeEdited = copyOfBundle('readme-edited');
    const readme = readFileSync(join(readmeEdited, 'README.md'), 'utf8');
    const lie = readme.replace('Get the key you trust from the operator, not from this bundle (it is here for convenience)', 'The key in this bundle is the one to trust');
    expect(lie).not.toBe(readme);
    writeFileSync(join(readmeEdited, 'README.md'), lie);
    const reformatted = copyOfBundle('bundle-json-reformatted');
    writeFileSync(join(reformatted, 'bundle.json'), JSON.stringify(JSON.parse(readFileSync(join(reformatted, 'bundle.json'), 'utf8')), null, 4));
    const recounted = copyOfBundle('bundle-json-recounted');
    resealBundleJson(recounted, (m) => (m.counts = { ...m.counts, snapshots: 3, records: 5 }));
    const noReadme = copyOfBundle('readme-removed');
    rmSync(join(noReadme, 'README.md'));

    const offline = { env: { DECISION_REPLAY_URL: await unreachableUrl() } };
    const [a, b, c, d] = await Promise.all([readmeEdited, reformatted, recounted, noReadme].map((dir) => verifyJson(['--bundle', dir], offline)));

    expect(a?.code).toBe(1);
    expect(a?.report.altered).toEqual([{ id: 'README.md', kind: 'bundle-file', reason: expect.stringContaining('README.md was edited after the export') }]);
    expect(b?.code).toBe(1);
    expect(b?.report.altered).toEqual([{ id: 'bundle.json', kind: 'bundle-file', reason: expect.stringContaining('bundle.json was edited after the export') }]);
    expect(c?.code).toBe(1);
    expect(c?.report.altered).toEqual([{ id: 'bundle.json', kind: 'bundle-file', reason: expect.stringContaining('its counts are not what the bundle holds: records 5 (the bundle holds 6), snapshots 3 (the bundle holds 4)') }]);
    expect(d?.code).toBe(1);
    expect(d?.report.altered).toEqual([{ id: 'README.md', kind: 'bundle-file', reason: expect.stringContaining('missing from the bundle') }]);
  });

  it('names an index-problems line re-encoded or not an index problem', async () => {
    const dir = copyOfBundle('index-problems-edited');
    writeFileSync(join(dir, 'records/index-problems.jsonl'), `${JSON.stringify({ problems: ['made up'], kind: 'snapshot', id: snapshotIds[0] })}\n{"kind":"snapshot"}\n`);
    resealBundleJson(dir);

    const { code, report } = await verifyJson(['--bundle', dir], { env: { DECISION_REPLAY_URL: await unreachableUrl() } });

    expect(code).toBe(1);
    expect(report.altered.map((f) => f.id)).toEqual(expect.arrayContaining(['records/index-problems.jsonl:1', 'records/index-problems.jsonl:2']));
    expect(report.altered.find((f) => f.id === 'records/index-problems.jsonl:1')?.reason).toContain('is not written as canonical JSON');
    expect(report.altered.find((f) => f.id === 'records/index-problems.jsonl:2')?.reason).toContain('is not an index problem');
  });

  /**
   * A second copy of a sealed snapshot in records/snapshots.jsonl, forged (score rewritten, hash
   * recomputed) or exact, with bundle.json's hash of the file updated (bundle.json is not signed).
   */
  function bundleWithSecondCopy(name: string, where: 'after' | 'before', forged: boolean): { dir: string; id: string; lines: [number, number] } {
    const dir = copyOfBundle(name);
    const file = join(dir, 'records/snapshots.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const copy = JSON.parse(lines[1] as string) as Record<string, unknown> & { snapshotId: string; outputs: Array<{ name: string; value: unknown }> };
    if (forged) {
      copy.outputs = copy.outputs.map((o) => (o.name === 'score' ? { ...o, value: 0.99 } : o));
      copy.contentHash = recordContentHash(copy);
    }
    const all = where === 'after' ? [...lines, canonicalJson(copy)] : [canonicalJson(copy), ...lines];
    const text = `${all.join('\n')}\n`;
    writeFileSync(file, text);
    const manifest = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as { files: Record<string, string> };
    manifest.files['records/snapshots.jsonl'] = createHash('sha256').update(text).digest('hex');
    writeFileSync(join(dir, 'bundle.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    return { dir, id: copy.snapshotId, lines: where === 'after' ? [2, all.length] : [1, 3] };
  }

  it('names a forged second copy of a sealed record in the bundle, whichever line comes first: altered "listed twice", exit 1 (probe D2)', async () => {
    for (const where of ['after', 'before'] as const) {
      const { dir, id, lines } = bundleWithSecondCopy(`twice-${where}`, where, true);

      const { code, report } = await verifyJson(['--bundle', dir], { env: { DECISION_REPLAY_URL: await unreachableUrl() } });

      expect(code, where).toBe(1);
      expect(report.clean).toBe(false);
      expect(report.altered, where).toEqual(
        expect.arrayContaining([expect.objectContaining({ id, kind: 'snapshot', reason: expect.stringContaining(`listed twice in the bundle: lines ${lines[0]} and ${lines[1]} of records/snapshots.jsonl`) })]),
      );
      expect(report.late).toEqual([]);
      expect(JSON.stringify(report)).not.toContain('a digest still to be written');
    }
  });

  it('names an exact duplicate line too, and never says of a bundle that "a digest still to be written" seals a record', async () => {
    const { dir, id } = bundleWithSecondCopy('twice-exact', 'after', false);
    const table = await cli(['verify', '--bundle', dir, '--output', 'table'], { env: { DECISION_REPLAY_URL: await unreachableUrl() } });
    expect(table.code).toBe(1);
    expect(table.stdout).toContain(id);
    expect(table.stdout).toContain('listed twice in the bundle');
    expect(table.stdout).not.toContain('a digest still to be written');
    expect(table.stdout).toContain('NOT CLEAN: 1 finding (altered 1');
  });

  it('names a record in the bundle that no digest of the bundle names, however recent: unexpected with a reason true of a bundle', async () => {
    const dir = copyOfBundle('unsealed-recent');
    const manifest = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as { files: Record<string, string>; exportedAt: string };
    // bundle.json is not signed: an export time just after the range makes a service-side
    // verification think a late record there still awaits its digest.
    manifest.exportedAt = '2026-11-30T10:04:06.000Z';
    // Created in the last sealed window, where a record written late would still await its seal.
    const forged = buildSnapshot(decision(0.98), '01KB000000000000000000000A', '2026-11-30T10:03:40.000Z');
    const text = `${readFileSync(join(dir, 'records/snapshots.jsonl'), 'utf8')}${canonicalJson(forged)}\n`;
    writeFileSync(join(dir, 'records/snapshots.jsonl'), text);
    manifest.files['records/snapshots.jsonl'] = createHash('sha256').update(text).digest('hex');
    writeFileSync(join(dir, 'bundle.json'), `${JSON.stringify(manifest, null, 2)}\n`);

    const { code, report } = await verifyJson(['--bundle', dir]);

    expect(code).toBe(1);
    expect(report.late).toEqual([]);
    expect(report.unexpected).toEqual([expect.objectContaining({ id: forged.snapshotId, reason: expect.stringContaining('no digest of the bundle names it') })]);
  });

  /**
   * bundle.json is not signed. An insider who edits a record (hash recomputed) and then bundle.json
   * itself — the file hashes, and the function, export time or window length, so that the edited
   * record falls outside what is checked — must still be named, never CLEAN or NOTHING VERIFIED.
   */
  function bundleWithEditedRecordAnd(name: string, edit: (manifest: BundleManifest) => void): { dir: string; id: string } {
    const dir = copyOfBundle(name);
    const file = join(dir, 'records/snapshots.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const record = JSON.parse(lines[0] as string) as Record<string, unknown> & { snapshotId: string; outputs: Array<{ name: string; value: unknown }> };
    record.outputs = record.outputs.map((o) => (o.name === 'score' ? { ...o, value: 0.99 } : o));
    record.contentHash = recordContentHash(record);
    lines[0] = canonicalJson(record);
    writeFileSync(file, `${lines.join('\n')}\n`);
    resealBundleJson(dir, edit);
    return { dir, id: record.snapshotId };
  }

  it("names the function's records when bundle.json's function is changed to pass over an edited one (was CLEAN)", async () => {
    const { dir, id } = bundleWithEditedRecordAnd('function-renamed', (m) => (m.functionName = 'other_fn'));

    const { code, report } = await verifyJson(['--bundle', dir]);

    expect(code).toBe(1);
    expect(report.clean).toBe(false);
    expect(report.unexpected).toEqual(expect.arrayContaining([expect.objectContaining({ id, kind: 'snapshot', reason: expect.stringContaining(`a record of '${FN}'`) })]));
    expect(report.unexpected).toHaveLength(6);
  });

  it("still verifies the windows a digest of the bundle seals when bundle.json's export time is moved back (was NOTHING VERIFIED)", async () => {
    const { dir, id } = bundleWithEditedRecordAnd('export-time', (m) => (m.exportedAt = '2026-11-30T10:00:30.000Z'));

    const { code, report } = await verifyJson(['--bundle', dir]);

    expect(code).toBe(1);
    expect(report.unsealed).toBeNull();
    expect(report.altered).toEqual([expect.objectContaining({ id, kind: 'snapshot' })]);
  });

  it("names bundle.json's window length when it is not the digests', and verifies on the digests' windows (was NOTHING VERIFIED)", async () => {
    const { dir, id } = bundleWithEditedRecordAnd('window-length', (m) => (m.intervalMinutes = 60));

    const { code, report } = await verifyJson(['--bundle', dir]);

    expect(code).toBe(1);
    expect(report.altered).toEqual(expect.arrayContaining([expect.objectContaining({ id, kind: 'snapshot' }), expect.objectContaining({ id: 'bundle.json', kind: 'bundle-file', reason: expect.stringContaining('the windows are 60 minutes long') })]));
  });

  it('refuses a bundle.json whose window length or times cannot be computed with: exit 2 naming the field, not a crash or a hang', async () => {
    for (const [field, value] of [['intervalMinutes', 0], ['intervalMinutes', -1], ['exportedAt', 'yesterday'], ['from', '2026-13-45T00:00:00Z']] as const) {
      const { dir } = bundleWithEditedRecordAnd(`bad-${field}-${String(value)}`, (m) => ((m as unknown as Record<string, unknown>)[field] = value));

      const run = await cli(['verify', '--bundle', dir, '--output', 'json'], { env });

      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(`bundle.json is not an audit bundle manifest: ${field} must be`);
    }
  });

  it('refuses, naming it, a record file replaced by a named pipe or a symbolic link, rather than read it without end: exit 2', async () => {
    const piped = copyOfBundle('fifo');
    rmSync(join(piped, 'records/snapshots.jsonl'));
    execFileSync('mkfifo', [join(piped, 'records/snapshots.jsonl')]);
    const linked = copyOfBundle('symlink');
    rmSync(join(linked, 'records/snapshots.jsonl'));
    symlinkSync('/dev/zero', join(linked, 'records/snapshots.jsonl'));

    const fifo = await cli(['verify', '--bundle', piped, '--output', 'json'], { env });
    const symlink = await cli(['verify', '--bundle', linked, '--output', 'json'], { env });

    expect(fifo.code).toBe(2);
    expect(fifo.stderr).toContain('records/snapshots.jsonl is a named pipe: an audit bundle holds regular files and folders only');
    expect(symlink.code).toBe(2);
    expect(symlink.stderr).toContain('records/snapshots.jsonl is a symbolic link');
  });

  it('names a record file replaced by a folder as missing, with its records, not a crash (exit 1, was EISDIR exit 3)', async () => {
    const dir = copyOfBundle('folder');
    rmSync(join(dir, 'records/snapshots.jsonl'));
    mkdirSync(join(dir, 'records/snapshots.jsonl'));

    const { code, report } = await verifyJson(['--bundle', dir]);

    expect(code).toBe(1);
    expect(report.altered).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'records/snapshots.jsonl', reason: expect.stringContaining('missing') })]));
    expect(report.missing.filter((f) => f.kind === 'snapshot')).toHaveLength(4);
  });

  it('verifies part of a clean bundle with --from/--to as clean: its other records are not "unexpected"', async () => {
    const late = await verifyJson(['--bundle', bundle, '--from', '2026-11-30T10:02:00Z', '--to', '2026-11-30T10:04:00Z']);
    const early = await verifyJson(['--bundle', bundle, '--from', '2026-11-30T10:00:00Z', '--to', '2026-11-30T10:01:00Z']);

    expect(late.report.unexpected).toEqual([]);
    expect(late.code).toBe(0);
    expect(early.report.unexpected).toEqual([]);
    expect(early.code).toBe(0);
  });

  it('names a digest changed in the bundle: badSignatures and a chain break, exit 1', async () => {
    const dir = copyOfBundle('digest');
    const name = join(dir, 'digests/2026-11-30T10:01:00.000Z.json');
    writeFileSync(name, readFileSync(name, 'utf8').replace('"lateCount":0', '"lateCount":1'));

    const { code, report } = await verifyJson(['--bundle', dir]);

    expect(code).toBe(1);
    expect(report.badSignatures).toEqual([expect.objectContaining({ id: '2026-11-30T10:01:00.000Z', kind: 'digest' })]);
    expect(report.chainBreaks).toEqual([expect.objectContaining({ id: '2026-11-30T10:02:00.000Z', reason: expect.stringContaining('another hash') })]);
  });

  it('names a digest, signature or manifest that no window of the bundle reads, even listed in bundle.json with its right hash (each was CLEAN)', async () => {
    // The verification reads the digests of the range's windows, the one before them, the late
    // horizon after them and those sealing pinned policy versions. Any other window file was never
    // read: a real digest copied under another window's name, a signature or manifest without its
    // digest, or a digest forged for a window the bundle does not cover (a manifest naming records
    // that never existed, signed with another key) passed as CLEAN, while an auditor opening the
    // folder would take them for sealed evidence.
    const dir = copyOfBundle('unread-window-files');
    const at = (window: string, ext: 'json' | 'sig' | 'jsonl') => `${ext === 'jsonl' ? 'manifests' : 'digests'}/${window}.${ext}`;
    const real = '2026-11-30T10:01:00.000Z';
    const copy = (from: string, to: string) => cpSync(join(dir, from), join(dir, to));
    copy(at(real, 'json'), at('2026-11-30T11:00:00.000Z', 'json'));
    copy(at(real, 'sig'), at('2026-11-30T11:00:00.000Z', 'sig'));
    copy(at(real, 'sig'), at('2026-11-30T11:30:00.000Z', 'sig'));
    copy(at(real, 'jsonl'), at('2026-11-30T11:30:00.000Z', 'jsonl'));
    const forged = '2026-11-30T12:00:00.000Z';
    const manifest = `${canonicalJson({ contentHash: 'a'.repeat(64), createdAt: '2026-11-30T12:00:01.000Z', functionName: FN, id: '01M8ZZZZZZZZZZZZZZZZZZZZZZ', kind: 'snapshot', pk: 'SNAP#01M8ZZZZZZZZZZZZZZZZZZZZZZ', sk: 'SNAP' })}\n`;
    const realDigest = JSON.parse(readFileSync(join(dir, at(real, 'json')), 'utf8')) as Record<string, unknown>;
    const digest = canonicalJson({ ...realDigest, windowStart: forged, windowEnd: '2026-11-30T12:01:00.000Z', previousWindowStart: '2026-11-30T11:59:00.000Z', manifestObject: at(forged, 'jsonl'), manifestHash: createHash('sha256').update(manifest).digest('hex'), recordCount: 1 });
    writeFileSync(join(dir, at(forged, 'jsonl')), manifest);
    writeFileSync(join(dir, at(forged, 'json')), digest);
    writeFileSync(join(dir, at(forged, 'sig')), sign('sha256', Buffer.from(digest), { key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, dsaEncoding: 'der' }));
    const added = [at('2026-11-30T11:00:00.000Z', 'json'), at('2026-11-30T11:00:00.000Z', 'sig'), at('2026-11-30T11:30:00.000Z', 'sig'), at('2026-11-30T11:30:00.000Z', 'jsonl'), at(forged, 'json'), at(forged, 'sig'), at(forged, 'jsonl')];
    resealBundleJson(dir, (m) => {
      for (const file of added) m.files[file] = createHash('sha256').update(readFileSync(join(dir, file))).digest('hex');
      m.counts.digests += 2;
    });

    const { code, report } = await verifyJson(['--bundle', dir]);

    expect(code).toBe(1);
    expect(report.altered.filter((f) => f.kind === 'bundle-file').map((f) => [f.id, f.reason])).toEqual([
      [at('2026-11-30T11:00:00.000Z', 'json'), expect.stringMatching(/states window 2026-11-30T10:01:00.000Z/)],
      [at('2026-11-30T11:30:00.000Z', 'sig'), expect.stringMatching(/no digest of its window/)],
      [at(forged, 'json'), expect.stringMatching(/does not verify with the public key/)],
      [at('2026-11-30T11:30:00.000Z', 'jsonl'), expect.stringMatching(/no digest of its window/)],
    ]);
    for (const finding of report.altered.filter((f) => f.kind === 'bundle-file')) expect(finding.reason).toMatch(/no window the verification checks/);
    // The real digest under its own name, and everything else, verify as before.
    expect(report.counts).toMatchObject({ missing: 0, unexpected: 0, chainBreaks: 0, badSignatures: 0 });
  });

  it('names a swapped public key: no signature verifies with it, exit 1', async () => {
    const dir = copyOfBundle('key');
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(join(dir, 'public-key.pem'), other);

    const { code, report } = await verifyJson(['--bundle', dir]);

    expect(code).toBe(1);
    expect(report.badSignatures.filter((f) => f.kind === 'digest').length).toBeGreaterThanOrEqual(4);
    expect(report.badSignatures).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'public-key.pem', kind: 'bundle-file' })]));
  });

  it('says a missing or damaged public key is why no signature verifies, not that every digest was changed, exit 1', async () => {
    for (const [name, key, says] of [
      ['key-gone', undefined, 'missing or empty'],
      ['key-garbage', '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n', 'not a readable public key (SPKI PEM)'],
    ] as const) {
      const dir = copyOfBundle(name);
      if (key === undefined) rmSync(join(dir, 'public-key.pem'));
      else writeFileSync(join(dir, 'public-key.pem'), key);

      const { code, report } = await verifyJson(['--bundle', dir]);

      expect(code).toBe(1);
      const digests = report.badSignatures.filter((f) => f.kind === 'digest');
      expect(digests.length).toBeGreaterThanOrEqual(4);
      for (const f of digests) expect(f.reason).toBe(`the signature cannot be checked: the public key it is checked with is ${says}`);
      expect(report.badSignatures).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'public-key.pem', kind: 'bundle-file', reason: expect.stringContaining('(unreadable)') })]));
    }
  });

  it('names a bundle re-sealed end to end with another key (records, manifests, digests, signatures, key, bundle.json) once the trusted key is given', async () => {
    const dir = copyOfBundle('resealed');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    for (const f of readdirSync(join(dir, 'digests')).filter((n) => n.endsWith('.json'))) {
      writeFileSync(join(dir, 'digests', f.replace(/\.json$/, '.sig')), sign('sha256', readFileSync(join(dir, 'digests', f)), { key: privateKey, dsaEncoding: 'der' }));
    }
    writeFileSync(join(dir, 'public-key.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const trusted = join(work, 'trusted.pem');
    writeFileSync(trusted, readFileSync(join(bundle, 'public-key.pem')));

    const unpinned = await verifyJson(['--bundle', dir]);
    const pinned = await verifyJson(['--bundle', dir, '--public-key', trusted]);

    // Without a trusted key, the edited files still differ from what bundle.json lists.
    expect(unpinned.code).toBe(1);
    expect(pinned.code).toBe(1);
    expect(pinned.report.badSignatures).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'public-key.pem', reason: expect.stringContaining('not the trusted key') }), expect.objectContaining({ id: '2026-11-30T10:00:00.000Z', kind: 'digest' })]));
  });

  it('names a record edited in the table with its hash recomputed, through the API: altered, exit 1, the table naming it', async () => {
    const id = snapshotIds[1] as string;
    const key = marshall({ pk: `SNAP#${id}`, sk: 'SNAP' });
    const item = unmarshall((await db.send(new GetItemCommand({ TableName: t.host.tableName, Key: key }))).Item ?? {});
    const original = { ...item };
    item.outputs = (item.outputs as Array<{ name: string; value: unknown }>).map((o) => (o.name === 'score' ? { ...o, value: 0.99 } : o));
    const content = Object.fromEntries(Object.entries(item).filter(([k]) => !['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'auditpk', 'auditsk', 'itemType', 'contentHash'].includes(k)));
    await db.send(new PutItemCommand({ TableName: t.host.tableName, Item: marshall({ ...item, contentHash: recordContentHash(content) }) }));
    try {
      const run = await cli(['verify', ...RANGE, '--output', 'table'], { env });

      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(new RegExp(`altered\\s+snapshot\\s+${id}\\s+2026-11-30T10:00:00.000Z\\s+.*both rewritten`));
      expect(run.stdout).toContain('NOT CLEAN: 1 finding');
    } finally {
      await db.send(new PutItemCommand({ TableName: t.host.tableName, Item: marshall(original) }));
    }
  });

  it('carries into a bundle every index problem the online verification names, and verify --bundle names them all (probe D17)', async () => {
    // One snapshot moved out of its window's listing (its audit sort key), another out of its function's list.
    const edits = [
      { id: snapshotIds[2] as string, set: (item: Record<string, unknown>) => ({ ...item, auditsk: `2000-01-01T00:00:00.000Z#snapshot#${String(item.snapshotId)}` }) },
      { id: snapshotIds[1] as string, set: (item: Record<string, unknown>) => ({ ...item, gsi1sk: `1999-01-01T00:00:00.000Z#${String(item.snapshotId)}` }) },
      // Listed in a later window of the range: exported once, where it is listed (not twice).
      { id: snapshotIds[0] as string, set: (item: Record<string, unknown>) => ({ ...item, auditsk: `2026-11-30T10:02:30.000Z#snapshot#${String(item.snapshotId)}` }) },
    ];
    const originals: Record<string, unknown>[] = [];
    for (const e of edits) {
      const item = unmarshall((await db.send(new GetItemCommand({ TableName: t.host.tableName, Key: marshall({ pk: `SNAP#${e.id}`, sk: 'SNAP' }) }))).Item ?? {});
      originals.push(item);
      await db.send(new PutItemCommand({ TableName: t.host.tableName, Item: marshall(e.set(item)) }));
    }
    try {
      const online = await verifyJson([...RANGE, '--function', FN]);
      const dir = join(work, 'index-problems');
      expect((await cli(['export', '--function', FN, ...RANGE, '-o', dir, '--output', 'json'], { env })).code).toBe(0);
      const offline = await verifyJson(['--bundle', dir], { env: { DECISION_REPLAY_URL: await unreachableUrl() } });

      const named = (r: Shown) => r.indexMismatches.map((f) => `${f.id} ${f.reason}`).sort();
      expect(online.code).toBe(1);
      expect(named(online.report)).toEqual(expect.arrayContaining([expect.stringContaining(`${snapshotIds[2] as string} not listed in the audit index for its window`)]));
      expect(named(online.report).length).toBeGreaterThanOrEqual(4);
      expect(named(offline.report)).toEqual(named(online.report));
      expect(offline.code).toBe(1);
      expect(offline.report.altered).toEqual([]);
    } finally {
      for (const item of originals) await db.send(new PutItemCommand({ TableName: t.host.tableName, Item: marshall(item) }));
    }
  });

  it('names a back-dated insert in the table and a trusted key the service does not use: exit 1', async () => {
    const forged = buildSnapshot(decision(0.95), '01KB0000000000000000000008', '2026-11-30T10:02:30.000Z');
    await db.send(new PutItemCommand({ TableName: t.host.tableName, Item: marshall(DynamoSnapshotStore.toItem(forged), { removeUndefinedValues: true }) }));
    const other = join(work, 'other.pem');
    writeFileSync(other, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }));

    const { code, report } = await verifyJson([...RANGE, '--public-key', other]);

    expect(code).toBe(1);
    expect(report.unexpected).toEqual([expect.objectContaining({ id: forged.snapshotId })]);
    expect(report.badSignatures).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'GET /audit/public-key', reason: expect.stringContaining('not the trusted key') })]));
  });
});
