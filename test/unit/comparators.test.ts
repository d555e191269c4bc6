import { beforeAll, describe, expect, it } from 'vitest';
import {
  COMPARATOR_NAMES,
  comparatorParamIssues,
  display,
  loadComparatorEngines,
  MAX_DISPLAY_LENGTH,
  MAX_REGEX_INPUT_LENGTH,
  needsBaseline,
  regexProblem,
  runComparator,
  schemaProblem,
  type ComparatorName,
  type ComparatorParams,
  type ComparatorVerdict,
} from '../../functions/core/comparators.js';

// regexProblem and schemaProblem run on engines loaded on first need; policy checks load them first.
beforeAll(() => loadComparatorEngines(COMPARATOR_NAMES));
import type { PathRead } from '../../functions/core/field-path.js';
import type { JsonValue } from '../../functions/core/json.js';
import { LexicalSimilarity, type SimilarityProvider } from '../../functions/core/similarity.js';

const lexical = new LexicalSimilarity();
const found = (value: JsonValue): PathRead => ({ found: true, value });
const missing: PathRead = { found: false, missingAt: 'outputs.x' };

/** Runs a comparator at `outputs.x`; `baseline` undefined means "no baseline decision". */
function run(comparator: ComparatorName, params: ComparatorParams, candidate: PathRead, baseline?: PathRead, similarity: SimilarityProvider = lexical): Promise<ComparatorVerdict> {
  return runComparator(comparator, { field: 'outputs.x', params, candidate, baseline, similarity });
}

describe('ExactMatch', () => {
  it('passes with score 1 for canonically equal values (key order ignored)', async () => {
    const v = await run('ExactMatch', {}, found({ a: 1, b: [1, 2] }), found({ b: [1, 2], a: 1 }));
    expect(v).toMatchObject({ status: 'passed', score: 1 });
  });

  it('is violated with score 0 for different values and shows both', async () => {
    const v = await run('ExactMatch', {}, found('decline'), found('approve'));
    expect(v).toEqual({ status: 'violated', score: 0, expected: '"approve"', actual: '"decline"', message: 'outputs.x differs from the baseline' });
  });

  it('distinguishes a number from its string form and nested differences', async () => {
    expect((await run('ExactMatch', {}, found('1'), found(1))).status).toBe('violated');
    expect((await run('ExactMatch', {}, found({ a: [1, { b: 2 }] }), found({ a: [1, { b: 3 }] }))).status).toBe('violated');
  });

  it('is skipped with reason "no baseline" when there is no baseline decision', async () => {
    const v = await run('ExactMatch', {}, found(1), undefined);
    expect(v).toMatchObject({ status: 'skipped', reason: 'no baseline' });
  });

  it('is violated, not skipped, when the field is missing from the candidate or the baseline', async () => {
    const noCandidate = await run('ExactMatch', {}, missing, found(1));
    expect(noCandidate).toMatchObject({ status: 'violated', actual: '(missing)', message: 'outputs.x is missing from the candidate' });
    const noBaselineField = await run('ExactMatch', {}, found(1), missing);
    expect(noBaselineField.status).toBe('violated');
    expect(noBaselineField.message).toContain('missing from the baseline');
    expect((await run('ExactMatch', {}, missing, missing)).status).toBe('violated');
  });
});

