/**
 * README.md's "## Observability" shows `GET /_local/metrics` on `npm start -- --in-memory` "after
 * recording one decision and replaying it on the demo model v2". This does exactly that on a fresh
 * host, with the tour's own `decision.json` and `pp` helper (read from the README), then runs the
 * section's curl block and compares its output with the README's: the series, their dimensions and
 * counts exactly; the measured latencies and lags (marked in the README) by type only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestJson } from '../support/http.js';
import { ReadmeSession, ROOT, tourTests } from '../support/readme-session.js';
import { parseTour } from '../support/readme-tour.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const items = parseTour(README, 'Observability');
const tour = parseTour(README);
/** The tour's first block defines `pp`; its first saved file is the decision it records. */
const ppBlock = tour.find((i) => i.kind === 'command');
const decisionFile = tour.find((i) => i.kind === 'file' && i.name === 'decision.json');

describe('README observability example (GET /_local/metrics), against npm start -- --in-memory', () => {
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
  });

  tourTests(session, items, 'observability example');
});
