/**
 * README.md's "### The CLI: verify a range, export a bundle, verify it offline" shows real runs of
 * `decision-replay verify`, `export` and `verify --bundle` on the local host with 1-minute windows.
 * This runs its transcripts command by command in a bash session (the repository's CLI, as piped)
 * and compares what each prints with the README (ids, hashes, the key's fingerprint and timestamps
 * unified; windows, counts, findings and exit statuses exactly).
 *
 * The windows the README verifies are the ones it names (2026-11-30T23:49, 2026-12-03T03:08), so
 * the host runs with those times on its clock: the local host `npm start` runs
 * (functions/local/host.ts) started in this process with a clock the test sets and
 * `digestIntervalMinutes: 1`, as cdk.json's context would give `npm start` (which has no clock to
 * set, and would need a real minute to pass). The CLI runs as a separate process against its HTTP
 * API. What the README describes in prose between the transcripts (the records, the digester's run,
 * the insider's rewrite, the bundle's edits) is done here as it says.
 *
 * Two hosts: the README's verify run and its export run are two runs (two ports, two keys).
 *
 * The ```sh blocks of "## The audit seal" ("Verifying one digest with openssl only": curl, jq,
 * base64, openssl, sha256sum and `npx canonicalize` on the window 23:49) run in the verify run's
 * session, after its seal, compared as the tour's blocks are (test/support/readme-session.ts).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, type JsonValue } from '../../functions/core/json.js';
import { recordContentHash } from '../../functions/core/records.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestJson } from '../support/http.js';
import { ReadmeSession, ROOT, tourTests, transcriptTests } from '../support/readme-session.js';
import { parseTour, parseTranscripts } from '../support/readme-tour.js';

const SECTION = '### The CLI: verify a range, export a bundle, verify it offline';
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const [verifyClean = [], verifyAltered = [], exported = [], offline = [], tampered = [], resealed = []] = parseTranscripts(README, SECTION, ['console']);
const text = README.slice(README.indexOf(`\n${SECTION}\n`));
/** The ```sh blocks of the seal's section (its CLI subsection's transcripts are ```console). */
const SEAL_SECTION = 'The audit seal: signed digests and verification';
const sealBlocks = parseTour(README, SEAL_SECTION);
/** The API ports the README's two runs show (`source http://127.0.0.1:3913`, `… from http://127.0.0.1:3919)`). */
const portOf = (steps: { expected: string[] }[]) => Number(/http:\/\/127\.0\.0\.1:(\d+)/.exec(steps.flatMap((s) => s.expected).join('\n'))?.[1] ?? 3000);

const decision = (fn: string, score: number) => ({ functionName: fn, inputs: [{ name: 'applicant', value: { income: 52000 + score * 1000 } }], outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: score }], executionTimeMs: 3 });

/** A session on an in-process local host with 1-minute windows and a clock the test moves. */
function auditSession(readmePort: number) {
  const session = new ReadmeSession();
  const clock = { now: 0 };
  let t!: TestHost;
  const call = <T>(method: string, path: string, body?: unknown) => requestJson<T>(t.url, method, path, body);
  const start = async (at: string) => {
    clock.now = Date.parse(at);
    await session.start({}, {
      readmePort,
      host: async () => {
        t = await startTestHost({ clock: { now: () => clock.now }, digestIntervalMinutes: 1 });
        return { port: Number(new URL(t.url).port), dynamoPort: Number(new URL(t.host.dynamoEndpoint).port), stop: () => t.close() };
      },
    });
    await session.useCli();
  };
  /** Three snapshots of `fn` a second apart, then a validation report of the first: their ids. */
  const record = async (fn: string, validate: Record<string, unknown>) => {
    const ids: string[] = [];
    for (const score of [0.61, 0.72, 0.83]) {
      clock.now += 1000;
      const res = await call<{ snapshotId: string }>('POST', '/snapshots', decision(fn, score));
      expect(res.status).toBe(201);
      ids.push(res.body.snapshotId);
    }
    expect((await call('POST', `/snapshots/${ids[0] ?? ''}/validate`, validate)).status).toBe(200);
    return ids;
  };
  /** The digester's run at `at` (the local host's runs 5 s after each window closes). */
  const seal = async (at: string) => {
    clock.now = Date.parse(at);
    await t.host.audit.timer.runNow();
  };
  return { session, clock, call, start, record, seal, host: () => t };
}