describe('SemanticSimilarity', () => {
  it('really violates a 0.9 threshold for a low-similarity output and records provider and score', async () => {
    const v = await run('SemanticSimilarity', { threshold: 0.9 }, found('The applicant is declined due to insufficient income.'), found('Approved: income is well above the threshold.'));
    expect(v.status).toBe('violated');
    expect(v.provider).toBe('lexical');
    expect(v.score).toBeGreaterThanOrEqual(0);
    expect(v.score).toBeLessThan(0.9);
    expect(v.message).toContain('below the threshold of 0.9');
  });

  it('passes identical text with score exactly 1', async () => {
    const v = await run('SemanticSimilarity', { threshold: 1 }, found('Income is well above the threshold.'), found('Income is well above the threshold.'));
    expect(v).toMatchObject({ status: 'passed', score: 1, provider: 'lexical' });
  });

  it('scores the same words in another case and punctuation as 1', async () => {
    const v = await run('SemanticSimilarity', { threshold: 0.99 }, found('INCOME, well above threshold!'), found('income well above threshold'));
    expect(v).toMatchObject({ status: 'passed', score: 1 });
  });

  it('compares non-string values by their canonical JSON text', async () => {
    const seen: string[][] = [];
    const spy: SimilarityProvider = { name: 'spy', similarity: async (a, b) => (seen.push([a, b]), 0.5) };
    const v = await run('SemanticSimilarity', { threshold: 0.4 }, found({ b: 2, a: 1 }), found(42), spy);
    expect(seen).toEqual([['42', '{"a":1,"b":2}']]);
    expect(v).toMatchObject({ status: 'passed', score: 0.5, provider: 'spy' });
  });

  it('refuses a provider score outside [0, 1] instead of passing', async () => {
    const broken: SimilarityProvider = { name: 'broken', similarity: async () => Number.NaN };
    await expect(run('SemanticSimilarity', { threshold: 0.5 }, found('a'), found('b'), broken)).rejects.toThrow(/outside \[0, 1\]/);
  });

  it('is skipped without a baseline and violated when the candidate lacks the field', async () => {
    expect(await run('SemanticSimilarity', { threshold: 0.5 }, found('a'))).toMatchObject({ status: 'skipped', reason: 'no baseline' });
    expect(await run('SemanticSimilarity', { threshold: 0.5 }, missing, found('a'))).toMatchObject({ status: 'violated', actual: '(missing)' });
  });
});

