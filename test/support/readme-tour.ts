/**
 * The README's "A tour", read as a script: its ```sh blocks in order, the output block(s) shown
 * right after each, and the files it asks the reader to save. test/e2e/readme-tour.e2e.test.ts runs
 * the commands against a live `npm start -- --in-memory` and compares what they print with what the
 * README shows, so the README stays the one copy of the tour and cannot drift from the host. It
 * then runs the CLI transcript of "Use it from your code" the same way ({@link parseTranscripts}).
 *
 * What legitimately differs from run to run is unified, never ignored wholesale:
 * - ULIDs and SHA-256 hex: the README's value X must map to the same real value Y everywhere (and no
 *   two README values to one real one); later commands get X replaced by Y, so `S1=01M8…` sets the
 *   real id.
 * - ISO-8601 timestamps and UUIDs: any value of that form.
 * - timings: a number under a timing key (`executionTimeMs`, `…ExecutionTimeMs`, `executionTimeDeltaMs`,
 *   `latencyMs`), also in JSON printed inside a text line (`calls: [{"latencyMs":12.5}]`), or the
 *   old/new value of a diff change on the path `executionTimeMs`.
 * - `nextCursor`: any string (it encodes ids and a random nonce).
 *
 * A README output shown partly (a line `…` or `… what was left out …`) is compared as a subset: an
 * object with such a line may have more keys, an array may have more items at that place.
 *
 * Marks, an HTML comment on the line before a ```sh block (invisible on GitHub), each with a reason:
 * - `<!-- tour: skip: why -->` the command is not run (e.g. an alternative that needs another tool);
 * - `<!-- tour: skip-output: why -->` it runs and must exit 0, but its output is not compared;
 * - `<!-- tour: ignore .a[*].b .c: why -->` values at those paths (of each JSON value in the
 *   output) are not compared, only their type: for values a random model picks.
 * - `<!-- tour: range .a.b 1..9 bytes ±1%: why -->` the number at a JSON path, or in a text line
 *   the number written before a word (`230,386 bytes`), is compared as within min..max (the
 *   README's own number must lie in it too), or as within ±p % of the README's number: for counts
 *   that depend on timing, and sizes that vary a little from run to run.
 */
import { z } from 'zod';

export type Mark =
  | { kind: 'compare' }
  | { kind: 'skip' | 'skip-output'; reason: string }
  | { kind: 'ignore'; paths: string[]; reason: string }
  | { kind: 'range'; ranges: NumberRange[]; reason: string };

/**
 * A number the README shows that is compared as "within min..max", or as "within ±percent % of the
 * README's number" (a `range` mark).
 */
export type NumberRange = {
  /** A JSON path (`.a[*].b`), or a word: in a text line, the number written before it (`230,386 bytes`). */
  path: string;
} & ({ min: number; max: number } | { percent: number });

export interface ExpectedBlock {
  /** 1-based README line of the block's opening fence. */
  line: number;
  lang: 'json' | 'text';
  text: string;
}

export type TourItem =
  | { kind: 'command'; line: number; script: string; mark: Mark; expected: ExpectedBlock[] }
  | { kind: 'file'; line: number; name: string; content: string }
  /** A ```console block of `$ command` lines with what each printed ({@link parseTranscripts}). */
  | { kind: 'transcript'; line: number; steps: TranscriptStep[] };

export interface Fence {
  line: number;
  lang: string;
  text: string;
  /** The README text between the previous fence (or the section's start) and this one. */
  before: string;
}

const MARK = /^<!--\s*tour:\s*(skip|skip-output|ignore((?:\s+[.[][^\s:]*)+)|range((?:\s+(?:[.[][^\s:]*|[A-Za-z][\w-]*)\s+(?:-?\d+(?:\.\d+)?\.\.-?\d+(?:\.\d+)?|±\d+(?:\.\d+)?%))+)):\s*(\S[^]*?)\s*-->$/;
const SAVE_AS = /Save (?:this|it) as `([^`]+)`/;

/**
 * The fenced blocks of a section, in order: `heading` is a `## ` heading's text, or a whole heading
 * line of any level (`### A/B comparisons: …`); the section ends at the next heading of the same
 * or a higher level (a `### ` section at the next `## ` or `### `). Headings inside code blocks are
 * code, not headings.
 */
