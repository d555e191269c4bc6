/**
 * Comparators (DESIGN §4): candidate vs baseline at one field path, for policy rules.
 *
 * Every comparator answers a {@link ComparatorVerdict}. A missing field, a value of the wrong type
 * or a non-finite number is a `violated` verdict whose message says what happened — never a silent
 * pass. `skipped` happens only when a comparator that needs a baseline is run without one
 * (`reason: "no baseline"`); a baseline that exists but lacks the field is a violation.
 */
import type { Schema, Validator } from '@cfworker/json-schema';
import { distance } from 'fastest-levenshtein';
import type { PathRead } from './field-path.js';
import { canonicalJson, jsonEquals, jsonKind, type JsonValue } from './json.js';
import { SimilarityProviderError, type SimilarityProvider } from './similarity.js';
import { MAX_SCHEMA_COST, schemaCost, schemaShape, type SchemaShape } from './schema-cost.js';
import { describeMetaSchemaIssues, metaSchemaIssues } from './json-schema-meta.js';
import { linearRegex, loadRegexEngine, MAX_REGEX_INPUT_LENGTH, regexProblem, RegexPatternError } from './linear-regex.js';
import { EngineNotLoadedError } from './errors.js';
import { onFirstUse } from './on-first-use.js';
import { COMPARATOR_NAMES, isComparatorName, type ComparatorName } from './comparator-names.js';

/** The parameters a rule can carry; which ones a comparator uses is in its {@link COMPARATORS} entry. */
export interface ComparatorParams {
  threshold?: number | undefined;
  min?: number | undefined;
  max?: number | undefined;
  pattern?: string | undefined;
  value?: JsonValue | undefined;
  schema?: JsonValue | undefined;
}

/** The outcome of one comparator at one field. `expected` and `actual` are human-readable. */
export interface ComparatorVerdict {
  status: 'passed' | 'violated' | 'skipped';
  /** The measured quantity: similarity, 1/0 for ExactMatch, percent change, or the candidate number. */
  score?: number;
  /** The similarity provider that produced `score` (SemanticSimilarity only). */
  provider?: string;
  expected: string;
  actual: string;
  message: string;
  /** Why the rule was skipped (only when `status` is `skipped`). */
  reason?: string;
}

export { MAX_REGEX_PATTERN_LENGTH, MAX_REGEX_INPUT_LENGTH, MAX_REGEX_PROGRAM_SIZE } from './linear-regex.js';
/** Longest text Levenshtein compares: the distance is O(n·m/32), ~30 ms at 10,000 × 10,000 here and ~700 ms at 50,000. */
export const MAX_LEVENSHTEIN_LENGTH = 10_000;
/** Longest rendering of a value in `expected` / `actual` (reports are stored in 400 KB items). */
export const MAX_DISPLAY_LENGTH = 256;

const NO_BASELINE = 'no baseline';

type ParamName = keyof ComparatorParams;

const ALL_PARAMS: readonly ParamName[] = ['threshold', 'min', 'max', 'pattern', 'value', 'schema'];

/** One problem with one parameter of a rule. */
export interface ParamIssue {
  param: ParamName;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Regular expressions: RE2 semantics, linear in the input (./linear-regex.ts).

export { regexProblem } from './linear-regex.js';

// ---------------------------------------------------------------------------------------------
// JSON Schema (@cfworker/json-schema, draft 2020-12). Like RE2, loaded on first need (only
// JsonSchema rules use it): {@link loadJsonSchemaEngine}, then the synchronous code below.

let validatorClass: typeof Validator | undefined;
const importValidator = onFirstUse(async () => (await import('@cfworker/json-schema')).Validator);

/** Loads the JSON Schema validator (once; later calls return at once). */
export async function loadJsonSchemaEngine(): Promise<void> {
  if (validatorClass === undefined) validatorClass = await importValidator();
}

/**
 * What to tell a client when the validator throws on a schema: never the library's own text (a
 * `TypeError: $enum.some is not a function` says nothing to a policy author), but what in the
 * schema makes it throw, where that is known.
 */
function validatorFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  if (message.startsWith('Duplicate schema URI')) return 'two of its subschemas declare the same $id';
  if (message.startsWith('Unresolved $ref')) return 'a $ref does not resolve (only references inside the schema, such as "#/$defs/name", are supported)';
  if (err instanceof TypeError && /Invalid URL/i.test(message)) return 'an $id or $ref is not a valid URI reference';
  return 'the JSON Schema validator cannot apply it';
}