describe('MaxIncreasePercent / MaxDecreasePercent', () => {
  it('passes an increase at exactly the threshold and violates one above it', async () => {
    expect(await run('MaxIncreasePercent', { threshold: 10 }, found(110), found(100))).toMatchObject({ status: 'passed', score: 10 });
    const v = await run('MaxIncreasePercent', { threshold: 10 }, found(112.5), found(100));
    expect(v).toMatchObject({ status: 'violated', score: 12.5, expected: 'increase <= 10%', actual: '+12.5% (100 → 112.5)', message: 'outputs.x changed by +12.5% (100 → 112.5), an increase of more than 10%' });
  });

  it('treats an increase equal to the threshold up to floating-point noise as at the threshold', async () => {
    // (0.33 - 0.3) * 100 / 0.3 computes as 10.000000000000009.
    expect((await run('MaxIncreasePercent', { threshold: 10 }, found(0.33), found(0.3))).status).toBe('passed');
    // 0.7 → 0.63 computes as −9.999999999999998 %: exactly 10 % down, at the threshold either way.
    expect((await run('MaxDecreasePercent', { threshold: 10 }, found(0.63), found(0.7))).status).toBe('passed');
  });

  it('judges the decimal values as written, so no real excess passes as rounding noise', async () => {
    // Threshold 0 is "must not increase at all": 1e12 → 1e12 + 1 is +1e-10 %, an increase.
    const tiny = await run('MaxIncreasePercent', { threshold: 0 }, found(1e12 + 1), found(1e12));
    expect(tiny.status).toBe('violated');
    expect((await run('MaxDecreasePercent', { threshold: 0 }, found(1e12 - 1), found(1e12))).status).toBe('violated');
    // 10 % of 1e12 plus 0.005: over the threshold by 5e-10 percentage points.
    expect((await run('MaxIncreasePercent', { threshold: 10 }, found(1.1e12 + 0.005), found(1e12))).status).toBe('violated');
    expect((await run('MaxIncreasePercent', { threshold: 10 }, found(1.1e12), found(1e12))).status).toBe('passed');
    // A threshold far below the old 1e-9 allowance still bounds the change.
    expect((await run('MaxIncreasePercent', { threshold: 1e-12 }, found(1 + 1e-14), found(1))).status).toBe('passed');
    expect((await run('MaxIncreasePercent', { threshold: 1e-12 }, found(1 + 1e-13), found(1))).status).toBe('violated');
    // Magnitudes at both ends of what a snapshot stores.
    expect((await run('MaxIncreasePercent', { threshold: 50 }, found(1.5e-130), found(1e-130))).status).toBe('passed');
    expect((await run('MaxIncreasePercent', { threshold: 50 }, found(1.5000000001e-130), found(1e-130))).status).toBe('violated');
    expect((await run('MaxDecreasePercent', { threshold: 100 }, found(-9e125), found(9e125))).status).toBe('violated');
  });

  it("prints a computed percentage to 12 significant digits, not binary floating point's error", async () => {
    // 0.1 → 1e15 is +999999999999999900 %; it computes as 999999999999999700.
    const huge = await run('MaxIncreasePercent', { threshold: 10 }, found(1e15), found(0.1));
    expect(huge).toMatchObject({ status: 'violated', actual: '+1000000000000000000% (0.1 → 1000000000000000)' });
    // The values themselves are printed as they are, all their digits.
    expect((await run('MaxIncreasePercent', { threshold: 10 }, found(1234567890123456), found(1))).actual).toBe('+123456789012000000% (1 → 1234567890123456)');
  });

  it('ignores movement in the allowed direction', async () => {
    expect((await run('MaxIncreasePercent', { threshold: 0 }, found(50), found(100))).status).toBe('passed');
    expect((await run('MaxDecreasePercent', { threshold: 0 }, found(150), found(100))).status).toBe('passed');
  });

  it('measures a decrease downward', async () => {
    expect(await run('MaxDecreasePercent', { threshold: 20 }, found(80), found(100))).toMatchObject({ status: 'passed', score: -20 });
    expect(await run('MaxDecreasePercent', { threshold: 20 }, found(79), found(100))).toMatchObject({ status: 'violated', score: -21 });
  });

  it('divides by |baseline| so a negative baseline moving up is an increase', async () => {
    // -10 → -5 is +50 %.
    expect(await run('MaxIncreasePercent', { threshold: 40 }, found(-5), found(-10))).toMatchObject({ status: 'violated', score: 50 });
    expect(await run('MaxDecreasePercent', { threshold: 40 }, found(-5), found(-10))).toMatchObject({ status: 'passed', score: 50 });
    // -10 → -20 is −100 %.
    expect(await run('MaxDecreasePercent', { threshold: 50 }, found(-20), found(-10))).toMatchObject({ status: 'violated', score: -100 });
  });

  it('with a baseline of 0 violates any change in the forbidden direction and passes the rest', async () => {
    const up = await run('MaxIncreasePercent', { threshold: 1000 }, found(0.001), found(0));
    expect(up.status).toBe('violated');
    expect(up.message).toContain('baseline outputs.x is 0, so any increase violates');
    expect((await run('MaxIncreasePercent', { threshold: 10 }, found(0), found(0))).status).toBe('passed');
    expect((await run('MaxIncreasePercent', { threshold: 10 }, found(-3), found(0))).status).toBe('passed');
    expect((await run('MaxDecreasePercent', { threshold: 10 }, found(-3), found(0))).status).toBe('violated');
    expect((await run('MaxDecreasePercent', { threshold: 10 }, found(3), found(0))).status).toBe('passed');
  });

  it('violates, with a message, when a value is a string, null, an object or not finite', async () => {
    const s = await run('MaxIncreasePercent', { threshold: 10 }, found('105'), found(100));
    expect(s).toMatchObject({ status: 'violated', message: 'candidate outputs.x is a string ("105"), not a number' });
    const b = await run('MaxIncreasePercent', { threshold: 10 }, found(105), found(null));
    expect(b.status).toBe('violated');
    expect(b.message).toContain('baseline outputs.x is null');
    expect((await run('MaxDecreasePercent', { threshold: 10 }, found({ v: 1 }), found(1))).message).toContain('is an object');
    expect((await run('MaxDecreasePercent', { threshold: 10 }, found(Number.NaN), found(1))).message).toContain('not a finite number');
    expect((await run('MaxIncreasePercent', { threshold: 10 }, found(1), found(Number.POSITIVE_INFINITY))).message).toContain('Infinity, not a finite number');
  });

  it('is skipped without a baseline and violated when a side lacks the field', async () => {
    expect(await run('MaxIncreasePercent', { threshold: 10 }, found(1))).toMatchObject({ status: 'skipped', reason: 'no baseline' });
    expect((await run('MaxIncreasePercent', { threshold: 10 }, missing, found(1))).status).toBe('violated');
    expect((await run('MaxDecreasePercent', { threshold: 10 }, found(1), missing)).status).toBe('violated');
  });
});

