/**
 * The shape limits every JSON document the service takes in is held to, whoever sends it: a
 * request body (the HTTP edge) or an executor's answer (executor-answer.ts). Checked on the parsed
 * value before any schema walks it, iteratively (no recursion).
 */

/**
 * Deepest nesting a JSON document may have. Schemas walk values recursively, so a document of
 * thousands of nested brackets would overflow the stack (a RangeError, a 500) before any schema
 * could refuse it.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Object keys that JavaScript treats specially on assignment: `JSON.parse` keeps `"__proto__"` as
 * an own key, but every later copy (schema parsing, marshalling) turns it into a prototype change
 * and silently drops it, so a document holding one cannot be stored and read back faithfully.
 */
export const UNSTORABLE_KEYS: ReadonlySet<string> = new Set(['__proto__']);

/** Why a parsed JSON document cannot be taken as it is. */
export type JsonShapeProblem = { kind: 'too-deep'; max: number; at: string } | { kind: 'unstorable-key'; key: string; at: string };

/**
 * The first reason `value` cannot be taken: nesting deeper than `max` levels (the root is level
 * 1), or a key from {@link UNSTORABLE_KEYS}; each named by its path (`outputs[0].value.__proto__`).
 */
export function jsonShapeProblem(value: unknown, max = MAX_JSON_DEPTH): JsonShapeProblem | undefined {
  return jsonShape(value, max).problem;
}

/**
 * One walk of a parsed document: its {@link jsonShapeProblem}, and how many own keys its objects
 * hold (for {@link duplicateKeyProblem}; counted up to the problem when there is one).
 */
export function jsonShape(value: unknown, max = MAX_JSON_DEPTH): { problem?: JsonShapeProblem; keys: number } {
  let keys = 0;
  const stack: [unknown, number, string][] = [[value, 1, '']];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth, path] = top;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return { problem: { kind: 'too-deep', max, at: path === '' ? '(root)' : path }, keys };
    if (Array.isArray(v)) {
      v.forEach((child, i) => {
        if (child !== null && typeof child === 'object') stack.push([child, depth + 1, `${path}[${i}]`]);
      });
      continue;
    }
    for (const key of Object.keys(v)) {
      keys++;
      const at = path === '' ? key : `${path}.${key}`;
      if (UNSTORABLE_KEYS.has(key)) return { problem: { kind: 'unstorable-key', key, at }, keys };
      const child = (v as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1, at]);
    }
  }
  return { keys };
}

/**
 * Where the JSON text `raw` (already accepted by `JSON.parse`, which parsed it to `value`) names
 * the same key twice in one object, as `{key, at}` (`at` the object's path, `(root)` for the
 * top level); undefined when every object's keys are unique.
 *
 * `JSON.parse` keeps the last of duplicate keys and says nothing, so what the service stored and
 * hashed would not be what the sender's text shows (`{"decision":"deny","decision":"approve"}`).
 * RFC 8785, whose hash every record carries, takes I-JSON (RFC 7493), where duplicate names are
 * not allowed. The common case costs one scan of the text: the keys it counts are compared with
 * `parsedKeys`, the keys the parsed value holds ({@link jsonShape} counts them); only when they
 * differ is the text parsed again to name the duplicate.
 */
export function duplicateKeyProblem(raw: string, parsedKeys: number): { key: string; at: string } | undefined {
  const written = countWrittenKeys(raw);
  if (written === 0 || written === parsedKeys) return undefined;
  return new DuplicateFinder(raw).find();
}

/** How many object keys the JSON text writes: strings followed by `:`. */
function countWrittenKeys(raw: string): number {
  let keys = 0;
  const n = raw.length;
  let i = raw.indexOf('"');
  while (i !== -1 && i < n) {
    const end = closingQuote(raw, i);
    let j = end + 1;
    while (j < n && isJsonSpace(raw.charCodeAt(j))) j++;
    if (raw.charCodeAt(j) === 0x3a /* : */) keys++;
    i = raw.indexOf('"', j);
  }
  return keys;
}

