/**
 * Is a JsonSchema rule's `schema` a JSON Schema at all? The check the JSON Schema draft 2020-12
 * meta-schema (https://json-schema.org/draft/2020-12/schema and its seven vocabulary meta-schemas)
 * makes, keyword by keyword.
 *
 * @cfworker/json-schema, which evaluates the rules, has no meta-schema validation of its own and
 * silently ignores a keyword whose value has the wrong type (`{"minLength": "five"}` then accepts
 * every value) or trips over it (`{"enum": "notarray"}` throws a TypeError), and it cannot run the
 * official meta-schema document itself (it has no `$dynamicRef`). So the meta-schema's constraints
 * are transcribed here as a table: for every keyword the meta-schema (with the deprecated keywords
 * its top level still describes) gives a value shape to, that shape; every other keyword is free, as
 * in the meta-schema. `format` is an annotation in 2020-12 (format-annotation vocabulary), so
 * `"format": "uri-reference"` on `$ref` and the like is not asserted, as in the meta-schema.
 * test/unit/json-schema-meta.test.ts checks this table against ajv's 2020-12 meta-schema validation.
 *
 * Iterative (a deep schema cannot overflow the stack) and linear in the size of the schema.
 */
import { isJsonObject, jsonKind, type JsonValue } from './json.js';

/** The shape the meta-schema gives a keyword's value. */
type ValueShape =
  | 'schema'
  | 'schemaArray'
  | 'schemaMap'
  | 'nonNegativeInteger'
  | 'number'
  | 'positiveNumber'
  | 'string'
  | 'boolean'
  | 'array'
  | 'stringArray'
  | 'stringArrayMap'
  | 'type'
  | 'id'
  | 'anchor'
  | 'vocabulary'
  | 'dependencies';

/** Every keyword the draft 2020-12 meta-schema constrains (`const` and `default` may be anything). */
const KEYWORDS: Readonly<Record<string, ValueShape>> = {
  // core
  $id: 'id',
  $schema: 'string',
  $ref: 'string',
  $anchor: 'anchor',
  $dynamicRef: 'string',
  $dynamicAnchor: 'anchor',
  $vocabulary: 'vocabulary',
  $comment: 'string',
  $defs: 'schemaMap',
  // applicator
  prefixItems: 'schemaArray',
  items: 'schema',
  contains: 'schema',
  additionalProperties: 'schema',
  properties: 'schemaMap',
  patternProperties: 'schemaMap',
  dependentSchemas: 'schemaMap',
  propertyNames: 'schema',
  if: 'schema',
  then: 'schema',
  else: 'schema',
  allOf: 'schemaArray',
  anyOf: 'schemaArray',
  oneOf: 'schemaArray',
  not: 'schema',
  // unevaluated
  unevaluatedItems: 'schema',
  unevaluatedProperties: 'schema',
  // validation
  type: 'type',
  enum: 'array',
  multipleOf: 'positiveNumber',
  maximum: 'number',
  exclusiveMaximum: 'number',
  minimum: 'number',
  exclusiveMinimum: 'number',
  maxLength: 'nonNegativeInteger',
  minLength: 'nonNegativeInteger',
  pattern: 'string',
  maxItems: 'nonNegativeInteger',
  minItems: 'nonNegativeInteger',
  uniqueItems: 'boolean',
  maxContains: 'nonNegativeInteger',
  minContains: 'nonNegativeInteger',
  maxProperties: 'nonNegativeInteger',
  minProperties: 'nonNegativeInteger',
  required: 'stringArray',
  dependentRequired: 'stringArrayMap',
  // meta-data
  title: 'string',
  description: 'string',
  deprecated: 'boolean',
  readOnly: 'boolean',
  writeOnly: 'boolean',
  examples: 'array',
  // format-annotation
  format: 'string',
  // content
  contentEncoding: 'string',
  contentMediaType: 'string',
  contentSchema: 'schema',
  // the top-level meta-schema's deprecated keywords of earlier drafts
  definitions: 'schemaMap',
  dependencies: 'dependencies',
  $recursiveAnchor: 'anchor',
  $recursiveRef: 'string',
};