describe('WithinRange', () => {
  it('passes inclusive bounds and records the candidate as score', async () => {
    expect(await run('WithinRange', { min: 0, max: 1 }, found(0))).toMatchObject({ status: 'passed', score: 0 });
    expect(await run('WithinRange', { min: 0, max: 1 }, found(1))).toMatchObject({ status: 'passed', score: 1 });
    expect(await run('WithinRange', { min: 0, max: 1 }, found(0.82))).toMatchObject({ status: 'passed', score: 0.82 });
  });

  it('violates values outside and says which bound', async () => {
    expect(await run('WithinRange', { min: 0, max: 1 }, found(1.2))).toMatchObject({ status: 'violated', expected: 'within [0, 1]', actual: '1.2', message: 'outputs.x is 1.2, above the maximum of 1' });
    expect((await run('WithinRange', { min: -5, max: 5 }, found(-6))).message).toBe('outputs.x is -6, below the minimum of -5');
  });

  it('needs no baseline and violates missing, string and non-finite candidates', async () => {
    expect(needsBaseline('WithinRange')).toBe(false);
    expect((await run('WithinRange', { min: 0, max: 1 }, missing)).message).toBe('outputs.x is missing from the candidate');
    expect((await run('WithinRange', { min: 0, max: 1 }, found('0.5'))).status).toBe('violated');
    expect((await run('WithinRange', { min: 0, max: 1 }, found([0.5]))).message).toContain('is an array');
    expect((await run('WithinRange', { min: 0, max: 1 }, found(Number.NaN))).status).toBe('violated');
    expect((await run('WithinRange', { min: 0, max: 1 }, found(true))).message).toContain('is a boolean');
  });
});

describe('Regex', () => {
  it('passes a matching string and violates a non-matching one', async () => {
    expect((await run('Regex', { pattern: '^(approve|decline)$' }, found('approve'))).status).toBe('passed');
    expect(await run('Regex', { pattern: '^(approve|decline)$' }, found('maybe'))).toMatchObject({ status: 'violated', message: 'outputs.x does not match the pattern' });
  });

  it('matches with Unicode semantics', async () => {
    expect((await run('Regex', { pattern: '^\\p{Lu}' }, found('Ärger'))).status).toBe('passed');
  });

  it('matches NFC text: an accent written as a combining mark is the same text as the composed letter', async () => {
    const composed = 'caf\u00e9';
    const decomposed = 'cafe\u0301';
    expect((await run('Regex', { pattern: '^café$' }, found(decomposed))).status).toBe('passed');
    expect((await run('Regex', { pattern: `^${decomposed}$` }, found(composed))).status).toBe('passed');
    expect((await run('Regex', { pattern: '^caf.$' }, found(decomposed))).status).toBe('passed');
    // The text is reported as given, not as normalised.
    expect((await run('Regex', { pattern: '^tea$' }, found(decomposed))).actual).toBe(JSON.stringify(decomposed));
  });

  it('violates non-strings, missing values and over-long input rather than matching them', async () => {
    expect((await run('Regex', { pattern: '^\\d+$' }, found(42))).message).toContain('is a number, not a string');
    expect((await run('Regex', { pattern: '.' }, missing)).status).toBe('violated');
    const long = await run('Regex', { pattern: 'a' }, found('a'.repeat(MAX_REGEX_INPUT_LENGTH + 1)));
    expect(long.status).toBe('violated');
    expect(long.message).toContain(`more than the ${MAX_REGEX_INPUT_LENGTH}`);
  });

  it('refuses invalid, over-long and non-linear patterns', () => {
    expect(regexProblem('([')).toMatch(/invalid regular expression/);
    expect(regexProblem('a'.repeat(513))).toMatch(/longer than 512/);
    expect(regexProblem('(a)\\1')).toMatch(/backreferences and lookaround/);
    expect(regexProblem('(?=a)b')).toMatch(/backreferences and lookaround/);
    expect(regexProblem('(?:[a-z]?){500}')).toMatch(/RE2 instructions/);
    expect(regexProblem('^[a-z]+(-[a-z]+)?$')).toBeUndefined();
    expect(regexProblem('^(foo|bar)+$')).toBeUndefined();
    // Nested quantifiers are fine on a linear-time engine.
    expect(regexProblem('(a+)+$')).toBeUndefined();
  });
});

