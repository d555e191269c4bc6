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
  const stack: [unknown, number, string][] = [[value, 1, '']];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth, path] = top;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return { kind: 'too-deep', max, at: path === '' ? '(root)' : path };
    if (Array.isArray(v)) {
      v.forEach((child, i) => {
        if (child !== null && typeof child === 'object') stack.push([child, depth + 1, `${path}[${i}]`]);
      });
      continue;
    }
    for (const key of Object.keys(v)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (UNSTORABLE_KEYS.has(key)) return { kind: 'unstorable-key', key, at };
      const child = (v as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1, at]);
    }
  }
  return undefined;
}