export function fences(markdown: string, heading: string): Fence[] {
  const lines = markdown.split('\n');
  const title = heading.startsWith('#') ? heading : `## ${heading}`;
  const level = /^#+/.exec(title)?.[0].length ?? 2;
  const start = lines.findIndex((l) => l.trim() === title);
  if (start < 0) throw new Error(`README has no section '${title}'`);
  const ends = new RegExp(`^#{1,${level}} `);
  const out: Fence[] = [];
  let before: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (ends.test(line)) break;
    // A fence may be indented (a code block inside a list item): its lines lose that indentation.
    const open = /^( {0,3})```(\w*)\s*$/.exec(line);
    if (!open) {
      before.push(line);
      continue;
    }
    const indent = open[1] ?? '';
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^ {0,3}```\s*$/.test(lines[j] ?? ''); j++) body.push((lines[j] ?? '').replace(new RegExp(`^ {0,${indent.length}}`), ''));
    if (j >= lines.length) throw new Error(`README line ${i + 1}: a code block that never closes`);
    out.push({ line: i + 1, lang: open[2] ?? '', text: body.join('\n'), before: before.join('\n') });
    before = [];
    i = j;
  }
  return out;
}

function markOf(before: string, line: number): Mark {
  const last = before.trimEnd().split('\n').at(-1)?.trim() ?? '';
  if (!last.startsWith('<!--') || !/tour:/.test(last)) return { kind: 'compare' };
  const m = MARK.exec(last);
  const reason = m?.[4];
  if (!m?.[1] || reason === undefined) throw new Error(`README line ${line}: the tour mark '${last}' is not '<!-- tour: skip|skip-output|ignore <paths>|range <path> <min>..<max>|±<p>%…: reason -->'`);
  if (m[2] !== undefined) return { kind: 'ignore', paths: m[2].trim().split(/\s+/), reason };
  if (m[3] !== undefined) {
    const words = m[3].trim().split(/\s+/);
    const ranges: NumberRange[] = [];
    for (let i = 0; i + 1 < words.length; i += 2) {
      const path = words[i] ?? '';
      const bounds = words[i + 1] ?? '';
      if (bounds.startsWith('±')) {
        ranges.push({ path, percent: Number(bounds.slice(1, -1)) });
        continue;
      }
      const [min = NaN, max = NaN] = bounds.split('..').map(Number);
      if (!(min <= max)) throw new Error(`README line ${line}: the range ${bounds} of ${path} is empty`);
      ranges.push({ path, min, max });
    }
    return { kind: 'range', ranges, reason };
  }
  return { kind: z.enum(['skip', 'skip-output']).parse(m[1]), reason };
}

/**
 * The tour as items: each ```sh block with the output blocks that directly follow it (nothing but
 * blank lines between), and each block the prose asks to save as a file; with `transcripts`, each
 * ```console block of `$ command` lines too, in its place (for a section whose transcripts run in
 * order with its blocks, rather than on their own as {@link parseTranscripts} gives them). Other
 * blocks (a snapshot shown for illustration, TypeScript) are not part of the script.
 */