describe('Contains', () => {
  it('checks substrings of strings', async () => {
    expect((await run('Contains', { value: 'income' }, found('Income is high; income verified'))).status).toBe('passed');
    expect(await run('Contains', { value: 'debt' }, found('Income is high'))).toMatchObject({ status: 'violated', message: 'outputs.x does not contain "debt"' });
  });

  it('finds NFC text in NFC text, however either writes its accents', async () => {
    expect((await run('Contains', { value: 'caf\u00e9' }, found('Le cafe\u0301 est ouvert'))).status).toBe('passed');
    expect((await run('Contains', { value: 'cafe\u0301' }, found('Le caf\u00e9 est ouvert'))).status).toBe('passed');
    // A base letter alone is not found inside its accented form (NFC keeps é one character).
    expect((await run('Contains', { value: 'cafe' }, found('Le cafe\u0301 est ouvert'))).status).toBe('violated');
  });

  it('checks array elements by canonical equality', async () => {
    expect((await run('Contains', { value: { code: 'R1', w: 1 } }, found([{ w: 1, code: 'R1' }, 'x']))).status).toBe('passed');
    expect((await run('Contains', { value: 2 }, found([1, '2', 3]))).status).toBe('violated');
  });

  it('violates when the candidate is neither a string nor an array, or a string is searched for a non-string', async () => {
    expect((await run('Contains', { value: 1 }, found({ a: 1 }))).message).toContain('Contains needs a string or an array');
    expect((await run('Contains', { value: 1 }, found('1'))).message).toContain('not a number');
    expect((await run('Contains', { value: 'a' }, missing)).status).toBe('violated');
  });
});

