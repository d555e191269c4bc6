/**
 * README.md's A/B comparison example ("### A/B comparisons: is the candidate better, worse, or
 * noise?") is a real run: 200 demo-model decisions recorded with the client SDK, replayed on v1 and
 * v2 with the CLI, compared over HTTP, the BATCHES_DIFFER answer and the CLI's release gate. This
 * runs the section's own ```sh blocks, in order, in one bash session against a fresh
 * `npm start -- --in-memory`, and compares what each prints with what the README shows (ids and
 * timestamps unified; the latency figures, marked in the README, by type only), so the example's
 * counts, p-values and verdicts cannot drift from the service that computes them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadmeSession, ROOT, tourTests } from '../support/readme-session.js';
import { parseTour } from '../support/readme-tour.js';

const SECTION = '### A/B comparisons: is the candidate better, worse, or noise?';
const items = parseTour(readFileSync(join(ROOT, 'README.md'), 'utf8'), SECTION);

describe('README A/B comparison example, run against npm start -- --in-memory', () => {
  const session = new ReadmeSession();

  beforeAll(() => session.start(), 120_000);
  afterAll(() => session.stop(), 30_000);

  it('the section has its example: recording, the batches, both comparisons and the CLI gate', () => {
    const commands = items.filter((i) => i.kind === 'command');
    expect(commands.length).toBeGreaterThanOrEqual(5);
    expect(commands.every((c) => c.mark.kind !== 'skip' && c.expected.length > 0)).toBe(true);
  });

  tourTests(session, items, 'A/B comparison');
});