export function parseTour(markdown: string, heading = 'A tour', options: { transcripts?: boolean } = {}): TourItem[] {
  const all = fences(markdown, heading);
  const items: TourItem[] = [];
  for (let i = 0; i < all.length; i++) {
    const f = all[i];
    if (f === undefined) continue;
    if (f.lang === 'sh') {
      const expected: ExpectedBlock[] = [];
      for (let j = i + 1; j < all.length; j++) {
        const next = all[j];
        if (next === undefined || next.before.trim() !== '' || (next.lang !== 'json' && next.lang !== '')) break;
        expected.push({ line: next.line, lang: next.lang === 'json' ? 'json' : 'text', text: next.text });
        i = j;
      }
      items.push({ kind: 'command', line: f.line, script: f.text, mark: markOf(f.before, f.line), expected });
      continue;
    }
    if (options.transcripts === true && f.lang === 'console' && f.text.startsWith('$ ')) {
      items.push({ kind: 'transcript', line: f.line, steps: transcriptSteps(f) });
      continue;
    }
    const save = SAVE_AS.exec(f.before.trim().split('\n').at(-1) ?? '');
    if (save?.[1]) items.push({ kind: 'file', line: f.line, name: save[1], content: `${f.text}\n` });
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// Unifying run-dependent values

const ULID = '(?<![0-9A-Za-z])[0-9A-HJKMNP-TV-Z]{26}(?![0-9A-Za-z])';
const SHA256 = '(?<![0-9a-zA-Z])[0-9a-f]{64}(?![0-9a-zA-Z])';
const ISO = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?Z';
const UUID = '(?<![0-9a-zA-Z])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-zA-Z])';
const TOKEN = new RegExp(`(${ULID})|(${SHA256})|(${ISO})|(${UUID})`, 'g');
const CLASS_PATTERN = [ULID, SHA256, ISO, UUID];

const TIMING_KEYS = 'executionTimeMs|executionTimeDeltaMs|latencyMs|[a-z0-9]+ExecutionTimeMs';
const TIMING_KEY = new RegExp(`^(?:${TIMING_KEYS})$`);
/** A timing in JSON printed inside a text line: `"latencyMs":129.929`. */
const TIMING_IN_TEXT = new RegExp(`"(${TIMING_KEYS})":(\\s*)-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?`, 'g');

/**
 * README id/hash → real id/hash, learned as outputs are compared; one-to-one both ways. A
 * mismatch is reported, and nothing is learned from it.
 */
export class Substitutions {
  private readonly forward = new Map<string, string>();
  private readonly backward = new Map<string, string>();

  /** True when `expected` may stand for `actual` (and remembers it). */
  unify(expected: string, actual: string): boolean {
    const known = this.forward.get(expected);
    if (known !== undefined) return known === actual;
    const taken = this.backward.get(actual);
    if (taken !== undefined) return false;
    this.forward.set(expected, actual);
    this.backward.set(actual, expected);
    return true;
  }

  /** `text` with every README value learned so far replaced by its real value. */
  apply(text: string): string {
    return replaceAll(text, this.forward);
  }

  /** `text` (real output) with every learned real value put back to the README's, for messages. */
  revert(text: string): string {
    return replaceAll(text, this.backward);
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function replaceAll(text: string, map: Map<string, string>): string {
  if (map.size === 0) return text;
  const keys = [...map.keys()].sort((a, b) => b.length - a.length).map(escape);
  return text.replace(new RegExp(keys.join('|'), 'g'), (k) => map.get(k) ?? k);
}

/**
 * Whether the line/string `actual` is `expected` with its ULIDs, hashes, timestamps and UUIDs
 * replaced by values of the same kind (ULIDs and hashes consistently with `subs`).
 */
export function unifyText(expected: string, actual: string, subs: Substitutions): boolean {
  const kinds: { kind: number; value: string }[] = [];
  let pattern = '';
  let last = 0;
  for (const m of expected.matchAll(TOKEN)) {
    const kind = m.slice(1).findIndex((g) => g !== undefined);
    pattern += escape(expected.slice(last, m.index)) + `(${CLASS_PATTERN[kind] ?? ''})`;
    kinds.push({ kind, value: m[0] });
    last = m.index + m[0].length;
  }
  if (kinds.length === 0) return expected === actual;
  pattern += escape(expected.slice(last));
  const match = new RegExp(`^${pattern}$`).exec(actual);
  if (!match) return false;
  const pairs = kinds.map((k, i) => ({ ...k, actual: match[i + 1] ?? '' }));
  // Check before learning anything, so a failed line teaches nothing.
  const trial = new Map<string, string>();
  for (const p of pairs) {
    if (p.kind > 1) continue;
    const seen = trial.get(p.value);
    if (seen !== undefined && seen !== p.actual) return false;
    trial.set(p.value, p.actual);
  }
  return pairs.every((p) => p.kind > 1 || subs.unify(p.value, p.actual));
}

/** A number as a text line writes it, with thousands separators or not: `230,386`, `12`, `0.5`. */
const TEXT_NUMBER = '(?<![\\d.,])(\\d{1,3}(?:,\\d{3})+|\\d+(?:\\.\\d+)?)';

/**
 * Why the text line `actual` is not the README's `expected` ({@link unifyText}), or undefined when
 * it is. Timings in JSON printed inside the line are any number, and so is the number before the
 * word of a word range (`bytes` in `(230,386 bytes)`) when it lies within its range (the README's
 * too).
 */
export function compareTextLine(expected: string, actual: string, subs: Substitutions, options: CompareOptions = {}): string | undefined {
  let want = expected.replace(TIMING_IN_TEXT, '"$1":$2#');
  let got = actual.replace(TIMING_IN_TEXT, '"$1":$2#');
  for (const range of (options.ranges ?? []).filter((r) => /^[A-Za-z]/.test(r.path))) {
    const counted = new RegExp(`${TEXT_NUMBER} ${escape(range.path)}\\b`, 'g');
    const numbers = (line: string) => [...line.matchAll(counted)].map((m) => Number((m[1] ?? '').replaceAll(',', '')));
    const shown = numbers(want);
    const printed = numbers(got);
    // Different counts of ranged numbers: the lines differ, as the comparison below says.
    for (let i = 0; i < Math.min(shown.length, printed.length); i++) {
      const problem = rangeProblem(range, shown[i] ?? NaN, printed[i] ?? NaN);
      if (problem !== undefined) return `the number of ${range.path}: ${problem}; expected ${show(expected)}, got ${show(actual)}`;
    }
    want = want.replace(counted, `# ${range.path}`);
    got = got.replace(counted, `# ${range.path}`);
  }
  return unifyText(want, got, subs) ? undefined : `expected ${show(expected)}, got ${show(actual)}`;
}

// ---------------------------------------------------------------------------------------------
// README JSON with elisions

/** Calls `on` for each bracket of a JSON line outside its strings (a JSON string never spans lines). */
function forEachBracket(line: string, on: (bracket: '{' | '[' | '}' | ']') => void): void {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[' || c === '}' || c === ']') on(c);
  }
}

/** Stands for a `…` line: in an object a key that makes it partial, in an array an item. */
export const ELIDED = '\u2026elided\u2026';

const OBJECT_ELISION = `"${ELIDED}": true`;
const ARRAY_ELISION = `"${ELIDED}"`;

/**
 * Parses a README JSON block, in which a `…` stands for what was left out: a line that starts
 * with `…` (the rest of it is a comment), or a `…` in place of an entry (`{"a":1,…}`, `{…, "b": 2,
 * …}`). Each becomes `"…elided…": true` in an object and the item `"…elided…"` in an array. A `…`
 * inside a string is text.
 */
export function parseReadmeJson(text: string): unknown {
  let out = '';
  const stack: string[] = [];
  const elision = () => (stack.at(-1) === '{' ? OBJECT_ELISION : ARRAY_ELISION);
  /** A comma before an elision that follows a value. */
  const separate = () => {
    if (out.trim() !== '' && !/[[{,]\s*$/.test(out)) out = out.replace(/\s*$/, (ws) => `,${ws}`);
  };
  for (const line of text.split('\n')) {
    if (line.trim().startsWith('\u2026')) {
      separate();
      out += `${elision()},\n`;
      continue;
    }
    let inString = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i] ?? '';
      if (inString) {
        out += c;
        if (c === '\\') out += line[++i] ?? '';
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '\u2026') {
        separate();
        out += elision();
        if (!/^\s*[,}\]]/.test(line.slice(i + 1))) out += ',';
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{' || c === '[') stack.push(c);
      else if (c === '}' || c === ']') stack.pop();
      out += c;
    }
    out += '\n';
  }
  // The comma written after an elision that turned out to be the last entry is not JSON: drop it.
  const trailing = new RegExp(`(${escape(OBJECT_ELISION)}|${escape(ARRAY_ELISION)}),(\\s*[}\\]])`, 'g');
  return JSON.parse(out.replace(trailing, '$1$2'));
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const show = (v: unknown) => JSON.stringify(v);

export interface CompareOptions {
  /**
   * Paths whose values are not compared (only their type): `.a.b`, `[2].c`, `[*]` for any index,
   * relative to each JSON value of the output (an `ignore` mark).
   */
  ignore?: string[];
  /** Paths whose numbers are compared as within a range (a `range` mark), not exactly. */
  ranges?: NumberRange[];
}

/** The options a block's mark gives its comparisons. */
export function markOptions(mark: Mark): CompareOptions {
  if (mark.kind === 'ignore') return { ignore: mark.paths };
  if (mark.kind === 'range') return { ranges: mark.ranges };
  return {};
}

/** Why `actual` is not within `range` of the README's `shown`, or undefined when it is. */
function rangeProblem(range: NumberRange, shown: number, actual: number): string | undefined {
  if ('percent' in range) {
    const [min, max] = [shown * (1 - range.percent / 100), shown * (1 + range.percent / 100)].sort((a, b) => a - b) as [number, number];
    return actual >= min && actual <= max ? undefined : `expected a number within ±${range.percent}% of the README's ${shown} (${Number(min.toPrecision(6))}..${Number(max.toPrecision(6))}), got ${actual}`;
  }
  const within = (n: number) => n >= range.min && n <= range.max;
  if (!within(shown)) return `the README shows ${shown}, outside its mark's range ${range.min}..${range.max}`;
  return within(actual) ? undefined : `expected a number in ${range.min}..${range.max} (the README shows ${shown}), got ${actual}`;
}

/** Whether a path pattern (`.a[*].b`) names the path `rel`. */
const pathMatches = (pattern: string, rel: string) => pattern === rel || (pattern.includes('[*]') && new RegExp(`^${escape(pattern).replaceAll('\\[\\*\\]', '\\[\\d+\\]')}$`).test(rel));

/** `$.a[3].b` or `value 2[3].b` → `.a[3].b` / `[3].b`: the path below its JSON value. */
const relative = (path: string) => path.replace(/^[^.[]*/, '');

function ignored(path: string, options: CompareOptions): boolean {
  const rel = relative(path);
  return (options.ignore ?? []).some((p) => pathMatches(p, rel));
}

/**
 * The differences between a README JSON value (from {@link parseReadmeJson}) and the real one, as
 * `path: expected …, got …` lines; empty when they agree.
 */
export function compareJson(expected: unknown, actual: unknown, subs: Substitutions, options: CompareOptions = {}, path = '$'): string[] {
  const key = path.slice(path.lastIndexOf('.') + 1);
  if (typeof expected === 'number' && typeof actual === 'number' && TIMING_KEY.test(key)) return [];
  if (key === 'nextCursor' && typeof expected === 'string' && typeof actual === 'string') return [];
  if (typeName(expected) !== typeName(actual)) return [`${path}: expected ${show(expected)}, got ${show(actual)}`];
  if (ignored(path, options)) return [];
  const range = (options.ranges ?? []).find((r) => pathMatches(r.path, relative(path)));
  if (range !== undefined && typeof expected === 'number' && typeof actual === 'number') {
    const problem = rangeProblem(range, expected, actual);
    return problem === undefined ? [] : [`${path}: ${problem}`];
  }
  if (Array.isArray(expected) && Array.isArray(actual)) return compareArrays(expected, actual, subs, options, path);
  if (isRecord(expected) && isRecord(actual)) {
    const diffs: string[] = [];
    const partial = ELIDED in expected;
    // The old/new value of a diff change on executionTimeMs is a timing.
    const timingChange = expected.path === 'executionTimeMs' && actual.path === 'executionTimeMs';
    for (const [k, v] of Object.entries(expected)) {
      if (k === ELIDED) continue;
      if (!(k in actual)) {
        diffs.push(`${path}.${k}: expected ${show(v)}, missing`);
        continue;
      }
      if (timingChange && (k === 'oldValue' || k === 'newValue') && typeof v === 'number' && typeof actual[k] === 'number') continue;
      diffs.push(...compareJson(v, actual[k], subs, options, `${path}.${k}`));
    }
    if (!partial) for (const k of Object.keys(actual)) if (!(k in expected)) diffs.push(`${path}.${k}: not in the README, got ${show(actual[k])}`);
    return diffs;
  }
  if (typeof expected === 'string' && typeof actual === 'string') return unifyText(expected, actual, subs) ? [] : [`${path}: expected ${show(expected)}, got ${show(actual)}`];
  return expected === actual ? [] : [`${path}: expected ${show(expected)}, got ${show(actual)}`];
}

function compareArrays(expected: unknown[], actual: unknown[], subs: Substitutions, options: CompareOptions, path: string): string[] {
  const cut = expected.indexOf(ELIDED);
  if (cut < 0) {
    if (expected.length !== actual.length) return [`${path}: expected ${expected.length} items, got ${actual.length}: ${show(actual)}`];
    return expected.flatMap((e, i) => compareJson(e, actual[i], subs, options, `${path}[${i}]`));
  }
  const head = expected.slice(0, cut);
  const tail = expected.slice(cut + 1);
  if (tail.includes(ELIDED)) throw new Error(`${path}: one elision per array`);
  if (actual.length < head.length + tail.length) return [`${path}: expected at least ${head.length + tail.length} items, got ${actual.length}`];
  const offset = actual.length - tail.length;
  return [...head.flatMap((e, i) => compareJson(e, actual[i], subs, options, `${path}[${i}]`)), ...tail.flatMap((e, i) => compareJson(e, actual[offset + i], subs, options, `${path}[${offset + i}]`))];
}

// ---------------------------------------------------------------------------------------------
// A command's whole output

/** A piece of output: a line of text, or a JSON value (which may span lines). */
export type Segment = { kind: 'text'; text: string } | { kind: 'json'; text: string };

/**
 * Splits output into JSON values and text lines. A line that starts with `{` or `[` opens a JSON
 * value that runs until its brackets balance (a README value may contain `…` lines); a line that
 * does not balance or parse stays text. Trailing whitespace is dropped from every line: the README
 * cannot show it, and curl prints header lines with `\r`.
 */
export function segments(text: string, parse: (json: string) => unknown): Segment[] {
  const lines = text.replace(/\n$/, '').split('\n').map((l) => l.trimEnd());
  if (lines.length === 1 && lines[0] === '') return [];
  const out: Segment[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\s*[[{]/.test(line)) {
      let depth = 0;
      for (let j = i; j < lines.length; j++) {
        forEachBracket(lines[j] ?? '', (c) => (depth += c === '{' || c === '[' ? 1 : -1));
        if (depth <= 0) {
          const candidate = lines.slice(i, j + 1).join('\n');
          try {
            parse(candidate);
            out.push({ kind: 'json', text: candidate });
            i = j;
          } catch {
            out.push({ kind: 'text', text: line });
          }
          break;
        }
        if (j === lines.length - 1) out.push({ kind: 'text', text: line });
      }
      continue;
    }
    out.push({ kind: 'text', text: line });
  }
  return out;
}

/** Splits `HTTP/1.1 …` + headers + blank line + body (curl -i); the header part is undefined otherwise. */
function splitHttp(text: string): { head: string[] | undefined; body: string } {
  if (!text.startsWith('HTTP/')) return { head: undefined, body: text };
  const normal = text.replace(/\r\n/g, '\n');
  const end = normal.indexOf('\n\n');
  if (end < 0) return { head: normal.split('\n'), body: '' };
  return { head: normal.slice(0, end).split('\n'), body: normal.slice(end + 2) };
}

/**
 * The differences between what the README shows after a command and what it printed.
 * - An expected `HTTP/…` status line and headers (curl -i): the status line must be equal and each
 *   header shown must be there with that value; the rest is compared as the body.
 * - Then both are split into {@link segments}: the same number of each, in the same order; JSON
 *   values compare structurally (key order and whitespace do not matter), text lines after
 *   unifying ids, hashes and timestamps.
 */
export function compareOutput(expected: ExpectedBlock[], actualText: string, subs: Substitutions, options: CompareOptions = {}): string[] {
  let blocks = expected;
  let actual = actualText;
  const diffs: string[] = [];
  const first = blocks[0];
  if (first?.text.startsWith('HTTP/')) {
    const { head, body } = splitHttp(actual);
    const lines = first.text.split('\n');
    const headerEnd = lines.findIndex((l, i) => i > 0 && !/^[A-Za-z0-9-]+: /.test(l));
    const shownHead = headerEnd < 0 ? lines : lines.slice(0, headerEnd);
    const rest = headerEnd < 0 ? '' : lines.slice(headerEnd).join('\n');
    if (head === undefined) return [`expected an HTTP status line '${shownHead[0] ?? ''}', got ${show(actual.slice(0, 200))}`];
    if (head[0]?.trim() !== shownHead[0]) diffs.push(`status line: expected '${shownHead[0] ?? ''}', got '${head[0] ?? ''}'`);
    for (const h of shownHead.slice(1)) {
      const name = h.slice(0, h.indexOf(':')).toLowerCase();
      const value = h.slice(h.indexOf(':') + 1).trim();
      const got = head.slice(1).find((l) => l.toLowerCase().startsWith(`${name}:`));
      const gotValue = got?.slice(got.indexOf(':') + 1).trim();
      if (gotValue === undefined) diffs.push(`header ${name}: expected '${value}', missing`);
      else if (!unifyText(value, gotValue, subs)) diffs.push(`header ${name}: expected '${value}', got '${gotValue}'`);
    }
    blocks = [...(rest.trim() === '' ? [] : [{ ...first, text: rest }]), ...blocks.slice(1)];
    actual = body;
  }
  const want = segments(blocks.map((b) => b.text).join('\n'), parseReadmeJson);
  const got = segments(actual, (t) => JSON.parse(t));
  if (want.length !== got.length) {
    return [...diffs, `expected ${want.length} lines/JSON values, got ${got.length}`];
  }
  want.forEach((w, i) => {
    const g = got[i];
    if (g === undefined) return;
    if (w.kind === 'json' && g.kind === 'json') diffs.push(...compareJson(parseReadmeJson(w.text), JSON.parse(g.text), subs, options, `value ${i + 1}`));
    else if (w.kind !== g.kind) diffs.push(`line/value ${i + 1}: expected ${show(w.text)}, got ${show(g.text)}`);
    else {
      const problem = compareTextLine(w.text, g.text, subs, options);
      if (problem !== undefined) diffs.push(`line ${i + 1}: ${problem}`);
    }
  });
  return diffs;
}

// ---------------------------------------------------------------------------------------------
// Terminal transcripts: `$ command` lines, each followed by what it printed

/** One `$ command` of a transcript and the lines the README shows it printing. */
export interface TranscriptStep {
  /** 1-based README line of the command. */
  line: number;
  command: string;
  expected: string[];
  /** The mark of its block, when it has one (`<!-- tour: range …: why -->`, `ignore`). */
  mark?: Mark;
}

/** A request line of a README exchange: `GET /batches/01M8…`, `POST /snapshots  {…}`. */
const REQUEST_LINE = /^(GET|POST|PUT|PATCH|DELETE) (\/\S*)(?:\s+(\S.*))?$/;

/**
 * The terminal transcripts of a section (`heading` as {@link fences} takes it): its blocks in one
 * of `langs` (```sh by default) whose first line starts with `$ `. Each `$ ` line is a command,
 * continued on the next line while a line ends with `\` (as a shell reads it); the lines up to the
 * next command are what it printed (stdout and stderr, as a terminal shows them). Other ```sh
 * blocks (commands without a prompt) are not transcripts. A block may end with request/response
 * pairs ({@link parseExchanges}) after a blank line: they are not the last command's output.
 */
export function parseTranscripts(markdown: string, heading: string, langs: readonly string[] = ['sh']): TranscriptStep[][] {
  return fences(markdown, heading)
    .filter((f) => langs.includes(f.lang) && f.text.startsWith('$ '))
    .map(transcriptSteps);
}

/** The `$ command` steps of one transcript block ({@link parseTranscripts}). */
function transcriptSteps(f: Fence): TranscriptStep[] {
  const mark = markOf(f.before, f.line);
  const steps: TranscriptStep[] = [];
  let continued = false;
  const lines = f.text.split('\n');
  const exchanges = lines.findIndex((l, i) => i > 0 && lines[i - 1] === '' && REQUEST_LINE.test(l));
  (exchanges < 0 ? lines : lines.slice(0, exchanges)).forEach((line, i) => {
    const step = steps.at(-1);
    if (continued && step !== undefined) step.command += `\n${line}`;
    else if (line.startsWith('$ ')) steps.push({ line: f.line + 1 + i, command: line.slice(2), expected: [], ...(mark.kind !== 'compare' && { mark }) });
    else step?.expected.push(line);
    continued = (continued || line.startsWith('$ ')) && line.endsWith('\\');
  });
  return steps;
}

/** A request the README shows with the answer it got: `POST /path  {body}` then `409 {…}`. */
export interface Exchange {
  /** 1-based README line of the request. */
  line: number;
  method: string;
  path: string;
  /** The body as the README shows it (README JSON: it may elide with `…`). */
  body?: string;
  status: number;
  /** The answer's body as the README shows it (README JSON, may span lines). */
  response: string;
  mark: Mark;
}

/**
 * The request/response pairs the README shows in the plain (or indented) code blocks of a section:
 * a line `METHOD /path` (a JSON body after it, optional) and right after it a line `STATUS body`,
 * the body continued on the lines that follow while they are indented. Other lines are not
 * exchanges.
 */
export function parseExchanges(markdown: string, heading: string): Exchange[] {
  const out: Exchange[] = [];
  for (const f of fences(markdown, heading)) {
    if (f.lang !== '') continue;
    const mark = markOf(f.before, f.line);
    const lines = f.text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const request = REQUEST_LINE.exec(lines[i] ?? '');
      const response = /^(\d{3}) (\S.*)$/.exec(lines[i + 1] ?? '');
      if (!request || !response) continue;
      const body = [response[2] ?? ''];
      let j = i + 2;
      for (; j < lines.length && /^\s+\S/.test(lines[j] ?? ''); j++) body.push((lines[j] ?? '').trim());
      out.push({ line: f.line + 1 + i, method: request[1] ?? '', path: request[2] ?? '', ...(request[3] !== undefined && { body: request[3] }), status: Number(response[1]), response: body.join('\n'), mark });
      i = j - 1;
    }
  }
  return out;
}

/**
 * A row whose numbers are timings (a key/value row or a diff row of `executionTimeMs`, the batch's
 * percentiles, a comparison's latency rows and their heading, whose bootstrap seed comes from the
 * batch ids).
 */
const TIMING_ROW = /^(?:executionTimeMs|executionTimeDeltaMs|p50|p95|latency \(ms,) /;
/** A batch's progress line while it runs: how many a follower prints depends on timing. */
const PROGRESS_LINE = /^batch [0-9A-Z]{26} RUNNING /;

/**
 * A transcript line as compared: tables are padded to their widest value, so runs of spaces are
 * one space and a rule of dashes is `--`; timings (see {@link TIMING_ROW}, with their signs) and
 * rates (`7.3/s`) are `#`.
 */
export function normalizeTranscriptLine(line: string): string {
  let l = line.trim().replace(/\s+/g, ' ').replace(/-{2,}/g, '--');
  if (TIMING_ROW.test(l)) l = l.replace(/[-+]?\d+(?:\.\d+)?/g, '#');
  return l.replace(/(?<![\w.])\d+(?:\.\d+)?\/s\b/g, '#/s');
}

/**
 * The differences between the lines the README shows after a `$ command` and what it printed:
 * JSON values (a command printing JSON, as piped) structurally as in the tour ({@link compareJson},
 * with the block mark's `options`), other lines one by one after {@link normalizeTranscriptLine};
 * ids, hashes and timestamps unified as in the tour; progress lines of a running batch are left out
 * on both sides.
 */
export function compareTranscript(expected: readonly string[], actualText: string, subs: Substitutions, options: CompareOptions = {}): string[] {
  const kept = (text: string, parse: (json: string) => unknown) =>
    segments(text, parse)
      .map((s) => (s.kind === 'text' ? { ...s, text: normalizeTranscriptLine(s.text) } : s))
      .filter((s) => s.kind === 'json' || (s.text !== '' && !PROGRESS_LINE.test(s.text)));
  const want = kept(expected.join('\n'), parseReadmeJson);
  const got = kept(actualText, (t) => JSON.parse(t));
  const diffs: string[] = [];
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    const w = want[i];
    const g = got[i];
    if (w === undefined) diffs.push(`line ${i + 1}: not in the README, printed ${show(g?.text)}`);
    else if (g === undefined) diffs.push(`line ${i + 1}: expected ${show(w.text)}, not printed`);
    else if (w.kind === 'json' && g.kind === 'json') diffs.push(...compareJson(parseReadmeJson(w.text), JSON.parse(g.text), subs, options, `value ${i + 1}`));
    else if (w.kind !== g.kind) diffs.push(`line ${i + 1}: expected ${show(w.text)}, got ${show(g.text)}`);
    else {
      const problem = compareTextLine(w.text, g.text, subs, options);
      if (problem !== undefined) diffs.push(`line ${i + 1}: ${problem}`);
    }
  }
  return diffs;
}
