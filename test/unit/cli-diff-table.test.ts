/**
 * The diff and replay tables (`-o table`) show each compared value so that what differs is visible:
 * an absent side as `-`, anything present as JSON. Shown as plain cells, null read as absent, the
 * string "1" as the number 1, and numbers rounded to 3 decimals, so a real change could print as
 * `Modified 0.3 0.3`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const A = '01M8VP1EMWG90XEJPS66ZG6ATJ';
const B = '01M8VP1EMWG90XEJPS66ZG6ATK';

const diff = {
  changes: [
    { path: 'outputs.o.n', changeType: 'Removed', oldValue: null },
    { path: 'outputs.o.gone', changeType: 'Removed', oldValue: 'x' },
    { path: 'outputs.o.kind', changeType: 'Modified', oldValue: '1', newValue: 1 },
    { path: 'outputs.o.score', changeType: 'Modified', oldValue: 0.30000000000000004, newValue: 0.3 },
    { path: 'outputs.o.new', changeType: 'Added', newValue: null },
    { path: 'outputs.o.dash', changeType: 'Modified', oldValue: '-', newValue: { a: [1] } },
  ],
  inputsChanged: false,
  outputsChanged: true,
  modelParamsChanged: false,
  dependenciesChanged: false,
  executionTimeDeltaMs: 0,
  integrity: { original: 'verified', updated: 'verified' },
};

const replay = {
  replayId: '01M8VP1EMWG90XEJPS66ZG6ATM',
  snapshotId: A,
  functionName: 'f',
  mode: 'Strict',
  tolerance: null,
  status: 'Failed',
  outputsMatch: false,
  replayOutputs: [{ name: 'o', value: 1 }],
  fieldComparisons: [
    { path: 'outputs.o', comparator: 'ExactMatch', score: 0, threshold: 1, match: false, original: '1', replayed: 1 },
    { path: 'outputs.p', comparator: 'Presence', score: 0, threshold: 1, match: false, original: null },
  ],
  diff: null,
  policy: null,
  policyViolations: [],
  integrity: 'verified',
  executionTimeMs: 1,
  executor: 'fake',
  overrides: null,
  createdAt: '2026-12-02T15:30:15.836Z',
};

describe('CLI diff and replay tables', () => {
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const answer = req.url === `/snapshots/${A}/diff/${B}` ? diff : req.url === `/snapshots/${A}/replay` ? replay : undefined;
      res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer ?? { error: { code: 'NOT_FOUND', message: 'no' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('tells null from absent, a string from a number, and shows numbers whole', async () => {
    const r = await runCli(['diff', A, B, '--endpoint', endpoint, '-o', 'table'], { tty: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^outputs\.o\.n\s+Removed\s+null\s+-$/m);
    expect(r.stdout).toMatch(/^outputs\.o\.gone\s+Removed\s+"x"\s+-$/m);
    expect(r.stdout).toMatch(/^outputs\.o\.kind\s+Modified\s+"1"\s+1$/m);
    expect(r.stdout).toMatch(/^outputs\.o\.score\s+Modified\s+0\.30000000000000004\s+0\.3$/m);
    expect(r.stdout).toMatch(/^outputs\.o\.new\s+Added\s+-\s+null$/m);
    expect(r.stdout).toMatch(/^outputs\.o\.dash\s+Modified\s+"-"\s+\{"a":\[1\]\}$/m);
  });

  it('shows the original and replayed values of a replay the same way', async () => {
    const r = await runCli(['replay', A, '--endpoint', endpoint, '-o', 'table'], { tty: true });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^outputs\.o\s+ExactMatch\s+0\s+false\s+"1"\s+1$/m);
    expect(r.stdout).toMatch(/^outputs\.p\s+Presence\s+0\s+false\s+null\s+-$/m);
  });
});