/** The index of the quote that closes the string opened at `open` (a quote preceded by an even run of backslashes). */
function closingQuote(raw: string, open: number): number {
  let q = raw.indexOf('"', open + 1);
  while (q !== -1) {
    let slashes = 0;
    for (let k = q - 1; raw.charCodeAt(k) === 0x5c /* \ */; k--) slashes++;
    if (slashes % 2 === 0) return q;
    q = raw.indexOf('"', q + 1);
  }
  return raw.length; // unreachable for text JSON.parse accepted
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * A second, slow pass over text `JSON.parse` accepted, only to name a duplicate key and where it
 * is. Recursion is bounded by the depth limit checked before (MAX_JSON_DEPTH).
 */
class DuplicateFinder {
  private i = 0;
  constructor(private readonly raw: string) {}

  find(): { key: string; at: string } | undefined {
    try {
      this.value('');
    } catch (found) {
      if (found instanceof Found) return { key: found.key, at: found.at === '' ? '(root)' : found.at };
      throw found;
    }
    return undefined;
  }

  private space(): void {
    while (this.i < this.raw.length && isJsonSpace(this.raw.charCodeAt(this.i))) this.i++;
  }

  private string(): string {
    const end = closingQuote(this.raw, this.i);
    const text = JSON.parse(this.raw.slice(this.i, end + 1)) as string;
    this.i = end + 1;
    return text;
  }

  private value(path: string): void {
    this.space();
    const c = this.raw[this.i];
    if (c === '{') {
      this.i++;
      const seen = new Set<string>();
      this.space();
      if (this.raw[this.i] === '}') {
        this.i++;
        return;
      }
      for (;;) {
        this.space();
        const key = this.string();
        if (seen.has(key)) throw new Found(key, path);
        seen.add(key);
        this.space();
        this.i++; // :
        this.value(path === '' ? key : `${path}.${key}`);
        this.space();
        if (this.raw[this.i++] === '}') return;
      }
    }
    if (c === '[') {
      this.i++;
      this.space();
      if (this.raw[this.i] === ']') {
        this.i++;
        return;
      }
      for (let index = 0; ; index++) {
        this.value(`${path}[${index}]`);
        this.space();
        if (this.raw[this.i++] === ']') return;
      }
    }
    if (c === '"') {
      this.i = closingQuote(this.raw, this.i) + 1;
      return;
    }
    // number, true, false, null: up to the next delimiter
    while (this.i < this.raw.length && !',]}'.includes(this.raw[this.i] as string) && !isJsonSpace(this.raw.charCodeAt(this.i))) this.i++;
  }
}

class Found {
  constructor(
    readonly key: string,
    readonly at: string,
  ) {}
}

const LONE_SURROGATE = /\p{Surrogate}/u;
/** A lone surrogate can reach parsed JSON only as a `\uD800`–`\uDFFF` escape, or raw in a string that was never UTF-8. */
const MAY_HOLD_LONE_SURROGATE = /\\u[dD][89a-fA-F]|\p{Surrogate}/u;

/**
 * Where the first string or key of a parsed JSON document holding a lone UTF-16 surrogate lies
 * (`outputs[0].value.why[1]`, `(root)` for the document itself), or undefined. JSON allows
 * `"\ud800"`, but such text has no UTF-8 form: RFC 8785 (JCS) refuses to hash it and DynamoDB
 * would store U+FFFD instead, so a record holding it can be neither sealed nor read back as sent.
 * With `text`, the JSON text the value was parsed from, a text without any surrogate escape is
 * answered at once. Call it on a document whose depth is bounded ({@link jsonShape}).
 */
export function loneSurrogatePath(value: unknown, text?: string): string | undefined {
  if (text !== undefined && !MAY_HOLD_LONE_SURROGATE.test(text)) return undefined;
  return loneSurrogateAt(value, '');
}

function loneSurrogateAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path || '(root)' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = loneSurrogateAt(value[i], `${path}[${i}]`);
      if (at !== undefined) return at;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    const keyPath = path === '' ? key : `${path}.${key}`;
    if (LONE_SURROGATE.test(key)) return keyPath;
    const at = loneSurrogateAt(child, keyPath);
    if (at !== undefined) return at;
  }
  return undefined;
}
