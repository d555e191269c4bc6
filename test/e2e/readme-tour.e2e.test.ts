/// <reference lib="dom" />
// Code inside page.evaluate runs in the browser: it needs the DOM types.
/**
 * README.md's "A tour" says every request and response in it was captured from a real run of
 * `npm start -- --in-memory`. This runs the tour's own ```sh blocks, in order, in one bash session
 * against a real `npm start -- --in-memory` on free ports, and compares what each prints with the
 * output the README shows after it (test/support/readme-tour.ts says what may differ). The README is
 * the only copy of the commands: a drift fails here, naming the README line of the block. Then,
 * in the same session, it runs the CLI transcript of "Use it from your code" command by command
 * (test/support/readme-tour.ts, parseTranscripts) and compares each command's output the same way.
 *
 * Last, in the same session, the transcript of "Reports" (a batch and the three report commands),
 * and each file it wrote opened in headless Chromium from disk.
 *
 * The host, the session and the per-block tests are test/support/readme-session.ts's. Needs bash,
 * curl and python3 (the tour's `pp` helper); .ci/run installs curl when it is missing.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../functions/core/batch.js';
import { launchBrowser, openFile, paintedPixels } from '../support/browser.js';
import { requestJson, requestWithHeaders } from '../support/http.js';
import { ReadmeSession, ROOT, tourTests, transcriptTests } from '../support/readme-session.js';
import { parseTour, parseTranscripts, type TourItem } from '../support/readme-tour.js';
import { withoutGenerationTime } from '../support/reports.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const items: TourItem[] = parseTour(README, 'A tour', { transcripts: true });
/** "Use it from your code" shows the tour's main steps from a terminal, with the CLI, on the tour's host after the tour. */
const CLI_SECTION = 'Use it from your code';
const transcripts = parseTranscripts(README, CLI_SECTION);
/** The policy file the CLI transcript uses, given inline in the README's prose. */
const POLICY_JSON = /`policy\.json` is `([^`]+)`/.exec(README.split(`## ${CLI_SECTION}`)[1] ?? '')?.[1];
/** "Reports" runs its commands in the terminal of the CLI transcript, after it. */
const REPORTS_SECTION = 'Reports';
const reports = parseTranscripts(README, REPORTS_SECTION).flat();
/** Each `report` command of the transcript: the view, the README's ids, the file it names. */
const reportCommands = reports.flatMap((step) => {
  const m = /^decision-replay report (batch|diff|replay) ((?:[0-9A-Z]{26} )+)-o (\S+)/.exec(step.command);
  return m ? [{ line: step.line, view: m[1] as 'batch' | 'diff' | 'replay', ids: (m[2] ?? '').trim().split(' '), file: m[3] ?? '' }] : [];
});