describe('JsonSchema', () => {
  const schema = { type: 'object', required: ['code'], properties: { code: { type: 'string', enum: ['R1', 'R2'] }, weight: { type: 'number', minimum: 0 } } };

  it('passes a valid candidate and violates an invalid one naming the failing location', async () => {
    expect((await run('JsonSchema', { schema }, found({ code: 'R1', weight: 2 }))).status).toBe('passed');
    const v = await run('JsonSchema', { schema }, found({ code: 'X', weight: -1 }));
    expect(v.status).toBe('violated');
    expect(v.message).toContain('not valid against the schema');
    expect(v.message).toMatch(/#\/(code|weight)/);
  });

  it('violates a missing candidate even for a schema that accepts anything', async () => {
    expect((await run('JsonSchema', { schema: true }, missing)).status).toBe('violated');
  });

  it('refuses schemas that are not objects or booleans, or that hold patterns (run by a backtracking engine)', () => {
    expect(schemaProblem([1])).toMatch(/JSON Schema object or a boolean/);
    expect(schemaProblem({ type: 'string', pattern: '^R\\d+$' })).toMatch(/'pattern' runs on JavaScript's backtracking RegExp.*Regex rule/);
    expect(schemaProblem({ patternProperties: { '^a': {} } })).toMatch(/'patternProperties'/);
    expect(schemaProblem(schema)).toBeUndefined();
  });

  it('refuses a $ref that resolves to nothing (it would only fail when a decision reached it), and accepts local ones that resolve', () => {
    expect(schemaProblem({ properties: { x: { $ref: '#/$defs/missing' } } })).toMatch(/\$ref "#\/\$defs\/missing" does not resolve/);
    expect(schemaProblem({ $ref: 'https://example.com/schema.json' })).toMatch(/does not resolve/);
    expect(schemaProblem({ $defs: { code: { type: 'string' } }, properties: { x: { $ref: '#/$defs/code' } } })).toBeUndefined();
  });

  it('refuses schemas that are not valid JSON Schema, naming the keyword and where it is (s12 D10)', () => {
    // Before: all three were accepted; `type: "nonsense"` and `maxLength: -3` then failed every
    // value, and `minLength: "five"` was ignored, so the rule checked nothing.
    expect(schemaProblem({ type: 'nonsense' })).toMatch(/^not a valid JSON Schema \(draft 2020-12 meta-schema\): 'type' at #\/type must be one of array, boolean, integer, null, number, object, string/);
    expect(schemaProblem({ minLength: 'five' })).toBe('not a valid JSON Schema (draft 2020-12 meta-schema): \'minLength\' at #/minLength must be a non-negative integer, got string "five"');
    expect(schemaProblem({ type: 'string', maxLength: -3 })).toBe('not a valid JSON Schema (draft 2020-12 meta-schema): \'maxLength\' at #/maxLength must be a non-negative integer, got number -3');
    expect(schemaProblem({ properties: { code: { type: 'string', minLength: 1.5 } } })).toMatch(/'minLength' at #\/properties\/code\/minLength must be a non-negative integer/);
  });

  it('describes a malformed keyword instead of passing on the validator’s internal error (s12 D17)', () => {
    // Before: "schema cannot be used: $enum.some is not a function".
    expect(schemaProblem({ enum: 'notarray' })).toBe('not a valid JSON Schema (draft 2020-12 meta-schema): \'enum\' at #/enum must be an array, got string "notarray"');
    // Schemas the meta-schema accepts but the validator throws on: described, never its text.
    const duplicateId = schemaProblem({ $defs: { a: { $id: 'https://example.com/x' }, b: { $id: 'https://example.com/x' } } });
    expect(duplicateId).toBe('schema cannot be used: two of its subschemas declare the same $id');
    const badUri = schemaProblem({ $id: 'http://[::1' });
    expect(badUri).toBe('schema cannot be used: an $id or $ref is not a valid URI reference');
    for (const problem of [duplicateId, badUri]) expect(problem).not.toMatch(/TypeError|is not a function|Invalid URL|Duplicate schema URI/);
  });

  it('violates, naming the problem, with a stored schema that is not valid JSON Schema instead of passing everything', async () => {
    const v = await run('JsonSchema', { schema: { minLength: 'five' } }, found('a'));
    expect(v.status).toBe('violated');
    expect(v.message).toBe('outputs.x could not be checked: the rule\'s schema cannot be applied (not a valid JSON Schema (draft 2020-12 meta-schema): \'minLength\' at #/minLength must be a non-negative integer, got string "five")');
    expect((await run('JsonSchema', { schema: { enum: 'notarray' } }, found('a'))).message).not.toContain('is not a function');
  });

  it('turns a schema the validator cannot apply into a violation that says so, not an exception', async () => {
    const v = await run('JsonSchema', { schema: { properties: { x: { $ref: '#/$defs/missing' } } } }, found({ x: 1 }));
    expect(v.status).toBe('violated');
    expect(v.message).toContain('cannot be applied');
  });
});

describe('Levenshtein', () => {
  it('scores 1 − distance / longer length', async () => {
    // kitten → sitting: distance 3, longer length 7.
    const v = await run('Levenshtein', { threshold: 0.5 }, found('sitting'), found('kitten'));
    expect(v.status).toBe('passed');
    expect(v.score).toBeCloseTo(1 - 3 / 7, 12);
    expect((await run('Levenshtein', { threshold: 0.6 }, found('sitting'), found('kitten'))).status).toBe('violated');
  });

  it('scores two empty strings as 1 and compares non-strings by canonical JSON', async () => {
    expect(await run('Levenshtein', { threshold: 1 }, found(''), found(''))).toMatchObject({ status: 'passed', score: 1 });
    // {"a":1} vs {"a":2}: one substitution in 7 characters.
    expect((await run('Levenshtein', { threshold: 0 }, found({ a: 2 }), found({ a: 1 }))).score).toBeCloseTo(6 / 7, 12);
  });

  it('counts characters, not UTF-16 units, of NFC text (two different emoji scored 0.5; é and e + U+0301 scored 0)', async () => {
    expect(await run('Levenshtein', { threshold: 0.5 }, found('😡'), found('😀'))).toMatchObject({ status: 'violated', score: 0 });
    // kitten → sitting with astral characters in place of k and s: still 3 edits in 7 characters.
    expect((await run('Levenshtein', { threshold: 0 }, found('𝒔itting'), found('𝒌itten'))).score).toBeCloseTo(1 - 3 / 7, 12);
    expect(await run('Levenshtein', { threshold: 1 }, found('caf\u0065\u0301'), found('caf\u00e9'))).toMatchObject({ status: 'passed', score: 1 });
  });

  it('is skipped without a baseline and violated when a side lacks the field', async () => {
    expect(await run('Levenshtein', { threshold: 0.5 }, found('a'))).toMatchObject({ status: 'skipped', reason: 'no baseline' });
    expect((await run('Levenshtein', { threshold: 0.5 }, found('a'), missing)).status).toBe('violated');
  });
});

describe('comparatorParamIssues', () => {
  it('requires each comparator’s parameters and rejects unused ones', () => {
    expect(comparatorParamIssues('SemanticSimilarity', {})).toEqual([{ param: 'threshold', message: "SemanticSimilarity needs 'threshold'" }]);
    expect(comparatorParamIssues('WithinRange', { min: 1 })).toEqual([{ param: 'max', message: "WithinRange needs 'max'" }]);
    expect(comparatorParamIssues('ExactMatch', { threshold: 1 })).toEqual([{ param: 'threshold', message: "ExactMatch does not use 'threshold'" }]);
    expect(comparatorParamIssues('Contains', {})).toEqual([{ param: 'value', message: "Contains needs 'value'" }]);
    expect(comparatorParamIssues('Contains', { value: null })).toEqual([]);
  });

  it('checks threshold ranges: 0..1 for similarity, >= 0 for percentages', () => {
    expect(comparatorParamIssues('SemanticSimilarity', { threshold: 1.01 })[0]?.message).toBe('SemanticSimilarity threshold must be between 0 and 1, got 1.01');
    expect(comparatorParamIssues('Levenshtein', { threshold: -0.1 })).toHaveLength(1);
    expect(comparatorParamIssues('MaxIncreasePercent', { threshold: 250 })).toEqual([]);
    expect(comparatorParamIssues('MaxDecreasePercent', { threshold: -1 })[0]?.message).toContain('must be >= 0');
  });

  it('rejects min greater than max', () => {
    expect(comparatorParamIssues('WithinRange', { min: 2, max: 1 })).toEqual([{ param: 'min', message: 'min (2) must not be greater than max (1)' }]);
    expect(comparatorParamIssues('WithinRange', { min: 1, max: 1 })).toEqual([]);
  });
});

describe('display', () => {
  it('renders canonical JSON and cuts long values', () => {
    expect(display({ b: 1, a: 'x' })).toBe('{"a":"x","b":1}');
    const long = display('y'.repeat(1000));
    expect(long).toHaveLength(MAX_DISPLAY_LENGTH);
    expect(long.endsWith('…')).toBe(true);
  });
});
