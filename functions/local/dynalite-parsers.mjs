// Remembers dynalite's parsed expressions. Plain JavaScript: the dynalite worker thread imports it
// too, and a worker does not go through the TypeScript loader.
//
// dynalite validates every request that carries an expression (ConditionExpression,
// UpdateExpression, KeyConditionExpression, FilterExpression, ProjectionExpression) by running its
// PEG parser over the expression text. The service sends the same few expressions over and over
// (every conditional put is `attribute_not_exists(pk)`), and the parse was the largest single cost
// inside dynalite: in a profile of the dynalite thread during three 1,000-item batches it took
// 14 % of the thread's busy time, more than executing the writes.
//
// The parse of an expression is a pure function of its text, its ExpressionAttributeNames and
// ExpressionAttributeValues and whether it is a key condition; besides its answer it marks the
// names and values it used (it deletes them from the request's `unused` sets, which dynalite then
// checks). So the answer is kept under exactly those inputs, the names and values it used are kept
// beside it and marked again on every reuse, and each reuse gets its own copy (nothing dynalite
// does to one request's parse can reach another's). An answer with anything but plain objects,
// null-prototype objects, arrays and primitives in it, a parse that throws, and the inputs of a
// very large request are not kept: those requests are parsed as before.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** How many parsed expressions each parser keeps (the oldest goes first). */
export const PARSE_CACHE_SIZE = 500;
/** Inputs (text + names + values, as JSON) longer than this are parsed every time. */
export const PARSE_CACHE_MAX_KEY = 4096;

/** A copy of a parse answer, or undefined when it holds something other than plain data. */
export function copyParsed(value) {
  if (value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? undefined : { value };
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const copied = copyParsed(value[i]);
      if (copied === undefined) return undefined;
      out[i] = copied.value;
    }
    return { value: out };
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== null && proto !== Object.prototype) return undefined;
  const out = Object.create(proto);
  for (const key of Object.keys(value)) {
    const copied = copyParsed(value[key]);
    if (copied === undefined) return undefined;
    out[key] = copied.value;
  }
  return { value: out };
}

/** The memoising wrapper of one parser's `parse(text, { context })`. */
export function memoizedParse(parse, size = PARSE_CACHE_SIZE) {
  const cache = new Map();
  const wrapped = (text, options) => {
    const context = options?.context;
    if (typeof text !== 'string' || context === null || typeof context !== 'object') return parse(text, options);
    const key = `${context.isKeyCondition === true ? 'k' : 'e'}${text}\u0000${JSON.stringify(context.attrNames ?? null)}\u0000${JSON.stringify(context.attrVals ?? null)}`;
    if (key.length > PARSE_CACHE_MAX_KEY) return parse(text, options);
    let entry = cache.get(key);
    if (entry === undefined) {
      // Parsed against its own `unused` sets holding every name and value of the request, so what
      // it uses is known whatever other expressions of the request marked before it.
      const unusedAttrNames = Object.fromEntries(Object.keys(context.attrNames ?? {}).map((k) => [k, true]));
      const unusedAttrVals = Object.fromEntries(Object.keys(context.attrVals ?? {}).map((k) => [k, true]));
      const answer = parse(text, { ...options, context: { ...context, unusedAttrNames, unusedAttrVals } });
      const kept = copyParsed(answer);
      entry = {
        answer: kept,
        usedNames: Object.keys(context.attrNames ?? {}).filter((k) => !(k in unusedAttrNames)),
        usedVals: Object.keys(context.attrVals ?? {}).filter((k) => !(k in unusedAttrVals)),
      };
      if (kept !== undefined) {
        cache.set(key, entry);
        if (cache.size > size) cache.delete(cache.keys().next().value);
      }
      mark(context, entry);
      return answer;
    }
    mark(context, entry);
    return copyParsed(entry.answer.value).value;
  };
  wrapped.memoized = true;
  wrapped.original = parse;
  return wrapped;
}

function mark(context, entry) {
  for (const name of entry.usedNames) if (context.unusedAttrNames) delete context.unusedAttrNames[name];
  for (const name of entry.usedVals) if (context.unusedAttrVals) delete context.unusedAttrVals[name];
}

// The same module instances dynalite's validations require ('../db/conditionParser' and the others).
for (const name of ['conditionParser', 'updateParser', 'projectionParser']) {
  const parser = require(`dynalite/db/${name}.js`);
  if (parser.parse.memoized !== true) parser.parse = memoizedParse(parser.parse);
}
