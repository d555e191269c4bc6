import { describe, expect, it } from 'vitest';
import { evaluateGates, ProgressReporter, summaryTable } from '../../client/src/cli/commands/batch.js';
import type { Batch } from '../../client/src/schemas.js';
import { StatsAccumulator } from '../../functions/core/stats.js';

/** A finished batch whose stats are folded from results, as the service computes them. */
function finished(results: { outputsMatch: boolean; integrity?: 'verified' | 'tampered'; mismatchedPaths?: string[] }[]): Batch {
  const acc = new StatsAccumulator();
  for (const r of results) acc.add({ status: r.outputsMatch ? 'Success' : 'Failed', outputsMatch: r.outputsMatch, executionTimeMs: 10, mismatchedPaths: r.mismatchedPaths ?? [], violatedRules: [], integrity: r.integrity ?? 'verified' });
  return {
    batchId: '01M8Q3ZK6GD0ZBFZGZAB8FEEM2',
    status: 'SUCCEEDED',
    total: results.length,
    completed: results.length,
    stats: acc.toJSON(),
  } as Batch;
}

const row = (text: string, key: string) => new RegExp(`^${key}\\s+(.*)$`, 'm').exec(text)?.[1];

describe('batch run summary', () => {
  it('counts tampered snapshots among the mismatches and on their own row: matches + mismatches = successful (DESIGN §6)', () => {
    const batch = finished([
      { outputsMatch: true },
      { outputsMatch: true },
      { outputsMatch: false, mismatchedPaths: ['outputs.score'] },
      { outputsMatch: false, integrity: 'tampered' },
    ]);
    const text = summaryTable(batch, evaluateGates(batch, 0.9, undefined));
    expect(row(text, 'successful')).toBe('4');
    expect(row(text, 'matches')).toBe('2');
    expect(row(text, 'mismatches')).toBe('2');
    expect(row(text, 'tampered')).toBe('1');
    expect(row(text, 'match rate')).toBe('50.0%');
    expect(text).toMatch(/^outputs\.score\s+1$/m);
    expect(text).toMatch(/^min-match-rate\s+90\.0%\s+50\.0%\s+FAIL$/m);
  });

  it('shows n/a, not 0.0% and 0 ms, for the match rate and latency of a batch in which no replay ran', () => {
    // Probe s19: an empty selection read "match rate 0.0%" and "p50 / p95 / p99 ms 0 / 0 / 0".
    const text = summaryTable(finished([]));
    expect(row(text, 'match rate')).toBe('n/a (no successful replay)');
    expect(row(text, 'p50 / p95 / p99 ms')).toBe('n/a');
    expect(row(summaryTable(finished([{ outputsMatch: false }])), 'match rate')).toBe('0.0%');
  });

  it('fails --min-match-rate on a batch in which no replay ran, showing n/a as its actual rate, not 0.0%, in the gates and the last progress line', () => {
    // The summary said "match rate n/a (no successful replay)" while the gates table and the
    // progress line of the same run said 0.0%: every replay a mismatch, which nothing had measured.
    const empty = finished([]);
    const text = summaryTable(empty, evaluateGates(empty, 0.9, 0));
    expect(text).toMatch(/^min-match-rate\s+90\.0%\s+n\/a \(no successful replay\)\s+FAIL$/m);
    // Nor is a batch in which nothing ran within --max-error-rate: it showed nothing about errors.
    expect(text).toMatch(/^max-error-rate\s+0\.0%\s+n\/a \(no replay ran\)\s+FAIL$/m);
    expect(evaluateGates(finished([{ outputsMatch: false }]), undefined, 0).find((g) => g.name === 'max-error-rate')).toMatchObject({ actual: 0, passed: true });
    let line = '';
    new ProgressReporter({ write: (s: string) => (line += s), isTTY: false }, 0, () => 1000).update(empty, true);
    expect(line).toMatch(/ match n\/a\n$/);
    // A batch whose replays all mismatched did measure 0%.
    expect(summaryTable(finished([{ outputsMatch: false }]), evaluateGates(finished([{ outputsMatch: false }]), 0.9, undefined))).toMatch(/^min-match-rate\s+90\.0%\s+0\.0%\s+FAIL$/m);
  });

  it('shows tampered 0 for a clean batch', () => {
    expect(row(summaryTable(finished([{ outputsMatch: true }])), 'tampered')).toBe('0');
  });
});
