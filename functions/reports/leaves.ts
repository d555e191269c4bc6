/** Flattening a decision into its leaves, for the side-by-side views. */
import { appendSegment } from '../core/field-path.js';
import type { ChangeType, FieldChange } from '../core/diff.js';
import type { JsonValue } from '../core/json.js';

export interface Leaf {
  path: string;
  value: JsonValue;
}

/** Every leaf of a JSON document (primitives and empty containers), in document order. */
export function leavesOf(doc: JsonValue, base = ''): Leaf[] {
  const out: Leaf[] = [];
  const walk = (v: JsonValue, path: string): void => {
    if (v !== null && typeof v === 'object') {
      const entries: [string | number, JsonValue][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
      if (entries.length > 0) {
        for (const [k, child] of entries) walk(child, appendSegment(path, k));
        return;
      }
    }
    out.push({ path, value: v });
  };
  walk(doc, base);
  return out;
}

/**
 * The kind of change at or above `path` (an added or removed subtree is one change at its root),
 * or undefined when the leaf did not change.
 */
export function changeAt(changes: ReadonlyMap<string, ChangeType>, path: string): ChangeType | undefined {
  const exact = changes.get(path);
  if (exact) return exact;
  for (let i = path.length - 1; i > 0; i--) {
    const c = path[i];
    if (c === '.' || c === '[') {
      const found = changes.get(path.slice(0, i));
      if (found) return found;
    }
  }
  return undefined;
}

export function changeMap(changes: readonly FieldChange[]): Map<string, ChangeType> {
  return new Map(changes.map((c) => [c.path, c.changeType]));
}