/** Everything learnt about one rule schema, once: why it is refused, or its cost shape and validator. */
type CompiledSchema = { problem: string; shape?: undefined; validator?: undefined } | { problem?: undefined; shape: SchemaShape; validator: Validator };

const compiledCache = new Map<string, CompiledSchema>();
const SCHEMA_CACHE_SIZE = 64;

/** {@link compileUncached}, cached by canonical JSON (policies evaluate the same schemas over and over). */
function compiledSchema(schema: JsonValue): CompiledSchema {
  const key = canonicalJson(schema);
  const hit = compiledCache.get(key);
  if (hit) return hit;
  const compiled = compileUncached(schema);
  if (compiledCache.size >= SCHEMA_CACHE_SIZE) {
    const oldest = compiledCache.keys().next();
    if (!oldest.done) compiledCache.delete(oldest.value);
  }
  compiledCache.set(key, compiled);
  return compiled;
}

function compileUncached(schema: JsonValue): CompiledSchema {
  if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
    return { problem: 'schema must be a JSON Schema object or a boolean' };
  }
  // A keyword whose value the meta-schema forbids is never silently ignored (the validator would
  // skip `{"minLength": "five"}` and pass everything) nor left to fail every value.
  const meta = metaSchemaIssues(schema);
  if (meta.length > 0) return { problem: describeMetaSchemaIssues(meta) };
  // References, patterns and size are checked now: a rule that passes PUT must neither fail every
  // later evaluation nor stall one (./schema-cost.ts).
  const shape = schemaShape(schema);
  if (shape.problem !== undefined) return { problem: shape.problem };
  // Outside the try: an engine not loaded is a fault of the caller, never a schema problem (and not cached).
  if (validatorClass === undefined) throw new EngineNotLoadedError('the JSON Schema validator (JsonSchema rules)', 'loadJsonSchemaEngine');
  try {
    const validator = new validatorClass(schema as Schema | boolean, '2020-12', false);
    // Validating once surfaces schemas the validator cannot handle.
    validator.validate(null);
    return { shape, validator };
  } catch (err) {
    return { problem: `schema cannot be used: ${validatorFailure(err)}` };
  }
}

/**
 * Why `schema` is not a usable JSON Schema, or undefined when it is: not an object or boolean, not
 * valid against the draft 2020-12 meta-schema (./json-schema-meta.ts), refused for its cost
 * (./schema-cost.ts), or one the validator cannot apply.
 */
export function schemaProblem(schema: JsonValue): string | undefined {
  return compiledSchema(schema).problem;
}

// ---------------------------------------------------------------------------------------------
// Rendering and value helpers.

/** A value as shown in `expected` / `actual`: canonical JSON, cut to {@link MAX_DISPLAY_LENGTH}. */
export function display(value: JsonValue): string {
  let text: string;
  try {
    text = canonicalJson(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_DISPLAY_LENGTH ? `${text.slice(0, MAX_DISPLAY_LENGTH - 1)}…` : text;
}

const MISSING = '(missing)';

/** The text a similarity comparator compares: strings as they are, anything else as canonical JSON. */
export function comparableText(value: JsonValue): string {
  return typeof value === 'string' ? value : canonicalJson(value);
}

function fmtNum(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12)));
}

/**
 * A computed percentage, to 12 significant digits whatever its size: it carries binary floating
 * point's error, which fmtNum would print in full for a large integral one (0.1 → 1e15 computes
 * as +999999999999999700 % where it is +999999999999999900 %; printed +1000000000000000000 %).
 * The values it is computed from are printed as they are (fmtNum).
 */
