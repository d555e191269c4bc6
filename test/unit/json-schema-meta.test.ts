/**
 * The draft 2020-12 meta-schema check of JsonSchema rules (functions/core/json-schema-meta.ts)
 * against ajv's validation with the official meta-schema documents: the same verdict on every
 * schema, hand-picked and generated.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../functions/core/json.js';
import { describeMetaSchemaIssues, metaSchemaIssues } from '../../functions/core/json-schema-meta.js';

// `format` is an annotation in 2020-12: the meta-schema's "uri-reference" and "regex" assert nothing.
const ajv = new Ajv2020({ validateFormats: false, strict: false });
const officialVerdict = (schema: JsonValue): boolean => ajv.validateSchema(schema as object) === true;

describe('metaSchemaIssues', () => {
  it('names the keyword and where it is for the probe’s schemas (s12 D10, D17)', () => {
    expect(metaSchemaIssues({ type: 'nonsense' })).toEqual([
      { pointer: '#/type', keyword: 'type', message: 'must be one of array, boolean, integer, null, number, object, string or a non-empty array of distinct ones, got string "nonsense"' },
    ]);
    expect(metaSchemaIssues({ minLength: 'five' })).toEqual([{ pointer: '#/minLength', keyword: 'minLength', message: 'must be a non-negative integer, got string "five"' }]);
    expect(metaSchemaIssues({ type: 'string', maxLength: -3 })).toEqual([{ pointer: '#/maxLength', keyword: 'maxLength', message: 'must be a non-negative integer, got number -3' }]);
    expect(metaSchemaIssues({ enum: 'notarray' })).toEqual([{ pointer: '#/enum', keyword: 'enum', message: 'must be an array, got string "notarray"' }]);
  });

  it('finds problems in nested subschemas and says where', () => {
    const issues = metaSchemaIssues({ type: 'object', properties: { 'a/b': { items: { minimum: '0' } }, ok: { type: ['string', 'null'] } }, allOf: [] });
    expect(issues.map((i) => i.pointer)).toEqual(['#/allOf', '#/properties/a~1b/items/minimum']);
    expect(describeMetaSchemaIssues(issues)).toBe(
      "not a valid JSON Schema (draft 2020-12 meta-schema): 'allOf' at #/allOf must be a non-empty array of schemas, got an empty array; 'minimum' at #/properties/a~1b/items/minimum must be a number, got string \"0\"",
    );
  });

  it('accepts valid schemas, including unknown keywords, which the meta-schema leaves free', () => {
    for (const schema of [true, false, {}, { type: 'string', maxLength: 0 }, { 'x-note': 5, minimum: -1.5 }, { enum: [] }, { const: { a: [1] } }, { items: [1] as unknown as JsonValue } as JsonValue]) {
      expect(metaSchemaIssues(schema).length === 0).toBe(officialVerdict(schema));
    }
  });

  it('does not overflow the stack on a deeply nested schema', () => {
    let deep: JsonValue = { minLength: 'x' };
    for (let i = 0; i < 50_000; i++) deep = { not: deep };
    expect(metaSchemaIssues(deep)).toHaveLength(1);
  });

  const corpus: JsonValue[] = [
    { type: ['string', 'string'] },
    { type: [] },
    { type: 'integer' },
    { multipleOf: 0 },
    { multipleOf: 0.5 },
    { required: ['a', 'a'] },
    { required: 'a' },
    { required: [] },
    { dependentRequired: { a: ['b'] } },
    { dependentRequired: { a: 'b' } },
    { dependencies: { a: ['b'], c: { type: 'string' } } },
    { dependencies: { a: 5 } },
    { definitions: { a: 5 } },
    { $defs: { a: { type: 'nope' } } },
    { $anchor: 'a-1' },
    { $anchor: '1a' },
    { $dynamicAnchor: 'meta' },
    { $id: 'https://example.com/s#frag' },
    { $id: 'https://example.com/s#' },
    { $ref: 5 },
    { $vocabulary: { 'https://example.com/v': true } },
    { $vocabulary: { 'https://example.com/v': 'yes' } },
    { $recursiveAnchor: true },
    { prefixItems: [] },
    { prefixItems: [{}, true] },
    { items: [{}] },
    { contains: { minimum: 1 }, minContains: 1.5 },
    { uniqueItems: 'true' },
    { readOnly: 1 },
    { examples: {} },
    { contentSchema: 5 },
    { contentEncoding: 'base64', contentMediaType: 'application/json' },
    { format: 1 },
    { propertyNames: { maxLength: 3 } },
    { if: { type: 'string' }, then: { minLength: 1 }, else: false },
    { not: null },
    { anyOf: [{}, 3] },
    { patternProperties: { '^a': 4 } },
    { unevaluatedProperties: false, unevaluatedItems: 'no' },
    { maxProperties: 1e3, minProperties: -0 },
    { exclusiveMaximum: true },
  ];

  it.each(corpus.map((s) => [JSON.stringify(s), s] as const))('agrees with the official meta-schema on %s', (_, schema) => {
    expect(metaSchemaIssues(schema).length === 0).toBe(officialVerdict(schema));
  });

  it('agrees with the official meta-schema on 3,000 generated schemas', () => {
    // A small deterministic generator: random keywords (the meta-schema's and one unknown) with
    // values of every JSON kind, nested up to three levels.
    let seed = 12;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const keywords = ['type', 'enum', 'const', 'minLength', 'maxItems', 'minimum', 'multipleOf', 'required', 'properties', 'items', 'prefixItems', 'allOf', 'not', 'dependentRequired', 'dependencies', '$defs', '$anchor', '$id', '$ref', 'uniqueItems', 'examples', 'title', 'x-custom'];
    const value = (depth: number): JsonValue => {
      const r = rand();
      if (r < 0.1) return null;
      if (r < 0.2) return rand() < 0.5;
      if (r < 0.35) return pick([0, 1, -1, 2.5, -0.5, 3]);
      if (r < 0.5) return pick(['', 'a', 'string', 'object', 'x#y', 'b']);
      if (r < 0.7) return depth > 2 ? [] : Array.from({ length: Math.floor(rand() * 3) }, () => value(depth + 1));
      return depth > 2 ? {} : schemaLike(depth + 1);
    };
    const schemaLike = (depth: number): { [k: string]: JsonValue } => {
      const out: { [k: string]: JsonValue } = {};
      const n = Math.floor(rand() * 3);
      for (let i = 0; i < n; i++) out[pick(keywords)] = value(depth);
      return out;
    };
    let invalid = 0;
    for (let i = 0; i < 3_000; i++) {
      const schema = schemaLike(0);
      const official = officialVerdict(schema);
      if (!official) invalid++;
      expect({ schema, valid: metaSchemaIssues(schema).length === 0 }).toEqual({ schema, valid: official });
    }
    // Both verdicts occur often enough for the agreement to mean something.
    expect(invalid).toBeGreaterThan(500);
    expect(invalid).toBeLessThan(2_500);
  });
});
