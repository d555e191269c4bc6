/**
 * Regular expressions for Regex rules, run on RE2 semantics (re2js, a pure-JS port of RE2): the
 * match time is linear in the input, whatever the pattern, so no recorded output can stall a
 * write, a validation or a stream record. Syntax RE2 cannot run in linear time (backreferences,
 * lookaround) is refused when the rule is stored, not discovered when it runs.
 *
 * Linear in the input still multiplies by the size of the compiled program, and counted
 * repetitions blow that up (`(?:[a-z]?){500}` is ~1,000 instructions), so the program size is
 * bounded too: at {@link MAX_REGEX_PROGRAM_SIZE} and {@link MAX_REGEX_INPUT_LENGTH} characters a
 * match takes tens of milliseconds on this machine's slowest case.
 *
 * re2js is 147 KiB of code, more than a third of a minimal DynamoDB Lambda bundle, and only
 * policies with Regex rules need it: it is loaded on first need ({@link loadRegexEngine}, a chunk
 * of its own in the Lambda bundles: lib/function-bundle.ts), not when a function starts. The
 * synchronous functions below run after it: policy checks and rule evaluation load it first
 * (comparators.ts, `loadComparatorEngines` and `runComparator`).
 */
import type { RE2JS } from 're2js';
import { EngineNotLoadedError } from './errors.js';
import { onFirstUse } from './on-first-use.js';

/** Longest regular expression a Regex rule may carry. */
export const MAX_REGEX_PATTERN_LENGTH = 512;
/** Longest candidate string a Regex rule matches. */
export const MAX_REGEX_INPUT_LENGTH = 10_000;
/** Largest compiled RE2 program (instructions) a pattern may need. */
export const MAX_REGEX_PROGRAM_SIZE = 200;

/** A compiled pattern: `test` answers whether it matches anywhere in the text (like `RegExp#test`). */
export interface LinearRegex {
  test(text: string): boolean;
}

let engine: typeof RE2JS | undefined;
// A failed load (it cannot fail short of a broken deployment) is retried by the next caller.
const importEngine = onFirstUse(async () => (await import('re2js')).RE2JS);

/** Loads the RE2 engine (once; later calls return at once). */
export async function loadRegexEngine(): Promise<void> {
  if (engine === undefined) engine = await importEngine();
}

function re2(): typeof RE2JS {
  if (engine === undefined) throw new EngineNotLoadedError('RE2 (Regex rules)', 'loadRegexEngine');
  return engine;
}

const cache = new Map<string, LinearRegex>();
const CACHE_SIZE = 128;

/** Why `pattern` is refused, or the compiled program. */
function compile(pattern: string): { problem: string } | { re: InstanceType<typeof RE2JS> } {
  if (pattern.length > MAX_REGEX_PATTERN_LENGTH) return { problem: `pattern is longer than ${MAX_REGEX_PATTERN_LENGTH} characters` };
  // Outside the try: an engine not loaded is a fault of the caller, never a pattern problem.
  const engine = re2();
  let re: InstanceType<typeof RE2JS>;
  try {
    re = engine.compile(pattern);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const hint = /\\[1-9]|\\k|\(\?<?[=!]/.test(pattern) ? ' (backreferences and lookaround cannot run in linear time and are not supported)' : '';
    return { problem: `invalid regular expression for the linear-time (RE2) engine: ${message}${hint}` };
  }
  const size = re.programSize();
  if (size > MAX_REGEX_PROGRAM_SIZE) {
    return { problem: `pattern compiles to ${size} RE2 instructions, more than the ${MAX_REGEX_PROGRAM_SIZE} allowed (large counted repetitions such as {500} expand the program)` };
  }
  return { re };
}

/**
 * Why `pattern` cannot be a Regex rule pattern (too long, not RE2 syntax, too large a program),
 * or undefined when it can.
 */
export function regexProblem(pattern: string): string | undefined {
  const compiled = compile(pattern);
  return 'problem' in compiled ? compiled.problem : undefined;
}

/** Thrown by {@link linearRegex} for a pattern {@link regexProblem} refuses. */
export class RegexPatternError extends Error {
  constructor(readonly pattern: string, readonly problem: string) {
    super(problem);
    this.name = 'RegexPatternError';
  }
}

/** Compiles `pattern` (cached); throws {@link RegexPatternError} when it is refused. */
export function linearRegex(pattern: string): LinearRegex {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const compiled = compile(pattern);
  if ('problem' in compiled) throw new RegexPatternError(pattern, compiled.problem);
  const re = compiled.re;
  const regex: LinearRegex = { test: (text) => re.matcher(text).find() };
  if (cache.size >= CACHE_SIZE) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(pattern, regex);
  return regex;
}