function fmtPercent(n: number): string {
  return String(Number(n.toPrecision(12)));
}

/** What every comparator gets. */
export interface ComparatorInput {
  /** The rule's field path (for messages). */
  field: string;
  params: ComparatorParams;
  candidate: PathRead;
  /** Undefined when there is no baseline decision at all; a baseline lacking the field is `found: false`. */
  baseline: PathRead | undefined;
  similarity: SimilarityProvider;
}

function missingCandidate(field: string, expected: string): ComparatorVerdict {
  return { status: 'violated', expected, actual: MISSING, message: `${field} is missing from the candidate` };
}

function missingBaseline(field: string, candidate: JsonValue, comparator: string): ComparatorVerdict {
  return { status: 'violated', expected: `${field} present in the baseline`, actual: display(candidate), message: `${field} is missing from the baseline, so ${comparator} has nothing to compare with` };
}

function skippedNoBaseline(expected: string, candidate: PathRead): ComparatorVerdict {
  return { status: 'skipped', reason: NO_BASELINE, expected, actual: candidate.found ? display(candidate.value) : MISSING, message: 'skipped: there is no baseline decision to compare with' };
}

/**
 * Resolves the candidate and baseline reads shared by the baseline comparators: a verdict when one
 * of them is absent, else both values.
 */
function bothValues(input: ComparatorInput, comparator: string, expected: (baseline: JsonValue | undefined) => string): ComparatorVerdict | { candidate: JsonValue; baseline: JsonValue } {
  const { field, candidate, baseline } = input;
  if (baseline === undefined) return skippedNoBaseline(expected(undefined), candidate);
  if (!candidate.found) return missingCandidate(field, expected(baseline.found ? baseline.value : undefined));
  if (!baseline.found) return missingBaseline(field, candidate.value, comparator);
  return { candidate: candidate.value, baseline: baseline.value };
}

function isVerdict(x: ComparatorVerdict | { candidate: JsonValue; baseline: JsonValue }): x is ComparatorVerdict {
  return 'status' in x;
}

