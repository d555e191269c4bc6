/**
 * `batch compare -o table` (client/src/cli/commands/batch-compare.ts): every column has a header,
 * and the p-values are labelled for what they are, the raw McNemar p apart from the Holm-adjusted one.
 */
import { describe, expect, it } from 'vitest';
import { comparisonTable } from '../../client/src/cli/commands/batch-compare.js';
import type { Comparison } from '../../client/src/schemas.js';

const test = (pValue: number, adjustedPValue: number, significant: boolean) => ({ baseline: 1, candidate: 0.945, difference: -0.055, baselineOnly: 11, candidateOnly: 0, pValue, adjustedPValue, significant });

const comparison = {
  comparisonId: '01M8QEM7K55B3E15CMJ5H01P54',
  baselineBatchId: '01M8QEM3JK5Y0ZGMFV6NSKESA3',
  candidateBatchId: '01M8QEM5C17N8K6MXW2CK3T9SQ',
  alpha: 0.05,
  intersectionOnly: false,
  excluded: { baselineOnly: 0, candidateOnly: 0 },
  pairs: 200,
  verdict: 'worse',
  matchRate: test(0.0009765625, 0.001953125, true),
  errorRate: { ...test(1, 1, false), baseline: 0, candidate: 0, difference: 0, baselineOnly: 0 },
  fields: [{ path: 'outputs.decision', ...test(0.00390625, 0.01171875, true) }],
  fieldsNotTested: 0,
  latency: { pairs: 200, p50: { baselineMs: 17.6, candidateMs: 14.2, differenceMs: -3.4, ci95: [-6.3, -1] }, p95: null, seed: 1, resamples: 1000 },
  createdAt: '2026-12-01T00:03:44.982Z',
} as unknown as Comparison;

/** The table whose header line starts with `first`: its headers and rows, split on runs of 2+ spaces. */
function tableOf(text: string, first: string): { headers: string[]; rows: string[][] } {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${first}  `));
  expect(at, `no table headed '${first}' in:\n${text}`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (let i = at + 2; i < lines.length && (lines[i] ?? '').trim() !== '' && !/:$/.test(lines[i] ?? ''); i++) rows.push((lines[i] ?? '').split(/ {2,}/));
  return { headers: (lines[at] ?? '').split(/ {2,}/), rows };
}

describe('batch compare -o table', () => {
  it('heads every column of the paired tests, and shows the raw p and the Holm-adjusted p under their own headers', () => {
    const { headers, rows } = tableOf(comparisonTable(comparison), 'rate');

    for (const row of rows) expect(row).toHaveLength(headers.length);
    const cell = (row: string[] | undefined, header: string) => row?.[headers.indexOf(header)];
    const match = rows.find((r) => r[0] === 'match rate');
    expect(cell(match, 'p')).toBe('0.0010');
    expect(cell(match, 'p (Holm)')).toBe('0.0020');
    expect(cell(match, 'test')).toBe('McNemar exact');
    expect(headers).not.toContain('');
  });

  it('shows the raw p next to the Holm-adjusted p for each field too', () => {
    const { headers, rows } = tableOf(comparisonTable(comparison), 'field');

    for (const row of rows) expect(row).toHaveLength(headers.length);
    expect(rows[0]?.[headers.indexOf('p')]).toBe('0.0039');
    expect(rows[0]?.[headers.indexOf('p (Holm)')]).toBe('0.0117');
  });
});
