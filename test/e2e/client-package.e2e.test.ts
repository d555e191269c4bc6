/**
 * The client package as a user gets it: `npm pack -w client`, installed with `npm install
 * ./tarball.tgz` into an empty project, then used with plain `node` (no tsx, no server code): a
 * decision recorded through `createRecorder` lands in the local host, the installed
 * `decision-replay` bin reads it back, a TypeScript consumer type-checks against the shipped
 * .d.ts files, and the README's recorder example, as printed there, compiles and prints what the
 * README says it prints.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicKey } from 'node:crypto';
import { auditObjects, buildDigest, keyFingerprint } from '../../functions/core/audit/digest.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { fences } from '../support/readme-tour.js';
import { requestJson } from '../support/http.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const NPM_ENV = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
/**
 * A consumer's own compiler settings: strict, and the library's declarations checked too (no
 * skipLibCheck). Types resolve only from the consumer's node_modules, where `@types/node` is its
 * one typings package (linked in beforeAll, as `npm i -D @types/node` would put it): a declaration
 * of the package that imports typings it does not depend on (the repository's `@types/aws-lambda`)
 * fails here as it would for a user.
 */
const TSC_FLAGS = ['--noEmit', '--strict', '--skipLibCheck', 'false', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node'];

/**
 * The README's recorder example: the first ```ts block of "## Use it from your code" and the
 * output block right after it, as a user copies them (no second copy of the example here).
 */
function readmeRecorderExample(): { code: string; output: string; line: number } {
  const blocks = fences(readFileSync(join(REPO, 'README.md'), 'utf8'), 'Use it from your code');
  const at = blocks.findIndex((b) => b.lang === 'ts');
  const code = blocks[at];
  const output = blocks[at + 1];
  if (code === undefined || output === undefined || output.lang !== '' || output.before.trim() !== '') throw new Error("README.md's '## Use it from your code' has no ```ts block followed by its output");
  return { code: `${code.text}\n`, output: `${output.text}\n`, line: code.line };
}

describe('the packed client installed into an empty project', () => {
  let t: TestHost;
  let dir: string;

  beforeAll(async () => {
    t = await startTestHost();
    dir = mkdtempSync(join(tmpdir(), 'client-pack-'));
    await run('npm', ['pack', '-w', 'client', '--pack-destination', dir], { cwd: REPO, env: NPM_ENV, maxBuffer: 16 * 1024 * 1024 });
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`npm pack wrote no tarball into ${dir}`);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    await run('npm', ['install', `./${tarball}`], { cwd: dir, env: NPM_ENV, maxBuffer: 16 * 1024 * 1024 });
    mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
  }, 240_000);

  afterAll(async () => {
    await t?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('ships compiled JS, .d.ts and the bin, and neither TypeScript sources nor server code', async () => {
    const { stdout } = await run('tar', ['-tzf', readdirSync(dir).find((f) => f.endsWith('.tgz')) as string], { cwd: dir });
    const files = stdout.trim().split('\n');
    expect(files).toEqual(expect.arrayContaining(['package/bin/decision-replay.js', 'package/dist/index.js', 'package/dist/cli.js', 'package/dist/types/client/src/index.d.ts']));
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('package/functions') || f.startsWith('package/src'))).toEqual([]);
  });

  it('ships nothing about the machine it was built on, and no install script for its users to approve', async () => {
    const installed = join(dir, 'node_modules', '@decision-replay', 'client');
    const shipped = (sub: string): string[] => readdirSync(join(installed, sub), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    // The build's staleness stamp lists the absolute paths of the sources it read.
    expect(['bin', 'dist'].flatMap(shipped).filter((f) => readFileSync(f, 'utf8').includes(REPO.replace(/\/$/, '')))).toEqual([]);
    // npm 11 counts `prepare` of a package installed from a tarball as an install script and asks
    // every user to approve it; the build it ran (build.mjs) is not in the package anyway.
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    expect(Object.keys(manifest.scripts ?? {}).filter((s) => ['preinstall', 'install', 'postinstall', 'prepare'].includes(s))).toEqual([]);
  });

  it('records a decision through createRecorder with plain node, and the installed bin reads it back', async () => {
    const script = `
      import { DecisionReplayClient, createRecorder } from '@decision-replay/client';
      const client = new DecisionReplayClient({ endpoint: process.argv[2] });
      const recorder = createRecorder({ client });
      const approve = recorder.wrap((applicant) => ({ decision: applicant.income > 40000 ? 'approve' : 'review' }), {
        functionName: 'packed_client',
        inputs: (applicant) => ({ applicant }),
        outputs: (result) => result,
      });
      const result = approve({ income: 52000 });
      await recorder.close();
      const page = await client.listSnapshots({ functionName: 'packed_client' });
      console.log(JSON.stringify({ result, stats: recorder.stats(), ids: page.items.map((s) => s.snapshotId) }));
    `;
    writeFileSync(join(dir, 'record.mjs'), script);
    const { stdout } = await run(process.execPath, ['record.mjs', t.url], { cwd: dir });
    const out = JSON.parse(stdout) as { result: unknown; stats: unknown; ids: string[] };
    expect(out.result).toEqual({ decision: 'approve' });
    expect(out.stats).toEqual({ recorded: 1, failed: 0, dropped: 0, pending: 0 });
    expect(out.ids).toHaveLength(1);
    const stored = await requestJson<{ outputs: unknown }>(t.url, 'GET', `/snapshots/${out.ids[0] as string}`);
    expect(stored.body.outputs).toEqual([{ name: 'decision', value: 'approve' }]);

    const bin = await run(join(dir, 'node_modules', '.bin', 'decision-replay'), ['get', out.ids[0] as string, '--quiet', '--endpoint', t.url], { cwd: dir });
    expect(bin.stdout).toBe(`${out.ids[0] as string}\n`);
  });

  it('exports an audit bundle with the installed bin and verifies it offline with the verification code the package ships', async () => {
    // One sealed (empty) window of the year 2000 in the host's audit store.
    const windowStart = '2000-01-01T00:00:00.000Z';
    const manifestObject = auditObjects.manifest(windowStart);
    const built = buildDigest({ windowStart, windowEnd: '2000-01-01T01:00:00.000Z', entries: [], manifestObject, previous: undefined, createdAt: new Date().toISOString(), keyFingerprint: keyFingerprint(createPublicKey(await t.host.audit.signer.publicKeyPem())) });
    await t.host.audit.store.putDigest(windowStart, { digest: built.bytes, signature: await t.host.audit.signer.sign(built.bytes), manifest: built.manifest, manifestObject });
    const bin = join(dir, 'node_modules', '.bin', 'decision-replay');
    await run(bin, ['export', '--function', 'packed_client', '--from', '2000-01-01T00:00:00Z', '--to', '2000-01-01T01:00:00Z', '-o', 'bundle', '--endpoint', t.url], { cwd: dir });

    const clean = await run(bin, ['verify', '--bundle', 'bundle', '--output', 'json', '--endpoint', 'http://127.0.0.1:9'], { cwd: dir });
    expect(JSON.parse(clean.stdout)).toMatchObject({ clean: true, counts: { digests: 1, records: 0 } });

    writeFileSync(join(dir, 'bundle', 'digests', `${windowStart}.json`), built.bytes.toString('utf8').replace('"recordCount":0', '"recordCount":1'));
    const tampered = await run(bin, ['verify', '--bundle', 'bundle', '--output', 'json'], { cwd: dir }).catch((err: { code: number; stdout: string }) => err);
    expect((tampered as { code?: number }).code).toBe(1);
    expect(JSON.parse(tampered.stdout)).toMatchObject({ clean: false, badSignatures: [expect.objectContaining({ id: windowStart })] });
  });

  it('can be required from CommonJS, as Node 20.19 and later load an ES module', async () => {
    // Before, require() failed with ERR_PACKAGE_PATH_NOT_EXPORTED: the exports named only `import`.
    writeFileSync(join(dir, 'require.cjs'), `const { DecisionReplayClient, createRecorder } = require('@decision-replay/client');\nconsole.log(typeof DecisionReplayClient, typeof createRecorder);\n`);
    const { stdout } = await run(process.execPath, ['require.cjs'], { cwd: dir });
    expect(stdout).toBe('function function\n');
  });

  it('type-checks a TypeScript consumer against the shipped declarations', { timeout: 120_000 }, async () => {
    writeFileSync(
      join(dir, 'consumer.ts'),
      `import { DecisionReplayClient, DecisionReplayError, createRecorder, type Snapshot, type RecordSnapshot } from '@decision-replay/client';
       const client = new DecisionReplayClient({ endpoint: 'http://127.0.0.1:3000', retries: 2 });
       const body: RecordSnapshot = { functionName: 'f', inputs: [], outputs: [{ name: 'x', value: 1 }] };
       export const recorded: Promise<Snapshot> = client.recordSnapshot(body);
       const recorder = createRecorder({ client, maxQueue: 10 });
       const wrapped: (a: number, b: number) => number = recorder.wrap((a: number, b: number) => a + b, { functionName: 'add', inputs: (a, b) => ({ a, b }), outputs: (sum) => ({ sum }) });
       export const n: number = wrapped(1, 2);
       export const isError = (e: unknown) => e instanceof DecisionReplayError && e.status === 404;
       // @ts-expect-error a typo in a route parameter is caught
       client.listSnapshots({ functionNam: 'f' });
      `,
    );
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, ...TSC_FLAGS, 'consumer.ts'], { cwd: dir }).catch((err: { stdout: string }) => ({ stdout: err.stdout, failed: true }));
    expect(result.stdout).toBe('');
  });

  it("runs the README's recorder example as printed: it type-checks strictly and prints the README's output", { timeout: 120_000 }, async () => {
    const example = readmeRecorderExample();
    const where = `README.md line ${example.line}`;
    writeFileSync(join(dir, 'readme-example.ts'), example.code);
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(process.execPath, [tsc, ...TSC_FLAGS, 'readme-example.ts'], { cwd: dir }).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
    expect(checked.stdout, `${where}: the example does not type-check`).toBe('');

    // Run as the user would after compiling it: plain node, the endpoint from DECISION_REPLAY_URL.
    const js = ts.transpileModule(example.code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
    writeFileSync(join(dir, 'readme-example.mjs'), js);
    const { stdout } = await run(process.execPath, ['readme-example.mjs'], { cwd: dir, env: { ...process.env, DECISION_REPLAY_URL: t.url } });
    expect(stdout, `${where}: the example's output differs from the README's`).toBe(example.output);

    const page = await requestJson<{ items: Array<{ outputs: unknown; modelParameters: unknown; context: unknown }> }>(t.url, 'GET', '/snapshots?functionName=approve_loan');
    expect(page.body.items).toEqual([
      expect.objectContaining({
        outputs: [
          { name: 'decision', value: 'review' },
          { name: 'score', value: 0.458 },
        ],
        modelParameters: { modelName: 'demo-credit', modelVersion: 'v1', temperature: 0 },
        context: { tenant: 'acme' },
      }),
    ]);
  });
});
