/**
 * `batch compare <baseline> <candidate>`: the A/B comparison of two finished batches
 * (`POST /comparisons`), printed as a table of the paired tests and the verdict. With
 * `--fail-if-worse` it is a release gate: exit 1 when the candidate is significantly worse.
 * Batches that replayed different snapshots are refused (exit 3, naming how many differ) unless
 * `--intersection` compares only the snapshots both replayed; batches judged under different
 * settings (mode, tolerance, policy, noise profile) are refused too (exit 3, naming each), and one
 * batch given twice is a usage error (exit 2): a gate never passes on a refused comparison.
 */
import type { Comparison } from '../../schemas.js';
import { DecisionReplayError } from '../../errors.js';
import { asUsage, EXIT, str, UsageError, type Command } from '../framework.js';
import { cell, columns, keyValues, percent } from '../table.js';

/** How many fields the table lists (the most significant first). */
const TOP_FIELDS = 10;

/** A difference of two rates, in percentage points: 61.5 % → 53.8 % is -7.7pp, not -7.7 %. */
function signedPoints(d: number): string {
  return `${d > 0 ? '+' : ''}${(d * 100).toFixed(1)}pp`;
}

function pValue(p: number): string {
  return p < 0.0001 ? '<0.0001' : p.toFixed(4);
}

function ms(d: number): string {
  return `${d > 0 ? '+' : ''}${cell(Math.round(d * 100) / 100)}`;
}

/** The comparison as the CLI prints it: the verdict, then one row per test. */
export function comparisonTable(c: Comparison): string {
  const rows: [string, unknown][] = [
    ['comparisonId', c.comparisonId],
    ['baseline', c.baselineBatchId],
    ['candidate', c.candidateBatchId],
    ['pairs', c.pairs],
    ['alpha', c.alpha],
  ];
  if (c.intersectionOnly) rows.push(['left out', `${c.excluded.baselineOnly} only in the baseline, ${c.excluded.candidateOnly} only in the candidate`]);
  rows.push(['verdict', c.verdict]);
  let text = keyValues(rows);
  // `p` is the test's own p-value, `p (Holm)` the one adjusted over the family (the match and
  // error tests; the fields), which `significant` compares with alpha.
  const rate = (name: string, t: Comparison['matchRate'], test: string) => [name, percent(t.baseline), percent(t.candidate), signedPoints(t.difference), `${t.baselineOnly} / ${t.candidateOnly}`, pValue(t.pValue), pValue(t.adjustedPValue), t.significant ? 'yes' : 'no', test];
  text += `\n${columns(
    ['rate', 'baseline', 'candidate', 'difference', 'discordant b/c', 'p', 'p (Holm)', 'significant', 'test'],
    [rate('match rate', c.matchRate, 'McNemar exact'), rate('error rate', c.errorRate, 'McNemar exact')],
  )}`;
  const fields = [...c.fields].sort((a, b) => a.adjustedPValue - b.adjustedPValue || a.path.localeCompare(b.path)).slice(0, TOP_FIELDS);
  if (fields.length > 0) {
    text += `\nmismatch rate per field (McNemar exact, Holm-adjusted over the fields${c.fields.length > TOP_FIELDS ? `, ${TOP_FIELDS} of ${c.fields.length}` : ''}):\n`;
    text += columns(['field', 'baseline', 'candidate', 'difference', 'p', 'p (Holm)', 'significant'], fields.map((f) => [f.path, percent(f.baseline), percent(f.candidate), signedPoints(f.difference), pValue(f.pValue), pValue(f.adjustedPValue), f.significant ? 'yes' : 'no']));
  }
  const q = (name: string, d: Comparison['latency']['p50']) => (d === null ? [name, '-', '-', '-', '-'] : [name, cell(d.baselineMs), cell(d.candidateMs), ms(d.differenceMs), `[${ms(d.ci95[0])}, ${ms(d.ci95[1])}]`]);
  text += `\nlatency (ms, bootstrap 95% CI, ${c.latency.resamples} resamples, seed ${c.latency.seed}):\n`;
  text += columns(['quantile', 'baseline', 'candidate', 'difference', '95% CI'], [q('p50', c.latency.p50), q('p95', c.latency.p95)]);
  return text;
}

export const batchCompareCommand: Command = {
  name: ['batch', 'compare'],
  summary: 'compare two finished batches snapshot by snapshot: better, worse or no significant difference',
  args: '<baselineBatchId> <candidateBatchId>',
  positionals: { min: 2, max: 2 },
  options: {
    alpha: { type: 'string', value: 'A', description: 'significance level, in [1e-130, 0.5] (default 0.05)' },
    'fail-if-worse': { type: 'boolean', description: 'gate: exit 1 when the verdict is worse (the release gate for CI)' },
    intersection: { type: 'boolean', description: 'compare only the snapshots both batches replayed (else batches that differ are refused)' },
  },
  details: 'Paired per snapshot: match rate and error rate with McNemar\'s exact test, per-field mismatch rates with Holm-adjusted p-values, p50/p95 latency differences with seeded bootstrap 95% intervals.',
  async run(ctx, { positionals, values }) {
    const [baselineBatchId, candidateBatchId] = positionals as [string, string];
    // Checked here too (the service answers 400 SAME_BATCH): one batch twice is a bad argument.
    if (baselineBatchId.toUpperCase() === candidateBatchId.toUpperCase()) throw new UsageError(`<baselineBatchId> and <candidateBatchId> are both '${baselineBatchId}': compare two different batches`);
    // One rule, said once, with the value as given: 0 (and -0) is refused as much as 0.7.
    const alphaText = str(values, 'alpha');
    const alpha = alphaText === undefined ? undefined : Number(alphaText);
    if (alphaText !== undefined && (alphaText.trim() === '' || !(Number(alpha) > 0 && Number(alpha) <= 0.5))) {
      throw new UsageError(`--alpha must be a number more than 0 and at most 0.5 (for example 0.05), got '${alphaText}'`);
    }
    const intersectionOnly = values.intersection === true;
    let comparison: Comparison;
    try {
      comparison = await asUsage(() => ctx.client.compareBatches({ baselineBatchId, candidateBatchId, ...(alpha !== undefined && { alpha }), ...(intersectionOnly && { intersectionOnly }) }));
    } catch (err) {
      // Name the CLI's own flag, not the API field, in the service's refusal.
      if (err instanceof DecisionReplayError && err.code === 'BATCHES_DIFFER') throw new DecisionReplayError(err.status, err.code, err.message.replace('with intersectionOnly: true', 'with --intersection'), err.details);
      throw err;
    }
    ctx.out.result(comparison, comparisonTable, comparison.verdict);
    return values['fail-if-worse'] === true && comparison.verdict === 'worse' ? EXIT.GATED : EXIT.OK;
  },
};