/** A finite number, or the problem with the value (for a message). */
function numberProblem(value: JsonValue): string | undefined {
  if (typeof value !== 'number') return `is ${jsonKind(value)} (${display(value)}), not a number`;
  if (!Number.isFinite(value)) return `is ${String(value)}, not a finite number`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The comparators.

function exactMatch(input: ComparatorInput): ComparatorVerdict {
  const r = bothValues(input, 'ExactMatch', (b) => (b === undefined ? 'equal to the baseline' : display(b)));
  if (isVerdict(r)) return r;
  const equal = jsonEquals(r.candidate, r.baseline);
  return {
    status: equal ? 'passed' : 'violated',
    score: equal ? 1 : 0,
    expected: display(r.baseline),
    actual: display(r.candidate),
    message: equal ? `${input.field} equals the baseline` : `${input.field} differs from the baseline`,
  };
}

async function semanticSimilarity(input: ComparatorInput, threshold: number): Promise<ComparatorVerdict> {
  const expected = `similarity >= ${fmtNum(threshold)}`;
  const r = bothValues(input, 'SemanticSimilarity', () => expected);
  if (isVerdict(r)) return r;
  const provider = input.similarity;
  const score = await provider.similarity(comparableText(r.baseline), comparableText(r.candidate));
  if (!Number.isFinite(score) || score < 0 || score > 1) {
    throw new SimilarityProviderError(provider.name, `similarity provider '${provider.name}' returned ${String(score)}, outside [0, 1]`);
  }
  const passed = score >= threshold;
  return {
    status: passed ? 'passed' : 'violated',
    score,
    provider: provider.name,
    expected,
    actual: `similarity ${fmtNum(score)} (${provider.name})`,
    message: passed
      ? `${input.field} is similar to the baseline (${fmtNum(score)} >= ${fmtNum(threshold)}, ${provider.name})`
      : `${input.field} similarity to the baseline is ${fmtNum(score)}, below the threshold of ${fmtNum(threshold)} (${provider.name})`,
  };
}

function percentChange(input: ComparatorInput, direction: 'increase' | 'decrease', threshold: number): ComparatorVerdict {
  const comparator = direction === 'increase' ? 'MaxIncreasePercent' : 'MaxDecreasePercent';
  const expected = `${direction} <= ${fmtNum(threshold)}%`;
  const r = bothValues(input, comparator, () => expected);
  if (isVerdict(r)) return r;
  const { field } = input;
  const cProblem = numberProblem(r.candidate);
  if (cProblem) return { status: 'violated', expected, actual: display(r.candidate), message: `candidate ${field} ${cProblem}` };
  const bProblem = numberProblem(r.baseline);
  if (bProblem) return { status: 'violated', expected, actual: display(r.candidate), message: `baseline ${field} ${bProblem}, so no percent change can be computed` };
  const c = r.candidate as number;
  const b = r.baseline as number;
  const forbidden = direction === 'increase' ? c > b : c < b;
  if (b === 0) {
    // No percentage of zero exists: any move in the forbidden direction violates, any other passes.
    const actual = `${fmtNum(c)} (baseline 0)`;
    if (forbidden) {
      return { status: 'violated', expected, actual, message: `baseline ${field} is 0, so any ${direction} violates; the candidate is ${fmtNum(c)}` };
    }
    return { status: 'passed', ...(c === 0 && { score: 0 }), expected, actual, message: `${field} did not ${direction} from a baseline of 0` };
  }
  const pct = ((c - b) * 100) / Math.abs(b);
  // Judged on the decimal values as written, exactly: binary floating point computes 0.3 → 0.33 as
  // +10.000000000000009 %, and an allowance for that let real excesses pass (1e12 → 1e12 + 1 under
  // a threshold of 0).
  const violated = direction === 'increase' ? exceedsPercent(c, b, threshold) : exceedsPercent(b, c, threshold, b);
  const actual = `${pct >= 0 ? '+' : ''}${fmtPercent(pct)}% (${fmtNum(b)} → ${fmtNum(c)})`;
  return {
    status: violated ? 'violated' : 'passed',
    score: pct,
    expected,
    actual,
    message: violated
      ? `${field} changed by ${actual}, ${direction === 'increase' ? 'an' : 'a'} ${direction} of more than ${fmtNum(threshold)}%`
      : `${field} changed by ${actual}, within the allowed ${direction} of ${fmtNum(threshold)}%`,
  };
}

/** A finite number as the decimal it is written as (`String(n)`, the shortest that reads back as n): `m × 10^e`. */
interface Decimal {
  m: bigint;
  e: number;
}

function toDecimal(n: number): Decimal {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(n));
  if (match === null) throw new RangeError(`${String(n)} is not a finite number`);
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  return { m: BigInt(`${sign}${whole}${fraction}`), e: Number(exponent) - fraction.length };
}

const TEN = BigInt(10);

/** `a` and `b` scaled to one exponent, as integers that compare and subtract like the values. */
function aligned(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const e = Math.min(a.e, b.e);
  return [a.m * TEN ** BigInt(a.e - e), b.m * TEN ** BigInt(b.e - e), e];
}

/**
 * Whether `high − low` exceeds `threshold` percent of `|base|` (base ≠ 0), computed exactly on the
 * decimal forms: `100 × (high − low) > threshold × |base|`. `base` defaults to `low` (an increase
 * from the baseline `low`; a decrease passes the baseline as `high` and as `base`).
 */
function exceedsPercent(high: number, low: number, threshold: number, base = low): boolean {
  const [h, l, e] = aligned(toDecimal(high), toDecimal(low));
  const change: Decimal = { m: (h - l) * BigInt(100), e };
  const b = toDecimal(base);
  const t = toDecimal(threshold);
  const allowed: Decimal = { m: t.m * (b.m < 0 ? -b.m : b.m), e: t.e + b.e };
  const [x, y] = aligned(change, allowed);
  return x > y;
}

