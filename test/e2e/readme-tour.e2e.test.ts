/**
 * README.md's "A tour" says every request and response in it was captured from a real run of
 * `npm start -- --in-memory`. This runs the tour's own ```sh blocks, in order, in one bash session
 * against a real `npm start -- --in-memory` on free ports, and compares what each prints with the
 * output the README shows after it (test/support/readme-tour.ts says what may differ). The README is
 * the only copy of the commands: a drift fails here, naming the README line of the block. Then,
 * in the same session, it runs the CLI transcript of "Use it from your code" command by command
 * (test/support/readme-tour.ts, parseTranscripts) and compares each command's output the same way.
 *
 * The host, the session and the per-block tests are test/support/readme-session.ts's. Needs bash,
 * curl and python3 (the tour's `pp` helper); .ci/run installs curl when it is missing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ReadmeSession, ROOT, tourTests, transcriptTests } from '../support/readme-session.js';
import { parseTour, parseTranscripts, type TourItem } from '../support/readme-tour.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const items: TourItem[] = parseTour(README);
/** "Use it from your code" shows the tour's main steps from a terminal, with the CLI, on the tour's host after the tour. */
const CLI_SECTION = 'Use it from your code';
const transcripts = parseTranscripts(README, CLI_SECTION);
/** The policy file the CLI transcript uses, given inline in the README's prose. */
const POLICY_JSON = /`policy\.json` is `([^`]+)`/.exec(README.split(`## ${CLI_SECTION}`)[1] ?? '')?.[1];

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
});
