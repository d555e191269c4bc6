/**
 * README.md's executor-secrets transcript ("### Executor secrets") is a real run on a local host
 * started with a secret in its environment, as the README says it was started
 * (`DECISION_REPLAY_SECRET_CREDIT_MODEL=… npm start`, read from the README itself). This runs its
 * `$ commands` in one bash session against such a host and compares what each prints with what
 * the README shows: the masked headers, a replay that sends the secret (Success only if the host
 * has it), the refusals of a credential in a URL and of a Secrets Manager ARN locally, and the
 * replay whose secret is not set.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadmeSession, ROOT, transcriptTests } from '../support/readme-session.js';
import { parseTranscripts } from '../support/readme-tour.js';

const SECTION = '### Executor secrets';
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const steps = parseTranscripts(README, SECTION).flat();
/** How the README says the host was started: `NAME=value npm start`. */
const started = /started as `(DECISION_REPLAY_SECRET_[A-Z0-9_]+)=(\S+) npm start`/.exec(README.slice(README.indexOf(`\n${SECTION}\n`)));

describe('README executor-secrets transcript, run against npm start -- --in-memory with the secret set', () => {
  const session = new ReadmeSession();

  beforeAll(() => session.start(started ? { [started[1] as string]: started[2] as string } : {}), 120_000);
  afterAll(() => session.stop(), 30_000);

  it('the section says how its host was started, and has its transcript', () => {
    expect(started?.[1]).toBe('DECISION_REPLAY_SECRET_CREDIT_MODEL');
    expect(steps.length).toBeGreaterThanOrEqual(7);
  });

  transcriptTests(session, steps, 'executor-secrets transcript');

  it('no answer carried the secret value itself', async () => {
    const secret = started?.[2] ?? '';
    // The executor as stored, and a whole replay result of the function whose secret was sent.
    const run = await session.bash.run('curl -s $URL/functions/approve_loan/executor; echo; curl -s -X POST $URL/snapshots/$(record approve_loan)/replay');
    expect(run.stdout).toContain('env:DECISION_REPLAY_SECRET_CREDIT_MODEL');
    // Executed (Failed: v2 decides differently), not an Error for want of the secret.
    expect(run.stdout).toContain('"status":"Failed"');
    expect(secret).not.toBe('');
    expect(run.stdout).not.toContain(secret);
  });
});