function withinRange(input: ComparatorInput, min: number, max: number): ComparatorVerdict {
  const { field, candidate } = input;
  const expected = `within [${fmtNum(min)}, ${fmtNum(max)}]`;
  if (!candidate.found) return missingCandidate(field, expected);
  const problem = numberProblem(candidate.value);
  if (problem) return { status: 'violated', expected, actual: display(candidate.value), message: `${field} ${problem}` };
  const c = candidate.value as number;
  const inside = c >= min && c <= max;
  return {
    status: inside ? 'passed' : 'violated',
    score: c,
    expected,
    actual: fmtNum(c),
    message: inside ? `${field} is ${fmtNum(c)}, within [${fmtNum(min)}, ${fmtNum(max)}]` : `${field} is ${fmtNum(c)}, ${c < min ? 'below the minimum' : 'above the maximum'} of ${fmtNum(c < min ? min : max)}`,
  };
}

function regex(input: ComparatorInput, pattern: string): ComparatorVerdict {
  const { field, candidate } = input;
  const expected = `matches /${pattern}/ (RE2)`;
  if (!candidate.found) return missingCandidate(field, expected);
  const v = candidate.value;
  if (typeof v !== 'string') return { status: 'violated', expected, actual: display(v), message: `${field} is ${jsonKind(v)}, not a string, so it cannot match a pattern` };
  // Matched as NFC text, the pattern's literals too (as Levenshtein and Contains compare): 'é'
  // written as e + U+0301 is the same text as the composed letter, however a model writes it.
  const text = v.normalize('NFC');
  if (text.length > MAX_REGEX_INPUT_LENGTH) {
    return { status: 'violated', expected, actual: display(v), message: `${field} is ${text.length} characters long, more than the ${MAX_REGEX_INPUT_LENGTH} a Regex rule matches` };
  }
  let matched: boolean;
  try {
    matched = linearRegex(pattern.normalize('NFC')).test(text);
  } catch (err) {
    // A pattern stored before the RE2 check existed: a violation that says so, never a 500.
    if (!(err instanceof RegexPatternError)) throw err;
    return { status: 'violated', expected, actual: display(v), message: `${field} could not be checked: the rule's pattern cannot be run (${err.problem})` };
  }
  return { status: matched ? 'passed' : 'violated', expected, actual: display(v), message: matched ? `${field} matches the pattern` : `${field} does not match the pattern` };
}

function contains(input: ComparatorInput, value: JsonValue): ComparatorVerdict {
  const { field, candidate } = input;
  const expected = `contains ${display(value)}`;
  if (!candidate.found) return missingCandidate(field, expected);
  const v = candidate.value;
  if (typeof v === 'string') {
    if (typeof value !== 'string') {
      return { status: 'violated', expected, actual: display(v), message: `${field} is a string, and a string can only contain a string value, not ${jsonKind(value)}` };
    }
    // NFC text in NFC text, as Levenshtein and Regex compare.
    const ok = v.normalize('NFC').includes(value.normalize('NFC'));
    return { status: ok ? 'passed' : 'violated', expected, actual: display(v), message: ok ? `${field} contains ${display(value)}` : `${field} does not contain ${display(value)}` };
  }
  if (Array.isArray(v)) {
    const ok = v.some((el) => jsonEquals(el, value));
    return { status: ok ? 'passed' : 'violated', expected, actual: display(v), message: ok ? `${field} has an element equal to ${display(value)}` : `${field} has no element equal to ${display(value)}` };
  }
  return { status: 'violated', expected, actual: display(v), message: `${field} is ${jsonKind(v)}; Contains needs a string or an array` };
}

