/**
 * The CLI on what it must not take at face value, against the local host: a snapshot altered
 * behind the service (content-integrity: tampered, even when it no longer has a snapshot's shape),
 * a body it must not rewrite (`__proto__`), an empty id, a policy version, and a reader that goes
 * away (EPIPE).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DynamoDBClient, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../client/src/cli/main.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { cli, CLI_BIN, type CliRun } from '../support/cli.js';
import { requestJson } from '../support/http.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { tempDir } from '../support/temp-dirs.js';

const FN = 'cli_integrity_loan';
const decision = (score: number) => ({ functionName: FN, inputs: [{ name: 'applicant', value: { income: 52000 } }], outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: score }] });

/**
 * The CLI's `main` with captured streams, without the OpenAPI check of `cli()`: a tampered
 * snapshot is served as stored, which need not match the snapshot schema.
 */
async function unchecked(args: string[], env: Record<string, string>): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: { write: (s: string) => (stdout += s), isTTY: false }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, stdin: Readable.from([]), env, cwd: process.cwd() });
  return { code, stdout, stderr };
}

/** Runs the bin as a process whose stdout reader is gone before it writes (as `| head -c 0` would). */
function withClosedStdout(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('decision-replay CLI on tampered and unstorable data (local host)', () => {
  let t: TestHost;
  let db: DynamoDBClient;
  let env: Record<string, string>;
  let dir: string;

  beforeAll(async () => {
    t = await startTestHost();
    db = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
    env = { DECISION_REPLAY_URL: t.url };
    dir = tempDir('cli-integrity-');
  });
  afterAll(async () => {
    db?.destroy();
    await t?.close();
  });

  /** Records a decision, then rewrites its stored item behind the service. */
  async function tampered(update: string, values?: Record<string, AttributeValue>): Promise<string> {
    const id = (await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(0.5))).body.snapshotId;
    await db.send(
      new UpdateItemCommand({
        TableName: t.host.tableName,
        Key: { pk: { S: `SNAP#${id}` }, sk: { S: 'SNAP' } },
        UpdateExpression: update,
        ...(update.includes('#v') && { ExpressionAttributeNames: { '#v': 'value' } }),
        ...(values !== undefined && { ExpressionAttributeValues: values }),
      }),
    );
    return id;
  }

  it('get of an intact snapshot exits 0 with no warning', async () => {
    const id = (await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(0.4))).body.snapshotId;
    const run = await cli(['get', id, '-o', 'table'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/output\s+score\s+0\.4/);
  });

  it('get of a tampered snapshot prints it as stored, warns TAMPERED on stderr and exits 1, in every output mode', async () => {
    const id = await tampered('SET outputs[1].#v = :v', { ':v': { N: '0.99' } });
    const table = await unchecked(['get', id, '-o', 'table'], env);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/output\s+score\s+0\.99/);
    expect(table.stderr).toBe(`decision-replay: TAMPERED: snapshot ${id} no longer matches its contentHash (content-integrity: tampered); what is shown is what is stored now, not what was recorded\n`);
    const json = await unchecked(['get', id, '-o', 'json'], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ snapshotId: id, outputs: [{ name: 'decision' }, { name: 'score', value: 0.99 }] });
    expect(json.stderr).toContain('TAMPERED');
    const quiet = await unchecked(['get', id, '-q'], env);
    expect(quiet).toMatchObject({ code: 1, stdout: `${id}\n` });
    expect(quiet.stderr).toContain('TAMPERED');
  });

  it('get prints a tampered snapshot whose outputs are gone or not a list, without crashing', async () => {
    const gone = await tampered('REMOVE outputs');
    const a = await unchecked(['get', gone, '-o', 'table'], env);
    expect(a.code, a.stderr).toBe(1);
    expect(a.stderr).toContain('TAMPERED');
    expect(a.stdout).toMatch(/input\s+applicant\s+\{"income":52000\}/);
    expect(a.stdout).toMatch(/output\s+\(missing\)\s+-/);

    const text = await tampered('SET outputs = :s', { ':s': { S: 'approved by hand' } });
    const b = await unchecked(['get', text, '-o', 'table'], env);
    expect(b.code, b.stderr).toBe(1);
    expect(b.stdout).toMatch(/output\s+\(not a list\)\s+approved by hand/);
    const c = await unchecked(['get', text, '-o', 'json'], env);
    expect(c.code).toBe(1);
    expect(JSON.parse(c.stdout)).toMatchObject({ snapshotId: text, outputs: 'approved by hand' });

    const odd = await tampered('SET outputs[0] = :n', { ':n': { N: '7' } });
    const d = await unchecked(['get', odd, '-o', 'table'], env);
    expect(d.code, d.stderr).toBe(1);
    expect(d.stdout).toMatch(/output\s+\(malformed\)\s+7/);

    const list = await unchecked(['list', '--function', FN, '-o', 'table'], env);
    expect(list.code, list.stderr).toBe(1);
    expect(list.stdout).toContain('approved by hand');
    for (const id of [gone, text, odd]) expect(list.stderr).toContain(`decision-replay: TAMPERED: snapshot ${id} no longer matches its contentHash; what is listed is what is stored now, not what was recorded\n`);
  });

  it('list warns TAMPERED for each altered snapshot it lists, on every page of --all, and exits 1; a clean listing exits 0 with no warning', async () => {
    const fn = `${FN}_list`;
    const record = async () => (await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', { ...decision(0.3), functionName: fn })).body.snapshotId;
    const ids = [await record(), await record(), await record()];
    const clean = await cli(['list', '--function', fn, '-o', 'table'], { env });
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stderr).toBe('');
    await db.send(new UpdateItemCommand({ TableName: t.host.tableName, Key: { pk: { S: `SNAP#${ids[2]}` }, sk: { S: 'SNAP' } }, UpdateExpression: 'SET outputs[1].#v = :v', ExpressionAttributeNames: { '#v': 'value' }, ExpressionAttributeValues: { ':v': { N: '0.95' } } }));
    const warning = `decision-replay: TAMPERED: snapshot ${ids[2]} no longer matches its contentHash; what is listed is what is stored now, not what was recorded\n`;
    // The altered one is on the second page of two: --all carries the verdict of every page.
    const all = await unchecked(['list', '--function', fn, '--limit', '2', '--all', '-o', 'json'], env);
    expect(all.code).toBe(1);
    expect((JSON.parse(all.stdout) as { items: { snapshotId: string }[] }).items.map((s) => s.snapshotId)).toEqual(ids);
    expect(all.stderr).toBe(warning);
    const quiet = await unchecked(['list', '--function', fn, '-q'], env);
    expect(quiet).toEqual({ code: 1, stdout: ids.map((id) => `${id}\n`).join(''), stderr: warning });
    const firstPage = await unchecked(['list', '--function', fn, '--limit', '2', '-o', 'table'], env);
    expect(firstPage.code, firstPage.stderr).toBe(0);
  });

  it('diff of a tampered snapshot prints the diff of what is stored, warns TAMPERED naming it and exits 1; an intact pair exits 0', async () => {
    const intact = (await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(0.6))).body.snapshotId;
    const altered = await tampered('SET outputs[1].#v = :v', { ':v': { N: '0.97' } });
    const run = await unchecked(['diff', intact, altered, '-o', 'table'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/outputs\.score\s+Modified\s+0\.6\s+0\.97/);
    expect(run.stderr).toBe(`decision-replay: TAMPERED: snapshot ${altered} no longer matches its contentHash; the diff shows what is stored now, not what was recorded\n`);
    const json = await unchecked(['diff', altered, intact, '-o', 'json'], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ integrity: { original: 'tampered', updated: 'verified' } });
    const ok = await cli(['diff', intact, intact, '-o', 'table'], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toBe('');
  });

  it('record sends a "__proto__" key as written, so the service refuses it (400 UNSTORABLE_KEY) instead of storing {}', async () => {
    const file = join(dir, 'proto.json');
    writeFileSync(file, '{"functionName":"cli_integrity_proto","inputs":[{"name":"a","value":1}],"outputs":[{"name":"b","value":2}],"context":{"__proto__":{"a":1}}}');
    const run = await cli(['record', file], { env });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('UNSTORABLE_KEY (HTTP 400)');
    const page = await requestJson<{ items: unknown[] }>(t.url, 'GET', '/snapshots?functionName=cli_integrity_proto');
    expect(page.body.items).toEqual([]);
  });

  it('an empty id is a usage error (exit 2), never a request to another route', async () => {
    const run = await cli(['get', ''], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid snapshotId: must not be empty');
    const diff = await cli(['diff', '', 'x'], { env });
    expect(diff.code).toBe(2);
  });

  it('policy get --version N shows that version, the latest without it', async () => {
    const policy = (min: number) => JSON.stringify({ functionNames: [FN], rules: [{ name: 'r', field: 'outputs.score', comparator: 'WithinRange', min, max: 1 }] });
    expect((await cli(['policy', 'put', 'cli-integrity-p', '-'], { env, stdin: policy(0) })).code).toBe(0);
    expect((await cli(['policy', 'put', 'cli-integrity-p', '-'], { env, stdin: policy(0.5) })).code).toBe(0);
    const v1 = await cli(['policy', 'get', 'cli-integrity-p', '--version', '1', '-o', 'json'], { env });
    expect(v1.code, v1.stderr).toBe(0);
    expect(JSON.parse(v1.stdout)).toMatchObject({ version: 1, rules: [{ min: 0 }] });
    const latest = await cli(['policy', 'get', 'cli-integrity-p', '-q'], { env });
    expect(latest.stdout).toBe('cli-integrity-p v2\n');
    expect((await cli(['policy', 'get', 'cli-integrity-p', '--version', '0'], { env })).code).toBe(2);
  });

  it('exits quietly when the stdout reader is gone (EPIPE), with the command’s own exit code', async () => {
    const help = await withClosedStdout(['--help'], env);
    expect(help.stderr).toBe('');
    expect(help.code).toBe(0);
    const id = await tampered('SET outputs[1].#v = :v', { ':v': { N: '0.98' } });
    const get = await withClosedStdout(['get', id, '-o', 'json'], env);
    expect(get.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(get.stderr).toContain('TAMPERED');
    expect(get.code).toBe(1);
  });
});
