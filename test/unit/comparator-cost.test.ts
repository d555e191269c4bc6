import { beforeAll, describe, expect, it } from 'vitest';
import { COMPARATOR_NAMES, loadComparatorEngines, MAX_LEVENSHTEIN_LENGTH, MAX_REGEX_INPUT_LENGTH, runComparator, schemaProblem, type ComparatorName, type ComparatorParams } from '../../functions/core/comparators.js';

// regexProblem and schemaProblem run on engines loaded on first need; policy checks load them first.
beforeAll(() => loadComparatorEngines(COMPARATOR_NAMES));
import type { JsonValue } from '../../functions/core/json.js';
import { LexicalSimilarity } from '../../functions/core/similarity.js';

/**
 * Issue 9, defect 1: comparator cost is bounded on any input within the documented limits. These
 * assert on outcomes, never on time: before the fix each case below either stalled for seconds to
 * minutes (so the test timed out) or was accepted where it is now refused.
 */
const similarity = new LexicalSimilarity();
const run = (comparator: ComparatorName, params: ComparatorParams, value: JsonValue, baseline?: JsonValue) =>
  runComparator(comparator, {
    field: 'outputs.x',
    candidate: { found: true, value },
    baseline: baseline === undefined ? undefined : { found: true, value: baseline },
    params,
    similarity,
  });

describe('Regex rules on the linear-time engine', () => {
  // The four patterns the old ReDoS guard let through; 48 characters of the first took 66 s.
  const evil: [string, string, 'passed' | 'violated'][] = [
    ['^(\\d|\\d\\d)+$', '1'.repeat(48) + 'x', 'violated'],
    // Unanchored at the start: it matches the empty string at the end, after JavaScript's engine
    // has tried every way of splitting the a's at every start position.
    ['(a|a)*$', 'a'.repeat(5_000) + '!', 'passed'],
    ['^(a|a)*$', 'a'.repeat(5_000) + '!', 'violated'],
    ['(a|ab)*c', 'ab'.repeat(4_000), 'violated'],
    ['.*.*.*.*.*=$', 'a'.repeat(MAX_REGEX_INPUT_LENGTH), 'violated'],
    ['(x+x+)+y', 'x'.repeat(MAX_REGEX_INPUT_LENGTH), 'violated'],
  ];

  it.each(evil)('evaluates %s against a crafted worst case without backtracking', { timeout: 2_000 }, async (pattern, text, status) => {
    const verdict = await run('Regex', { pattern }, text);
    expect(verdict.status).toBe(status);
    expect(verdict.message).toBe(status === 'passed' ? 'outputs.x matches the pattern' : 'outputs.x does not match the pattern');
  });

  it('still matches what the patterns describe', async () => {
    expect((await run('Regex', { pattern: '^(\\d|\\d\\d)+$' }, '12345')).status).toBe('passed');
    expect((await run('Regex', { pattern: '(a|ab)*c' }, 'ababc')).status).toBe('passed');
  });

  it('turns a stored pattern the engine refuses into a violation that says so', async () => {
    const verdict = await run('Regex', { pattern: '(a)\\1' }, 'aa');
    expect(verdict.status).toBe('violated');
    expect(verdict.message).toMatch(/could not be checked: the rule's pattern cannot be run/);
  });
});

describe('JsonSchema cost bound', () => {
  const objects = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i, label: `item ${i}` }));

  it('does not compare 20,000 objects pairwise for uniqueItems (9.5 s before): a violation naming the bound', { timeout: 2_000 }, async () => {
    const verdict = await run('JsonSchema', { schema: { type: 'array', uniqueItems: true } }, objects(20_000));
    expect(verdict.status).toBe('violated');
    expect(verdict.message).toMatch(/could not be checked: .*uniqueItems compares every pair.*cost bound/);
  });

  it('still checks uniqueItems on arrays within the bound', async () => {
    expect((await run('JsonSchema', { schema: { uniqueItems: true } }, objects(300))).status).toBe('passed');
    const dup = await run('JsonSchema', { schema: { uniqueItems: true } }, [...objects(300), { id: 0, label: 'item 0' }]);
    expect(dup.status).toBe('violated');
    expect(dup.message).toMatch(/Duplicate items/);
  });

  it('refuses recursive schemas, whose cost grows with the instance depth', () => {
    expect(schemaProblem({ $defs: { n: { anyOf: [{ type: 'number' }, { items: { $ref: '#/$defs/n' } }] } }, $ref: '#/$defs/n' })).toMatch(/cycle/);
  });

  it('refuses a schema whose references expand beyond the bound (a chain of diamonds doubles at each level)', () => {
    const defs: Record<string, JsonValue> = { d0: { type: 'number' } };
    for (let i = 1; i <= 16; i++) defs[`d${i}`] = { anyOf: [{ $ref: `#/$defs/d${i - 1}` }, { items: { $ref: `#/$defs/d${i - 1}` } }] };
    expect(schemaProblem({ $defs: defs, $ref: '#/$defs/d16' })).toMatch(/expands to more than/);
  });
});

describe('Levenshtein cost bound', () => {
  it('refuses texts longer than the bound instead of spending ~0.7 s on 50,000 characters', { timeout: 2_000 }, async () => {
    const a = 'ab'.repeat(MAX_LEVENSHTEIN_LENGTH / 2 + 1);
    const verdict = await run('Levenshtein', { threshold: 0.5 }, a, a.split('').reverse().join(''));
    expect(verdict.status).toBe('violated');
    expect(verdict.message).toContain(`longer than the ${MAX_LEVENSHTEIN_LENGTH} characters`);
  });
});
