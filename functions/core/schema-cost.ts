/**
 * The cost of a JsonSchema rule, bounded before the validator runs.
 *
 * @cfworker/json-schema walks the instance once per subschema that applies to it, except where it
 * cannot be bounded that way: `uniqueItems` compares every pair of elements (20,000 objects took
 * 9.5 s), a `$ref` cycle re-enters the schema once per instance level (and under `anyOf` can
 * branch at each), and `pattern`/`patternProperties` run on JavaScript's backtracking RegExp. So:
 * - at PUT/validate a schema is refused when it holds patterns (Regex rules run them on RE2) or a
 *   `$ref` cycle, or expands, references followed, to more than {@link MAX_SCHEMA_SUBSCHEMAS};
 * - at evaluation the work is estimated as (expanded subschemas × instance nodes) plus, when the
 *   schema uses `uniqueItems`, the pairs of every array; over {@link MAX_SCHEMA_COST} the rule is a
 *   violation that says it could not be checked, instead of a stall.
 */
import type { JsonValue } from './json.js';

/** Largest schema, counted as subschemas with every `$ref` expanded in place. */
export const MAX_SCHEMA_SUBSCHEMAS = 2_000;
/**
 * Work units one evaluation may take. One unit is one subschema applied to one instance node, or
 * one pair of array elements compared for `uniqueItems`; 4,000,000 take ~100 ms on a shared
 * 2-core machine in the worst shapes measured (see test/unit/comparator-cost.test.ts).
 */
export const MAX_SCHEMA_COST = 250_000;

type JsonObject = { [key: string]: JsonValue };

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Resolves a local JSON Pointer (`#`, `#/$defs/x`) inside `root`; undefined when it names nothing. */
export function resolveLocalRef(root: JsonValue, ref: string): JsonValue | undefined {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let node: JsonValue | undefined = root;
  for (const raw of ref.slice(2).split('/')) {
    let token: string;
    try {
      token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      return undefined;
    }
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[Number(token)] : Object.hasOwn(node, token) ? node[token] : undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/** What the cost check learns about a schema once (cached by the caller). */
export interface SchemaShape {
  /** Why the schema is refused, or undefined. */
  problem?: string;
  /** Subschemas with references expanded (valid only when there is no problem). */
  expandedSize: number;
  usesUniqueItems: boolean;
}

/**
 * Measures a schema: refuses patterns, unresolvable or cyclic `$ref`s and oversized expansions.
 * Iterative over the schema's own nesting, memoised over reference targets.
 */
export function schemaShape(schema: JsonValue): SchemaShape {
  let usesUniqueItems = false;
  const memo = new Map<JsonValue, number>();
  const active = new Set<JsonValue>();
  const fail = (problem: string): SchemaShape => ({ problem, expandedSize: 0, usesUniqueItems });
  class Refused extends Error {}
  let refusal = '';
  const size = (node: JsonValue, depth: number): number => {
    if (node === null || typeof node !== 'object') return 0;
    if (depth > 64) {
      refusal = 'schema nests deeper than 64 levels';
      throw new Refused();
    }
    const cached = memo.get(node);
    if (cached !== undefined) return cached;
    if (active.has(node)) {
      refusal = 'schema $ref forms a cycle (recursive schemas cannot be bounded in cost and are not supported)';
      throw new Refused();
    }
    active.add(node);
    let total = Array.isArray(node) ? 0 : 1;
    if (Array.isArray(node)) {
      for (const child of node) total += size(child, depth + 1);
    } else {
      for (const [key, child] of Object.entries(node)) {
        if (key === 'pattern' || key === 'patternProperties') {
          refusal = `schema keyword '${key}' runs on JavaScript's backtracking RegExp, which a crafted value can stall; check the string with a Regex rule instead (RE2, linear time)`;
          throw new Refused();
        }
        if (key === 'uniqueItems' && child === true) usesUniqueItems = true;
        if ((key === '$ref' || key === '$dynamicRef' || key === '$recursiveRef') && typeof child === 'string') {
          const target = resolveLocalRef(schema, child);
          if (target === undefined) {
            refusal = `schema ${key} ${JSON.stringify(child)} does not resolve (only references inside the schema, such as "#/$defs/name", are supported)`;
            throw new Refused();
          }
          total += size(target, depth + 1);
          continue;
        }
        // `const`, `enum`, `default` and `examples` hold values, not subschemas.
        if (key === 'const' || key === 'enum' || key === 'default' || key === 'examples') continue;
        total += size(child, depth + 1);
      }
    }
    active.delete(node);
    if (total > MAX_SCHEMA_SUBSCHEMAS) {
      refusal = `schema expands to more than ${MAX_SCHEMA_SUBSCHEMAS} subschemas with its references followed`;
      throw new Refused();
    }
    memo.set(node, total);
    return total;
  };
  try {
    const expandedSize = Math.max(1, size(schema, 0));
    return { expandedSize, usesUniqueItems };
  } catch (err) {
    if (err instanceof Refused) return fail(refusal);
    throw err;
  }
}

/**
 * The estimated work of validating `instance` against a schema of this shape, in the units of
 * {@link MAX_SCHEMA_COST}. Stops counting once over `limit`.
 */
export function schemaCost(shape: SchemaShape, instance: JsonValue, limit = MAX_SCHEMA_COST): number {
  let nodes = 0;
  let pairs = 0;
  const stack: JsonValue[] = [instance];
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    nodes += 1;
    if (typeof v === 'string') nodes += v.length >> 6; // format checks scan strings
    if (Array.isArray(v)) {
      if (shape.usesUniqueItems) pairs += (v.length * (v.length - 1)) / 2;
      for (const child of v) stack.push(child);
    } else if (isObject(v)) {
      for (const child of Object.values(v)) stack.push(child);
    }
    if (nodes * shape.expandedSize + pairs > limit) return nodes * shape.expandedSize + pairs;
  }
  return nodes * shape.expandedSize + pairs;
}