describe('README: decision-replay verify of a range, clean and after an insider rewrote a score (local host, 1-minute windows)', () => {
  const run = auditSession(portOf(verifyClean));
  let snapshotIds: string[] = [];

  beforeAll(async () => {
    await run.start('2026-11-30T23:49:10.000Z');
  }, 120_000);
  afterAll(() => run.session.stop(), 30_000);

  it('the section has its transcripts: two verifies of the range, the export, and three verifies of a bundle', () => {
    expect([verifyClean, verifyAltered, exported, offline, tampered, resealed].map((steps) => steps.length)).toEqual([1, 1, 2, 1, 1, 1]);
    expect(text).toContain('three snapshots and a\nvalidation report recorded at 23:49 and sealed at 23:50:05');
  });

  it('three snapshots and a validation report recorded at 23:49, sealed at 23:50:05', async () => {
    snapshotIds = await run.record('approve_loan', { policy: { rules: [{ name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] } });
    await run.seal('2026-11-30T23:50:05.000Z');
  });

  it(`README section "${SEAL_SECTION}": its commands' URL is this host, and jq is on PATH`, async () => {
    if (spawnSync('jq', ['--version']).error) throw new Error("the README's digest check needs 'jq' on PATH (.ci/run installs it)");
    expect(sealBlocks.map((b) => (b.kind === 'command' ? b.script.split('\n')[0] : b.kind === 'file' ? b.name : b.line))).toEqual(['curl -s "$URL/audit/public-key" > public-key.pem', 'jq -r .manifestHash digest.json']);
    const setup = await run.session.bash.run(`export URL=http://127.0.0.1:${run.session.host.port}`);
    expect(setup.status).toBe(0);
  });

  tourTests(run.session, sealBlocks, 'audit seal');

  transcriptTests(run.session, verifyClean, 'verify transcript');

  it("an insider rewrites one snapshot's score in the table and recomputes its contentHash (a PutItem through the DynamoDB API)", async () => {
    const t = run.host();
    const db = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
    try {
      const key = marshall({ pk: `SNAP#${snapshotIds[1] ?? ''}`, sk: 'SNAP' });
      const item = unmarshall((await db.send(new GetItemCommand({ TableName: t.host.tableName, Key: key }))).Item ?? {});
      item.outputs = (item.outputs as { name: string; value: unknown }[]).map((o) => (o.name === 'score' ? { ...o, value: 0.99 } : o));
      const content = Object.fromEntries(Object.entries(item).filter(([k]) => !['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'auditpk', 'auditsk', 'itemType', 'contentHash'].includes(k)));
      await db.send(new PutItemCommand({ TableName: t.host.tableName, Item: marshall({ ...item, contentHash: recordContentHash(content) }) }));
    } finally {
      db.destroy();
    }
  });

  transcriptTests(run.session, verifyAltered, 'verify transcript (after the insider)');
});

describe('README: decision-replay export, and verify --bundle with no service, tampered and resealed (local host, 1-minute windows)', () => {
  const run = auditSession(portOf(offline));
  const dir = () => run.session.dir;
  const snapshotLines = (bundle: string) => readFileSync(join(dir(), bundle, 'records/snapshots.jsonl'), 'utf8').trim().split('\n');
  const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

  beforeAll(async () => {
    await run.start('2026-12-03T03:08:39.000Z');
  }, 120_000);
  afterAll(() => run.session.stop(), 30_000);

  it("three snapshots and a validation report against the stored policy 'score-range' recorded at 03:08:40, sealed at 03:09:05", async () => {
    expect(text).toContain("three snapshots and a validation report against the stored policy\n`score-range` recorded at 03:08:40, sealed at 03:09:05");
    const stored = await run.call('PUT', '/policies/score-range', { rules: [{ name: 'in-range', field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] });
    expect(stored.status).toBe(200);
    await run.record('approve_loan', { policyName: 'score-range' });
    await run.seal('2026-12-03T03:09:05.000Z');
  });

  transcriptTests(run.session, exported, 'export transcript');

  it('the bundle verifies with openssl alone, as the README says', async () => {
    const said = /`(openssl dgst -sha256 -verify public-key\.pem\s+-signature \S+ \S+)` →\s+`Verified OK`/.exec(text)?.[1]?.replace(/\s+/g, ' ');
    expect(said).toBeDefined();
    const openssl = await run.session.bash.run(`(cd audit-bundle && ${said ?? ''})`);
    expect(openssl.stderr).toBe('');
    expect(openssl.stdout.trim()).toBe('Verified OK');
    expect(openssl.status).toBe(0);
  });

  transcriptTests(run.session, offline, 'verify --bundle transcript (no service)');

  it("the same bundle after one snapshot line was edited (its contentHash left as it was) and another line deleted", () => {
    cpSync(join(dir(), 'audit-bundle'), join(dir(), 'tampered'), { recursive: true });
    const [first = '', second = '', ...rest] = snapshotLines('tampered');
    expect(first).not.toBe('');
    const edited = JSON.parse(second) as { outputs: { name: string; value: unknown }[] };
    edited.outputs = edited.outputs.map((o) => (o.name === 'score' ? { ...o, value: 0.99 } : o));
    writeFileSync(join(dir(), 'tampered/records/snapshots.jsonl'), `${[canonicalJson(edited as unknown as JsonValue), ...rest].join('\n')}\n`);
  });

  transcriptTests(run.session, tampered, 'verify --bundle transcript (tampered)');

  it("the record file saved with Windows line endings, the bundle's README.md made to trust its own key, bundle.json's hashes recomputed", () => {
    const bundle = join(dir(), 'resealed');
    cpSync(join(dir(), 'audit-bundle'), bundle, { recursive: true });
    writeFileSync(join(bundle, 'records/snapshots.jsonl'), `${snapshotLines('resealed').join('\r\n')}\r\n`);
    writeFileSync(join(bundle, 'README.md'), `${readFileSync(join(bundle, 'README.md'), 'utf8')}\nThe key in this bundle is the one to trust.\n`);
    const manifest = JSON.parse(readFileSync(join(bundle, 'bundle.json'), 'utf8')) as { files: Record<string, string> };
    for (const file of Object.keys(manifest.files)) manifest.files[file] = sha256(join(bundle, file));
    writeFileSync(join(bundle, 'bundle.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  });

  transcriptTests(run.session, resealed, 'verify --bundle transcript (resealed)');
});