describe('README "A tour", run against npm start -- --in-memory', () => {
  const session = new ReadmeSession();

  beforeAll(async () => {
    await session.start();
    // The tour's terminal transcripts run the CLI as a user who installed it would.
    const setup = await session.bash.run([`export PATH="${join(ROOT, 'node_modules/.bin')}:$PATH"`, `export DECISION_REPLAY_URL=http://127.0.0.1:${session.host.port}`].join('\n'));
    if (setup.status !== 0) throw new Error(`session setup failed: ${setup.stderr}`);
  }, 120_000);
  afterAll(() => session.stop(), 30_000);

  tourTests(session, items, 'tour');

  // The CLI transcript: each `$ command` in the same session, after the tour, against the same
  // host. The README shows it as a terminal prints it (tables); piped, the CLI prints JSON unless
  // told `-o table`, so the session's `decision-replay` is the CLI with `-o table` first (a later
  // `-o` in the command still wins). stderr goes where stdout goes, as on a terminal. Each command
  // starts with the previous one's exit status in `$?`, so `$ echo $?` prints it.
  it(`README section "${CLI_SECTION}": the CLI printing tables, policy.json saved`, async () => {
    if (transcripts.length === 0) throw new Error(`README section "${CLI_SECTION}" has no $ transcript`);
    if (POLICY_JSON === undefined) throw new Error(`README section "${CLI_SECTION}" no longer says what policy.json is`);
    writeFileSync(join(session.dir, 'policy.json'), `${JSON.stringify(JSON.parse(POLICY_JSON))}\n`);
    const setup = await session.bash.run('decision-replay() { command decision-replay -o table "$@"; }');
    if (setup.status !== 0) throw new Error(`session setup failed: ${setup.stderr}`);
  });
  transcriptTests(session, transcripts.flat(), 'CLI transcript');

  // "Reports": piped, as the README's commands print there (the report's own -o names the file).
  it(`README section "${REPORTS_SECTION}": the CLI as piped, in the same terminal`, async () => {
    if (reportCommands.map((c) => c.view).join() !== 'batch,diff,replay') throw new Error(`README section "${REPORTS_SECTION}" no longer shows report batch, diff and replay, each with -o FILE`);
    const setup = await session.bash.run('decision-replay() { command decision-replay "$@"; }');
    if (setup.status !== 0) throw new Error(`session setup failed: ${setup.stderr}`);
  });
  transcriptTests(session, reports, 'Reports transcript');

  describe('the files the Reports transcript wrote, opened from disk in headless Chromium', () => {
    let browser: Browser | undefined;
    beforeAll(async () => {
      browser = await launchBrowser();
    }, 60_000);
    afterAll(() => browser?.close());

    it('the batch ran the tour\'s decisions on v2 under the policy loan-regression, as the README says', async () => {
      const batchId = session.subs.apply(reportCommands[0]?.ids[0] ?? '');
      const batch = (await requestJson<Batch>(`http://127.0.0.1:${session.host.port}`, 'GET', `/batches/${batchId}`)).body;
      expect(batch).toMatchObject({ status: 'SUCCEEDED', request: { selector: { functionName: 'approve_loan' }, policyName: 'loan-regression', overrides: { modelParameters: { modelVersion: 'v2' } } } });
    });

    for (const command of reportCommands) {
      it(`README line ${command.line}: ${command.file} is the ${command.view} view the route serves, self-contained: it opens with no request, no error, its charts drawn`, async () => {
        const [a = '', b = ''] = command.ids.map((id) => session.subs.apply(id));
        const route = { batch: `/batches/${a}/report`, diff: `/snapshots/${a}/diff/${b}/report`, replay: `/snapshots/${a}/replays/latest/report` }[command.view];
        const file = join(session.dir, command.file);
        const written = readFileSync(file, 'utf8');
        expect(statSync(file).size).toBe(Buffer.byteLength(written));
        const served = await requestWithHeaders<string>(`http://127.0.0.1:${session.host.port}`, 'GET', route);
        expect(served.status).toBe(200);
        expect(withoutGenerationTime(written)).toBe(withoutGenerationTime(served.text));

        const loaded = await openFile(browser as Browser, file);
        try {
          expect(loaded.errors).toEqual([]);
          expect(loaded.requests).toEqual([]);
          const title = await loaded.page.title();
          for (const id of [a, b].filter((x) => x !== '')) expect(title).toContain(id);
          if (command.view === 'replay') {
            // "its item of this batch": the latest replay is the one the batch stored for it.
            const batchId = session.subs.apply(reportCommands[0]?.ids[0] ?? '');
            const results = await requestJson<{ items: { snapshotId: string; replayId: string }[] }>(`http://127.0.0.1:${session.host.port}`, 'GET', `/batches/${batchId}/results?limit=100`);
            const item = results.body.items.find((r) => r.snapshotId === a);
            expect(item, `the batch of README line ${reportCommands[0]?.line ?? '-'} replayed ${a}`).toBeDefined();
            expect(title).toContain(`Replay ${item?.replayId ?? ''} of ${a}`);
          }
          const painted = await paintedPixels(loaded.page);
          expect(Object.keys(painted).length).toBeGreaterThan(0);
          expect(await loaded.page.evaluate(() => document.documentElement.getAttribute('data-charts-drawn'))).toBe(String(Object.keys(painted).length));
          for (const [id, n] of Object.entries(painted)) expect(n, `chart ${id} is painted`).toBeGreaterThan(500);
        } finally {
          await loaded.page.close();
        }
      }, 60_000);
    }
  });
});