function jsonSchema(input: ComparatorInput, schema: JsonValue): ComparatorVerdict {
  const { field, candidate } = input;
  const expected = 'valid against the rule schema';
  if (!candidate.found) return missingCandidate(field, expected);
  // A schema stored before a check refused it (not valid JSON Schema, unbounded cost): a violation
  // that says so, never a silent pass, a stall or a poison stream record.
  const compiled = compiledSchema(schema);
  if (compiled.problem !== undefined) {
    return { status: 'violated', expected, actual: display(candidate.value), message: `${field} could not be checked: the rule's schema cannot be applied (${compiled.problem})` };
  }
  const { shape, validator } = compiled;
  const cost = schemaCost(shape, candidate.value);
  if (cost > MAX_SCHEMA_COST) {
    return {
      status: 'violated',
      expected,
      actual: display(candidate.value),
      message: `${field} could not be checked: validating it against this schema${shape.usesUniqueItems ? ' (uniqueItems compares every pair of array elements)' : ''} would exceed the cost bound of ${MAX_SCHEMA_COST} steps`,
    };
  }
  let result: ReturnType<Validator['validate']>;
  try {
    result = validator.validate(candidate.value);
  } catch (err) {
    // A value the validator trips over on a schema it compiled: a violation that says so, never a
    // 500 or a poison stream record.
    return { status: 'violated', expected, actual: display(candidate.value), message: `${field} could not be checked: the rule's schema cannot be applied (${validatorFailure(err)})` };
  }
  if (result.valid) return { status: 'passed', expected, actual: display(candidate.value), message: `${field} is valid against the schema` };
  // cfworker reports the failing keyword and each enclosing one; the deepest errors come first.
  const reasons = result.errors.slice(0, 3).map((e) => `${e.instanceLocation}: ${e.error}`);
  return { status: 'violated', expected, actual: display(candidate.value), message: `${field} is not valid against the schema: ${reasons.join('; ')}` };
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * The two texts with one UTF-16 unit per code point, so that fastest-levenshtein (which compares
 * UTF-16 units) counts characters: each distinct code point of either text gets its own
 * non-surrogate unit (two texts of ≤ 10,000 characters hold far fewer than the 63,488 there are).
 * Without this, two different emoji sharing a high surrogate were "half the same" (0.5).
 */
function oneUnitPerCodePoint(a: string, b: string): [string, string] {
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return [a, b];
  const units = new Map<string, string>();
  const map = (text: string) =>
    Array.from(text, (ch) => {
      let unit = units.get(ch);
      if (unit === undefined) {
        const i = units.size;
        unit = String.fromCharCode(i < 0xd800 ? i : i + 0x800);
        units.set(ch, unit);
      }
      return unit;
    }).join('');
  return [map(a), map(b)];
}

function levenshtein(input: ComparatorInput, threshold: number): ComparatorVerdict {
  const expected = `levenshtein similarity >= ${fmtNum(threshold)}`;
  const r = bothValues(input, 'Levenshtein', () => expected);
  if (isVerdict(r)) return r;
  // Compared as characters (code points) of NFC text: 'é' written as e + U+0301 is the same text.
  const rawA = comparableText(r.baseline);
  const rawB = comparableText(r.candidate);
  if (Math.max(rawA.length, rawB.length) > MAX_LEVENSHTEIN_LENGTH) {
    return { status: 'violated', expected, actual: display(r.candidate), message: `${input.field} is longer than the ${MAX_LEVENSHTEIN_LENGTH} characters Levenshtein compares` };
  }
  const [a, b] = oneUnitPerCodePoint(rawA.normalize('NFC'), rawB.normalize('NFC'));
  const maxLen = Math.max(a.length, b.length);
  const score = maxLen === 0 ? 1 : 1 - distance(a, b) / maxLen;
  const passed = score >= threshold;
  return {
    status: passed ? 'passed' : 'violated',
    score,
    expected,
    actual: `levenshtein similarity ${fmtNum(score)}`,
    message: passed ? `${input.field} is within the allowed edit distance of the baseline (${fmtNum(score)})` : `${input.field} edit similarity to the baseline is ${fmtNum(score)}, below ${fmtNum(threshold)}`,
  };
}

/** Thrown when a comparator is run with parameters policy validation would have refused. */
export class ComparatorParamsError extends TypeError {
  constructor(comparator: string, issues: readonly ParamIssue[]) {
    super(`${comparator}: ${issues.map((i) => i.message).join('; ')}`);
    this.name = 'ComparatorParamsError';
  }
}

function required<T>(value: T | undefined, comparator: string, param: ParamName): T {
  if (value === undefined) throw new ComparatorParamsError(comparator, [{ param, message: `${comparator} needs '${param}'` }]);
  return value;
}

// ---------------------------------------------------------------------------------------------
// The registry: everything about one comparator in one entry.

/** One comparator: the parameters it takes and how they are checked, whether it needs a baseline, and its evaluation. */
export interface ComparatorEntry {
  /** Compares the candidate with a baseline (skipped when there is none). */
  readonly needsBaseline: boolean;
  /** The parameters it requires; any other parameter on a rule is a mistake. */
  readonly params: readonly ParamName[];
  /** Problems with the values of its (present) parameters: range, compilation, safety. */
  check(params: ComparatorParams): ParamIssue[];
  /** The verdict; its required parameters are present (see {@link runComparator}). */
  evaluate(input: ComparatorInput): ComparatorVerdict | Promise<ComparatorVerdict>;
  /**
   * Loads the library its `check` and `evaluate` run on, when it has one that is loaded on first
   * need rather than with the function (RE2, the JSON Schema validator).
   */
  readonly load?: () => Promise<void>;
}

const noCheck = (): ParamIssue[] => [];

const finiteThreshold = (threshold: number | undefined): ParamIssue[] =>
  threshold !== undefined && !Number.isFinite(threshold) ? [{ param: 'threshold', message: `threshold must be a finite number, got ${String(threshold)}` }] : [];

/** A threshold that is a score between 0 and 1. */
const unitThreshold =
  (comparator: string) =>
  ({ threshold }: ComparatorParams): ParamIssue[] => {
    const finite = finiteThreshold(threshold);
    if (finite.length > 0 || threshold === undefined) return finite;
    return threshold < 0 || threshold > 1 ? [{ param: 'threshold', message: `${comparator} threshold must be between 0 and 1, got ${threshold}` }] : [];
  };

/** A threshold that is a percentage. */
const percentThreshold =
  (comparator: string) =>
  ({ threshold }: ComparatorParams): ParamIssue[] => {
    const finite = finiteThreshold(threshold);
    if (finite.length > 0 || threshold === undefined) return finite;
    return threshold < 0 ? [{ param: 'threshold', message: `${comparator} threshold is a percentage and must be >= 0, got ${threshold}` }] : [];
  };

/** Every comparator a rule may name (DESIGN §4), one entry each. */
export const COMPARATORS = {
  ExactMatch: { needsBaseline: true, params: [], check: noCheck, evaluate: exactMatch },
  SemanticSimilarity: {
    needsBaseline: true,
    params: ['threshold'],
    check: unitThreshold('SemanticSimilarity'),
    evaluate: (input) => semanticSimilarity(input, required(input.params.threshold, 'SemanticSimilarity', 'threshold')),
  },
  MaxIncreasePercent: {
    needsBaseline: true,
    params: ['threshold'],
    check: percentThreshold('MaxIncreasePercent'),
    evaluate: (input) => percentChange(input, 'increase', required(input.params.threshold, 'MaxIncreasePercent', 'threshold')),
  },
  MaxDecreasePercent: {
    needsBaseline: true,
    params: ['threshold'],
    check: percentThreshold('MaxDecreasePercent'),
    evaluate: (input) => percentChange(input, 'decrease', required(input.params.threshold, 'MaxDecreasePercent', 'threshold')),
  },
  WithinRange: {
    needsBaseline: false,
    params: ['min', 'max'],
    check: ({ min, max }) => {
      const issues: ParamIssue[] = [];
      if (min !== undefined && !Number.isFinite(min)) issues.push({ param: 'min', message: `min must be a finite number, got ${String(min)}` });
      if (max !== undefined && !Number.isFinite(max)) issues.push({ param: 'max', message: `max must be a finite number, got ${String(max)}` });
      if (min !== undefined && max !== undefined && min > max) issues.push({ param: 'min', message: `min (${min}) must not be greater than max (${max})` });
      return issues;
    },
    evaluate: (input) => withinRange(input, required(input.params.min, 'WithinRange', 'min'), required(input.params.max, 'WithinRange', 'max')),
  },
  Regex: {
    needsBaseline: false,
    params: ['pattern'],
    load: loadRegexEngine,
    check: ({ pattern }) => {
      const problem = pattern === undefined ? undefined : regexProblem(pattern);
      return problem ? [{ param: 'pattern', message: problem }] : [];
    },
    evaluate: (input) => regex(input, required(input.params.pattern, 'Regex', 'pattern')),
  },
  Contains: { needsBaseline: false, params: ['value'], check: noCheck, evaluate: (input) => contains(input, required(input.params.value, 'Contains', 'value')) },
  JsonSchema: {
    needsBaseline: false,
    params: ['schema'],
    load: loadJsonSchemaEngine,
    check: ({ schema }) => {
      const problem = schema === undefined ? undefined : schemaProblem(schema);
      return problem ? [{ param: 'schema', message: problem }] : [];
    },
    evaluate: (input) => jsonSchema(input, required(input.params.schema, 'JsonSchema', 'schema')),
  },
  Levenshtein: {
    needsBaseline: true,
    params: ['threshold'],
    check: unitThreshold('Levenshtein'),
    evaluate: (input) => levenshtein(input, required(input.params.threshold, 'Levenshtein', 'threshold')),
  },
} as const satisfies Record<ComparatorName, ComparatorEntry>;

export { COMPARATOR_NAMES, isComparatorName, type ComparatorName };

/** True for comparators that compare the candidate with a baseline (skipped when there is none). */
export function needsBaseline(comparator: ComparatorName): boolean {
  return COMPARATORS[comparator].needsBaseline;
}

/**
 * Loads what the named comparators check and evaluate with (see {@link ComparatorEntry.load});
 * names that are not comparators are ignored (validation reports them). Call it before
 * {@link comparatorParamIssues}; {@link runComparator} calls it itself.
 */
export async function loadComparatorEngines(comparators: Iterable<unknown>): Promise<void> {
  const loads = new Set<() => Promise<void>>();
  for (const name of comparators) {
    if (typeof name !== 'string' || !isComparatorName(name)) continue;
    const load = (COMPARATORS[name] as ComparatorEntry).load;
    if (load !== undefined) loads.add(load);
  }
  await Promise.all([...loads].map((load) => load()));
}

/**
 * Checks a comparator's parameters: the ones it needs are present and in range, it carries none it
 * does not use, a regex compiles and is safe, a JSON schema compiles. Empty when all is well.
 * Synchronous: the comparator's engine is loaded first ({@link loadComparatorEngines}).
 */
export function comparatorParamIssues(comparator: ComparatorName, params: ComparatorParams): ParamIssue[] {
  const entry: ComparatorEntry = COMPARATORS[comparator];
  const issues: ParamIssue[] = [];
  for (const p of ALL_PARAMS) {
    const present = params[p] !== undefined;
    if (entry.params.includes(p) && !present) issues.push({ param: p, message: `${comparator} needs '${p}'` });
    if (!entry.params.includes(p) && present) issues.push({ param: p, message: `${comparator} does not use '${p}'` });
  }
  return [...issues, ...entry.check(params)];
}

/**
 * Runs one comparator. Parameters are expected to have passed {@link comparatorParamIssues} (policy
 * validation does this); a required one that is absent throws {@link ComparatorParamsError}.
 */
export async function runComparator(comparator: ComparatorName, input: ComparatorInput): Promise<ComparatorVerdict> {
  const entry: ComparatorEntry = COMPARATORS[comparator];
  if (entry.load !== undefined) await entry.load();
  return entry.evaluate(input);
}
