import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { requestJson } from '../support/http.js';
import { freePort } from '../support/ports.js';
import { tempDir } from '../support/temp-dirs.js';

const ROOT = resolve(import.meta.dirname, '../..');
/**
 * `npm start`'s own command line (package.json's start script: node, its flags, --import tsx,
 * bin/local.ts), run as node directly. Not the tsx CLI: that wraps the host in a second process and,
 * when the host has not acknowledged a relayed SIGTERM within 30 ms (a loaded machine), SIGKILLs it
 * and exits 143, so the graceful shutdown under test flaked.
 */
const START_ARGS = ((): string[] => {
  const [command, ...args] = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
  if (command !== 'node' || args.at(-1) !== 'bin/local.ts') throw new Error(`npm start is no longer 'node … bin/local.ts': update this test`);
  return args;
})();

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
}

const started: Running[] = [];

/** Runs the host as `npm start` does and waits for its ready line. */
async function startCli(env: Record<string, string>, args: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [...START_ARGS, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      // Not ready in time: stop it, or it lives on (holding its ports) after the test failed.
      child.kill('SIGKILL');
      reject(new Error(`no ready line within 60 s; output:\n${output}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const m = /decision-replay listening on (http:\/\/127\.0\.0\.1:(\d+))\n/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (output += c.toString('utf8')));
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${String(code)} before it was ready; output:\n${output}`));
    });
  });
  const running = { child, url, output: () => output, exit };
  started.push(running);
  return running;
}

/**
 * {@link startCli} on three free ports. freePort() hands over a port it has just closed, so another
 * test file running alongside can take it before the host listens; the host then exits naming the
 * port in use, and this starts it again on new ports (three tries).
 */
async function startOnFreePorts(extra: Record<string, string>, args: string[] = []): Promise<{ running: Running; env: Record<string, string> }> {
  for (let attempt = 1; ; attempt++) {
    const env = { PORT: String(await freePort()), DYNAMODB_PORT: String(await freePort()), S3_PORT: String(await freePort()), ...extra };
    try {
      return { running: await startCli(env, args), env };
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('port in use')) throw err;
    }
  }
}

