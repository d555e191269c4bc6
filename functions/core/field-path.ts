/**
 * Field paths: one syntax for diff, policies, replay comparisons and stats.
 *
 *   functionName · executionTimeMs · modelParameters.temperature · context.tenant
 *   inputs.applicant.income · outputs.decision · outputs.items[2].price · outputs["a.b"]
 *
 * A path is a list of segments: object keys and array indexes. A bare key is any non-empty run of
 * characters other than `.`, `[`, `]` and `"`; any other key is written `["…"]` with JSON string
 * escapes. Under `inputs.` / `outputs.` the first key is an entry's `name` and the rest addresses
 * that entry's `value` (see {@link toPathDocument}).
 */
import { ValidationError } from './errors.js';
import type { JsonValue } from './json.js';

export type PathSegment = string | number;

const BARE_KEY = /^[^.[\]"\s]+$/;

/** Error raised for a path that does not parse. */
export class FieldPathError extends ValidationError {
  readonly path: string;
  constructor(path: string, reason: string) {
    super(`invalid field path '${path}': ${reason}`, { code: 'INVALID_FIELD_PATH' });
    this.path = path;
  }
}

/** Parses a path string into segments. Throws {@link FieldPathError} with the reason. */
export function parsePath(path: string): PathSegment[] {
  if (path.length === 0) throw new FieldPathError(path, 'path is empty');
  if (path.length > 1024) throw new FieldPathError(path.slice(0, 40) + '…', 'path is longer than 1024 characters');
  const segments: PathSegment[] = [];
  let i = 0;
  let expectKey = true; // at the start or right after a '.'
  while (i < path.length) {
    const ch = path[i];
    if (ch === '[') {
      const close = findBracketEnd(path, i);
      const inner = path.slice(i + 1, close);
      if (/^(0|[1-9]\d*)$/.test(inner)) {
        if (segments.length === 0) throw new FieldPathError(path, 'a path cannot start with an index');
        const n = Number(inner);
        if (!Number.isSafeInteger(n)) throw new FieldPathError(path, `index ${inner} is too large`);
        segments.push(n);
      } else if (inner.startsWith('"')) {
        let key: unknown;
        try {
          key = JSON.parse(inner);
        } catch {
          throw new FieldPathError(path, `bad quoted key ${inner}`);
        }
        if (typeof key !== 'string') throw new FieldPathError(path, `bad quoted key ${inner}`);
        segments.push(key);
      } else {
        throw new FieldPathError(path, `'[${inner}]' is neither an index nor a quoted key`);
      }
      i = close + 1;
      expectKey = false;
      continue;
    }
    if (ch === '.') {
      if (expectKey) throw new FieldPathError(path, `empty key at position ${i}`);
      expectKey = true;
      i += 1;
      continue;
    }
    if (!expectKey) throw new FieldPathError(path, `expected '.' or '[' at position ${i}`);
    let j = i;
    while (j < path.length && path[j] !== '.' && path[j] !== '[') j += 1;
    const key = path.slice(i, j);
    if (!BARE_KEY.test(key)) throw new FieldPathError(path, `key '${key}' must be quoted as ["…"]`);
    segments.push(key);
    i = j;
    expectKey = false;
  }
  if (expectKey) throw new FieldPathError(path, 'path ends with a dot');
  return segments;
}

function findBracketEnd(path: string, open: number): number {
  let i = open + 1;
  if (path[i] === '"') {
    i += 1;
    while (i < path.length && path[i] !== '"') i += path[i] === '\\' ? 2 : 1;
    i += 1;
  }
  while (i < path.length && path[i] !== ']') i += 1;
  if (i >= path.length) throw new FieldPathError(path, `unclosed '[' at position ${open}`);
  return i;
}

/** Formats segments as a path string; `formatPath(parsePath(p))` is the canonical spelling of p. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const seg of segments) out = appendSegment(out, seg);
  return out;
}

/** Appends one segment to a formatted path (cheap: used in hot loops by the diff). */
export function appendSegment(path: string, seg: PathSegment): string {
  if (typeof seg === 'number') return `${path}[${seg}]`;
  if (BARE_KEY.test(seg)) return path.length === 0 ? seg : `${path}.${seg}`;
  return `${path}[${JSON.stringify(seg)}]`;
}

/** Result of reading a path: found with its value, or not found with where the walk stopped. */
export type PathRead = { found: true; value: JsonValue } | { found: false; missingAt: string };

/** Reads the value at `segments` inside a JSON document. */
export function readSegments(doc: JsonValue | undefined, segments: readonly PathSegment[]): PathRead {
  let cur: JsonValue | undefined = doc;
  let walked = '';
  for (const seg of segments) {
    walked = appendSegment(walked, seg);
    if (typeof seg === 'number') {
      if (!Array.isArray(cur) || seg >= cur.length) return { found: false, missingAt: walked };
      cur = cur[seg];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, seg)) {
        return { found: false, missingAt: walked };
      }
      cur = cur[seg];
    }
    if (cur === undefined) return { found: false, missingAt: walked };
  }
  if (cur === undefined) return { found: false, missingAt: walked };
  return { found: true, value: cur };
}

/** Reads the value at a path string inside a JSON document. Throws {@link FieldPathError} on a bad path. */
export function readPath(doc: JsonValue, path: string): PathRead {
  return readSegments(doc, parsePath(path));
}