const SIMPLE_TYPES = ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'] as const;
/** The meta-schema's `anchorString`: a plain name (linear: no nested repetition). */
const ANCHOR = /^[A-Za-z_][-A-Za-z0-9._]*$/;
/** The meta-schema's `$id` pattern: no fragment other than an empty one. */
const ID = /^[^#]*#?$/;

/** One place where a schema breaks the meta-schema. */
export interface MetaSchemaIssue {
  /** JSON Pointer (URI fragment form) to the offending keyword inside the rule's schema: `#/properties/x/minLength`. */
  pointer: string;
  keyword: string;
  message: string;
}

function pointerToken(key: string): string {
  return encodeURIComponent(key.replace(/~/g, '~0').replace(/\//g, '~1')).replace(/%24/g, '$');
}

/** {@link jsonKind}, with a primitive's own value (`number 1.5`, `string "x"`). */
function kindOf(value: JsonValue): string {
  if (value === null || typeof value === 'object') return jsonKind(value);
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 39)}…` : text}`;
}

function isSchema(value: JsonValue): boolean {
  return typeof value === 'boolean' || isJsonObject(value);
}

function isNonNegativeInteger(value: JsonValue): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function uniqueStrings(values: readonly JsonValue[]): boolean {
  return new Set(values).size === values.length;
}

const MAX_ISSUES = 20;

/**
 * The places where `schema` is not valid against the draft 2020-12 meta-schema, in document order
 * (at most 20); empty when it is valid.
 */
export function metaSchemaIssues(schema: JsonValue): MetaSchemaIssue[] {
  const issues: MetaSchemaIssue[] = [];
  if (!isSchema(schema)) return [{ pointer: '#', keyword: '(schema)', message: `a schema must be an object or a boolean, got ${kindOf(schema)}` }];
  // Subschemas still to check, last first so that issues come out in document order.
  const stack: { node: JsonValue; pointer: string }[] = [{ node: schema, pointer: '#' }];
  const report = (pointer: string, keyword: string, message: string) => issues.push({ pointer, keyword, message });
  const subschema = (value: JsonValue, pointer: string, keyword: string, pending: { node: JsonValue; pointer: string }[]) => {
    if (isSchema(value)) pending.push({ node: value, pointer });
    else report(pointer, keyword, `must be a schema (an object or a boolean), got ${kindOf(value)}`);
  };
  for (let item = stack.pop(); item !== undefined && issues.length < MAX_ISSUES; item = stack.pop()) {
    const { node, pointer } = item;
    if (!isJsonObject(node)) continue;
    const pending: { node: JsonValue; pointer: string }[] = [];
    for (const [keyword, value] of Object.entries(node)) {
      const shape = KEYWORDS[keyword];
      if (shape === undefined) continue;
      const at = `${pointer}/${pointerToken(keyword)}`;
      switch (shape) {
        case 'schema':
          subschema(value, at, keyword, pending);
          break;
        case 'schemaArray':
          if (!Array.isArray(value) || value.length === 0) report(at, keyword, `must be a non-empty array of schemas, got ${Array.isArray(value) ? 'an empty array' : kindOf(value)}`);
          else value.forEach((v, i) => subschema(v, `${at}/${i}`, keyword, pending));
          break;
        case 'schemaMap':
          if (!isJsonObject(value)) report(at, keyword, `must be an object whose values are schemas, got ${kindOf(value)}`);
          else for (const [k, v] of Object.entries(value)) subschema(v, `${at}/${pointerToken(k)}`, keyword, pending);
          break;
        case 'dependencies':
          if (!isJsonObject(value)) report(at, keyword, `must be an object whose values are schemas or arrays of distinct strings, got ${kindOf(value)}`);
          else {
            for (const [k, v] of Object.entries(value)) {
              if (Array.isArray(v)) {
                if (!v.every((s) => typeof s === 'string') || !uniqueStrings(v)) report(`${at}/${pointerToken(k)}`, keyword, 'must be a schema or an array of distinct strings');
              } else subschema(v, `${at}/${pointerToken(k)}`, keyword, pending);
            }
          }
          break;
        case 'nonNegativeInteger':
          if (!isNonNegativeInteger(value)) report(at, keyword, `must be a non-negative integer, got ${kindOf(value)}`);
          break;
        case 'number':
          if (typeof value !== 'number') report(at, keyword, `must be a number, got ${kindOf(value)}`);
          break;
        case 'positiveNumber':
          if (typeof value !== 'number' || value <= 0) report(at, keyword, `must be a number greater than 0, got ${kindOf(value)}`);
          break;
        case 'string':
          if (typeof value !== 'string') report(at, keyword, `must be a string, got ${kindOf(value)}`);
          break;
        case 'boolean':
          if (typeof value !== 'boolean') report(at, keyword, `must be true or false, got ${kindOf(value)}`);
          break;
        case 'array':
          if (!Array.isArray(value)) report(at, keyword, `must be an array, got ${kindOf(value)}`);
          break;
        case 'stringArray':
          if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) report(at, keyword, `must be an array of strings, got ${kindOf(value)}`);
          else if (!uniqueStrings(value)) report(at, keyword, 'must not list a name twice');
          break;
        case 'stringArrayMap':
          if (!isJsonObject(value)) report(at, keyword, `must be an object whose values are arrays of distinct strings, got ${kindOf(value)}`);
          else {
            for (const [k, v] of Object.entries(value)) {
              if (!Array.isArray(v) || !v.every((s) => typeof s === 'string') || !uniqueStrings(v)) report(`${at}/${pointerToken(k)}`, keyword, 'must be an array of distinct strings');
            }
          }
          break;
        case 'type': {
          const allowed = `one of ${SIMPLE_TYPES.join(', ')} or a non-empty array of distinct ones`;
          const isSimple = (t: JsonValue) => typeof t === 'string' && (SIMPLE_TYPES as readonly string[]).includes(t);
          if (Array.isArray(value) ? value.length === 0 || !value.every(isSimple) || !uniqueStrings(value) : !isSimple(value)) {
            report(at, keyword, `must be ${allowed}, got ${Array.isArray(value) ? JSON.stringify(value).slice(0, 80) : kindOf(value)}`);
          }
          break;
        }
        case 'id':
          if (typeof value !== 'string') report(at, keyword, `must be a string, got ${kindOf(value)}`);
          else if (!ID.test(value)) report(at, keyword, 'must be a URI without a fragment (an empty "#" at most)');
          break;
        case 'anchor':
          if (typeof value !== 'string' || !ANCHOR.test(value)) report(at, keyword, `must be a plain name (a letter or _ then letters, digits, -, _ or .), got ${kindOf(value)}`);
          break;
        case 'vocabulary':
          if (!isJsonObject(value) || !Object.values(value).every((v) => typeof v === 'boolean')) report(at, keyword, `must be an object whose values are true or false, got ${kindOf(value)}`);
          break;
      }
    }
    for (let i = pending.length - 1; i >= 0; i--) stack.push(pending[i] as { node: JsonValue; pointer: string });
  }
  return issues.slice(0, MAX_ISSUES);
}

/** One sentence for a rule's issue list: the first problems, each with where it is. */
export function describeMetaSchemaIssues(issues: readonly MetaSchemaIssue[]): string {
  const shown = issues.slice(0, 3).map((i) => `'${i.keyword}' at ${i.pointer} ${i.message}`);
  const more = issues.length > 3 ? `; and ${issues.length - 3}${issues.length >= MAX_ISSUES ? ' or more' : ''} more` : '';
  return `not a valid JSON Schema (draft 2020-12 meta-schema): ${shown.join('; ')}${more}`;
}