/** Runs the host as `npm start` does on free ports, for a start that fails: its exit code and stderr. */
async function runToExit(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stderr: string }> {
  const ports = { PORT: String(await freePort()), DYNAMODB_PORT: String(await freePort()), S3_PORT: String(await freePort()) };
  const child = spawn(process.execPath, [...START_ARGS, ...args], { cwd: ROOT, env: { ...process.env, ...ports, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, stderr };
}

/** SIGTERM, then the exit code (the host closes its servers and exits 0). */
async function stop(running: Running): Promise<number | null> {
  running.child.kill('SIGTERM');
  return running.exit;
}

const decision = {
  functionName: 'approve_loan',
  inputs: [{ name: 'applicant', value: { income: 52000, age: 41 } }],
  outputs: [{ name: 'decision', value: 'approve' }],
};

afterEach(async () => {
  for (const r of started.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) await stop(r);
});

describe('bin/local.ts (npm start)', { timeout: 150_000 }, () => {
  it('keeps recorded snapshots in DATA_DIR across a SIGTERM and a restart on the same folder', async () => {
    // Arrange
    const dataDir = tempDir('decision-replay-e2e-');
    const { running: first, env } = await startOnFreePorts({ DATA_DIR: dataDir });
    expect(first.url).toBe(`http://127.0.0.1:${env.PORT}`);

    const created = await requestJson<{ snapshotId: string; contentHash: string }>(first.url, 'POST', '/snapshots', decision);
    expect(created.status).toBe(201);
    const { snapshotId, contentHash } = created.body;

    // Act: stop it, start it again on the same folder.
    expect(await stop(first)).toBe(0);
    expect(first.output()).toContain('SIGTERM: shutting down');
    const second = await startCli(env);

    // Assert
    const read = await requestJson<{ contentHash: string }>(second.url, 'GET', `/snapshots/${snapshotId}`);
    expect(read.status).toBe(200);
    expect(read.body.contentHash).toBe(contentHash);
    const list = await requestJson<{ items: { snapshotId: string }[] }>(second.url, 'GET', '/snapshots?functionName=approve_loan');
    expect(list.body.items.map((s) => s.snapshotId)).toEqual([snapshotId]);
    expect(await stop(second)).toBe(0);
  });

  it('with --in-memory writes nothing to disk, not even the data folder', async () => {
    const parent = tempDir('decision-replay-e2e-');
    const dataDir = join(parent, 'data');

    const { running } = await startOnFreePorts({ DATA_DIR: dataDir }, ['--in-memory']);
    const created = await requestJson<{ snapshotId: string }>(running.url, 'POST', '/snapshots', decision);
    expect(created.status).toBe(201);
    expect(running.output()).toContain('in memory');

    // The functions' log lines carry their fields, as on AWS: a replay's outcome names its ids and status.
    expect((await requestJson(running.url, 'PUT', '/functions/approve_loan/executor', { type: 'http', url: `${running.url}/demo/credit/v2` })).status).toBe(200);
    const replay = await requestJson<{ replayId: string; status: string }>(running.url, 'POST', `/snapshots/${created.body.snapshotId}/replay`, {});
    expect(replay.status).toBe(200);
    await vi.waitFor(() => expect(running.output()).toContain(`replay outcome {"replayId":"${replay.body.replayId}","snapshotId":"${created.body.snapshotId}","functionName":"approve_loan","mode":"Tolerant","status":"${replay.body.status}"`), { timeout: 5_000 });

    expect(await stop(running)).toBe(0);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('serves the DynamoDB API with its table on DYNAMODB_PORT', async () => {
    // TABLE_NAME '' falls back to the default name, whatever the calling shell has set; so do the
    // empty settings the functions read themselves.
    const { running, env } = await startOnFreePorts({ TABLE_NAME: '', MANIFEST_BUCKET: '', SIMILARITY_PROVIDER: '', EXECUTOR_ALLOW_PRIVATE_NETWORKS: '' }, ['--in-memory']);

    const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: `http://127.0.0.1:${env.DYNAMODB_PORT}` });
    try {
      const tables = await client.send(new ListTablesCommand({}));
      expect(tables.TableNames).toContain('decision-replay');
    } finally {
      client.destroy();
    }
    expect(running.output()).toContain(`DynamoDB API (dynalite) on http://127.0.0.1:${env.DYNAMODB_PORT}`);
  });

  it('refuses a PORT that is not plain digits, and a DATA_DIR that is a file or cannot be made, before starting anything', async () => {
    for (const port of [' 80', '1e3', '0x10']) {
      const run = await runToExit({ PORT: port });
      expect(run, `PORT='${port}'`).toEqual({ code: 2, stderr: `PORT must be a port number (0-65535), got '${port}'\n` });
    }
    expect(await runToExit({ PORT: '6000' }, ['--in-memory'])).toEqual({
      code: 2,
      stderr: 'PORT 6000 is one fetch and browsers refuse to connect to (a "bad port" of the Fetch standard): the CLI, the SDK and the reports could not reach the API there; pick another\n',
    });
    const file = join(tempDir('decision-replay-e2e-'), 'data');
    writeFileSync(file, 'not a folder');
    expect(await runToExit({ DATA_DIR: file })).toEqual({ code: 2, stderr: `DATA_DIR must be a folder, got '${file}', which is a file\n` });
    // A folder that cannot be made: named, not a start that spins without end (Node's recursive mkdir under /proc).
    expect(await runToExit({ DATA_DIR: '/proc/decision-replay-data' })).toEqual({
      code: 2,
      stderr: "DATA_DIR '/proc/decision-replay-data' cannot be created: ENOENT: no such file or directory, mkdir '/proc/decision-replay-data'\n",
    });
    expect(await runToExit({ TABLE_NAME: 'bad name!' }, ['--in-memory'])).toEqual({
      code: 2,
      stderr: `TABLE_NAME must be 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.', got 'bad name!'\n`,
    });
  });

  it('refuses a MANIFEST_BUCKET S3 would refuse and a bad SIMILARITY_PROVIDER or EXECUTOR_ALLOW_PRIVATE_NETWORKS, naming the setting, before starting anything', async () => {
    for (const bucket of ['Bad_Bucket', 'ab', 'a..b', '192.168.0.1', '-dash']) {
      expect(await runToExit({ MANIFEST_BUCKET: bucket }, ['--in-memory']), bucket).toEqual({
        code: 2,
        stderr: `MANIFEST_BUCKET must be an S3 bucket name (3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit, not an IP address), got '${bucket}'\n`,
      });
    }
    expect(await runToExit({ SIMILARITY_PROVIDER: 'openai' }, ['--in-memory'])).toEqual({ code: 2, stderr: `SIMILARITY_PROVIDER must be 'lexical' or 'bedrock-titan', got 'openai'\n` });
    expect(await runToExit({ EXECUTOR_ALLOW_PRIVATE_NETWORKS: 'yes' }, ['--in-memory'])).toEqual({ code: 2, stderr: `EXECUTOR_ALLOW_PRIVATE_NETWORKS must be 'true' or 'false', got 'yes'\n` });
  });

  it('says in one line which file of a damaged DATA_DIR stops the start, without a stack trace', async () => {
    const dataDir = tempDir('decision-replay-e2e-');
    writeFileSync(join(dataDir, 'schedules.json'), '{not json');
    const run = await runToExit({ DATA_DIR: dataDir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^cannot start: ${join(dataDir, 'schedules.json')} is not a schedule state file \\(not JSON: [^\\n]+\\); move it aside to start the schedules afresh\\n$`));
  });

  it('exits with code 2 and a usage line for an unknown option', async () => {
    const child = spawn(process.execPath, [...START_ARGS, '--persist'], { cwd: ROOT, env: { ...process.env, PORT: '0', DYNAMODB_PORT: '0', S3_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(stderr).toContain('unknown option --persist');
  });
});
