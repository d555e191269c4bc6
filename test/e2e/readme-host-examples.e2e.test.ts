/**
 * README examples outside the tour that run on `npm start -- --in-memory`, on one fresh host:
 * - "## Observability" shows `GET /_local/metrics` "after recording one decision and replaying it
 *   on the demo model v2". This does exactly that, with the tour's own `decision.json` and `pp`
 *   helper (read from the README), then runs the section's curl block and compares its output with
 *   the README's: the series, their dimensions and counts exactly; the measured latencies and lags
 *   (marked in the README) by type only. It runs first, so the counts are of that alone.
 * - "## Use it from your code" shows the SDK recorder wrapping a decision function and what the
 *   program prints: the README's TypeScript runs as written (an ES module, for its top-level await;
 *   tsx, the repository's client package)
 *   against the host, and must print the lines the README shows.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, requestJson } from '../support/http.js';
import { ReadmeSession, ROOT, tourTests } from '../support/readme-session.js';
import { compareOutput, fences, parseTour } from '../support/readme-tour.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const items = parseTour(README, 'Observability');
const tour = parseTour(README);
/** The tour's first block defines `pp`; its first saved file is the decision it records. */
const ppBlock = tour.find((i) => i.kind === 'command');
const decisionFile = tour.find((i) => i.kind === 'file' && i.name === 'decision.json');
/** "Use it from your code": the recorder program (a ts block) and the output block right after it. */
const sdk = fences(README, 'Use it from your code');
const recorderAt = sdk.findIndex((f) => f.lang === 'ts' && f.text.includes('recorder.wrap(approveLoan'));
const recorderProgram = sdk[recorderAt];
const recorderOutput = sdk[recorderAt + 1];

describe('README examples on npm start -- --in-memory: GET /_local/metrics, the SDK recorder', () => {
  const session = new ReadmeSession();
  const call = <T>(method: string, path: string, body?: unknown) => requestJson<T>(`http://127.0.0.1:${session.host.port}`, method, path, body);

  beforeAll(() => session.start(), 120_000);
  afterAll(() => session.stop(), 30_000);

  it('one decision recorded and replayed on the demo model v2, as the section says; pp defined as in the tour', async () => {
    expect(items.filter((i) => i.kind === 'command')).toHaveLength(1);
    expect(ppBlock?.kind === 'command' && ppBlock.script.startsWith('pp()')).toBe(true);
    if (ppBlock?.kind !== 'command' || decisionFile?.kind !== 'file') throw new Error("the tour no longer defines pp first or saves decision.json");
    expect((await session.bash.run(ppBlock.script)).status).toBe(0);
    const recorded = await call<{ snapshotId: string }>('POST', '/snapshots', JSON.parse(decisionFile.content));
    expect(recorded.status).toBe(201);
    expect((await call('PUT', '/functions/approve_loan/executor', { type: 'http', url: `http://127.0.0.1:${session.host.port}/demo/credit/v2` })).status).toBe(200);
    const replayed = await call<{ status: string }>('POST', `/snapshots/${recorded.body.snapshotId}/replay`, {});
    expect(replayed.status).toBe(200);
    // The on-write lag is measured when the stream delivers the write, after its answer: wait for it
    // (reading the metrics only writes out what finished invocations recorded).
    await eventually('the on-write lag of the recorded decision', async () => {
      const metrics = await call<{ items: { name: string }[] }>('GET', '/_local/metrics');
      return metrics.body.items.some((i) => i.name === 'OnWriteLag') ? true : undefined;
    });
  });

  tourTests(session, items, 'observability example');

  it(`README line ${recorderProgram?.line ?? '?'}: the SDK recorder program prints what the README shows`, async () => {
    if (recorderProgram === undefined || recorderOutput === undefined) throw new Error('"Use it from your code" no longer has the recorder program');
    expect(recorderOutput.lang).toBe('');
    expect(recorderOutput.before.trim()).toBe('');
    writeFileSync(join(session.dir, 'recorder.mts'), `${recorderProgram.text}\n`);
    const run = await session.bash.run(`DECISION_REPLAY_URL=http://127.0.0.1:${session.host.port} node --import tsx recorder.mts`);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(compareOutput([{ line: recorderOutput.line, lang: 'text', text: recorderOutput.text }], run.stdout, session.subs)).toEqual([]);
    // It recorded the decision it printed.
    const listed = await call<{ items: { functionName: string; outputs: { name: string; value: unknown }[] }[] }>('GET', '/snapshots?functionName=approve_loan&limit=10');
    expect(listed.body.items.filter((s) => JSON.stringify(s.outputs).includes('0.458'))).toHaveLength(1);
  }, 60_000);
});
