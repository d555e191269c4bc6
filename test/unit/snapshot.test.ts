import { describe, expect, it } from 'vitest';
import { ValidationError, type FieldIssue } from '../../functions/core/errors.js';
import { issueLine, parseOrThrow } from '../../functions/core/schema-util.js';
import { buildSnapshot, FunctionNameSchema, RecordSnapshotSchema, SNAPSHOT_SCHEMA_VERSION, type RecordSnapshot } from '../../functions/core/snapshot.js';

const valid: RecordSnapshot = {
  functionName: 'approve_loan',
  inputs: [{ name: 'applicant', value: { income: 52000, age: 41 }, type: 'object' }],
  outputs: [
    { name: 'decision', value: 'approve', type: 'string' },
    { name: 'score', value: 0.82, type: 'number' },
  ],
  modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0, maxTokens: 256, topP: 1, seed: 7, extra: {} },
  context: { tenant: 'acme', promptVersion: 'v3' },
  executionTimeMs: 120.5,
  tags: { env: 'prod' },
};

/** Parses a body and returns the ValidationError's issues (fails when the body is accepted). */
function issuesOf(body: unknown): { error: ValidationError; issues: FieldIssue[] } {
  try {
    parseOrThrow(RecordSnapshotSchema, body, 'snapshot');
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    const error = err as ValidationError;
    return { error, issues: (error.details as { issues: FieldIssue[] }).issues };
  }
  throw new Error('expected the body to be refused');
}

function pathsOf(body: unknown): string[] {
  return issuesOf(body).issues.map((i) => i.path);
}

describe('RecordSnapshotSchema', () => {
  it("says 'required' for a missing JSON value (an output's value, a dependency's request or response)", () => {
    const dependency = { name: 'credit_bureau', kind: 'tool', request: { id: 1 }, response: { score: 700 }, latencyMs: 12 };
    const { response: _response, ...withoutResponse } = dependency;
    const { issues } = issuesOf({ ...valid, outputs: [{ name: 'decision' }], dependencies: [withoutResponse] });
    expect(issues).toEqual([
      { path: 'outputs[0].value', message: 'required' },
      { path: 'dependencies[0].response', message: 'required' },
    ]);
    // A value that is there but not JSON still says what it is.
    expect(issuesOf({ ...valid, outputs: [{ name: 'decision', value: 'x' }], dependencies: [{ ...dependency, response: Number.NaN }] }).issues).toEqual([{ path: 'dependencies[0].response', message: 'numbers must be finite' }]);
  });

  it('says each bad field once in the message: the path in place of a message’s own field name, `path: message` otherwise', () => {
    const { error, issues } = issuesOf({ ...valid, functionName: 'approve loan!', executionTimeMs: -5, outputs: 'approve' });
    expect(error.message).toBe('invalid snapshot: functionName may contain letters, digits, _ . : - and must start with a letter or digit; outputs: expected array, got string; executionTimeMs must be >= 0');
    // The details keep the path and the schema's message apart.
    expect(issues).toContainEqual({ path: 'executionTimeMs', message: 'executionTimeMs must be >= 0' });
    expect(issueLine({ path: 'selector.functionName', message: 'functionName may contain letters' })).toBe('selector.functionName may contain letters');
    expect(issueLine({ path: 'outputs[0].name', message: 'name must not be empty' })).toBe('outputs[0].name must not be empty');
    // Only the field's whole name: `functionNames` is another word, `(body)` has no name.
    expect(issueLine({ path: 'function', message: 'functionName may contain letters' })).toBe('function: functionName may contain letters');
    expect(issueLine({ path: '(body)', message: 'body must be an object' })).toBe('(body): body must be an object');
    expect(issueLine({ path: 'outputs["a.b"]', message: 'a.b must be set' })).toBe('outputs["a.b"]: a.b must be set');
  });

  it('accepts the DESIGN §3 example and a minimal decision (inputs may be empty, type optional)', () => {
    expect(parseOrThrow(RecordSnapshotSchema, valid, 'snapshot')).toEqual(valid);
    const minimal = { functionName: 'f', inputs: [], outputs: [{ name: 'y', value: null }] };
    expect(parseOrThrow(RecordSnapshotSchema, minimal, 'snapshot')).toEqual(minimal);
  });

  it('names every bad field of one body in details.issues and in the message', () => {
    const { error, issues } = issuesOf({
      functionName: 'bad name!',
      inputs: [{ name: '', value: 1 }],
      outputs: [{ name: 'd', value: 'x', type: 5 }],
      executionTimeMs: -1,
    });
    expect(issues.map((i) => i.path)).toEqual(['functionName', 'inputs[0].name', 'outputs[0].type', 'executionTimeMs']);
    expect(error.code).toBe('INVALID_REQUEST');
    for (const path of ['functionName', 'inputs[0].name', 'outputs[0].type', 'executionTimeMs']) expect(error.message).toContain(path);
    expect(issues.find((i) => i.path === 'outputs[0].type')?.message).toMatch(/expected string/);
  });

  it('refuses duplicate input names and duplicate output names, pointing at the second one', () => {
    const { issues } = issuesOf({
      ...valid,
      inputs: [{ name: 'a', value: 1 }, { name: 'b', value: 2 }, { name: 'a', value: 3 }],
      outputs: [{ name: 'd', value: 1 }, { name: 'd', value: 2 }],
    });
    expect(issues.map((i) => i.path)).toEqual(['inputs[2].name', 'outputs[1].name']);
    expect(issues[0]?.message).toContain("duplicate input name 'a'");
    expect(issues[1]?.message).toContain("duplicate output name 'd'");
  });

  it('refuses integers beyond 2^53-1 wherever they are nested, and says to send them as strings', () => {
    const { issues } = issuesOf({ ...valid, outputs: [{ name: 'd', value: { deep: [1, 2 ** 60] } }] });
    expect(issues).toEqual([{ path: 'outputs[0].value', message: expect.stringContaining('send it as a string') }]);
    expect(pathsOf({ ...valid, context: { big: -(2 ** 53) } })).toEqual(['context.big']);
    expect(parseOrThrow(RecordSnapshotSchema, { ...valid, context: { big: 2 ** 53 - 1 } }, 'snapshot').context).toEqual({ big: 2 ** 53 - 1 });
  });

  it('refuses values nested deeper than DynamoDB can store in one item, and accepts the deepest it can', () => {
    const nest = (levels: number): unknown => (levels === 0 ? 'leaf' : { a: nest(levels - 1) });
    expect(issuesOf({ ...valid, outputs: [{ name: 'd', value: nest(29) }] }).issues).toEqual([{ path: 'outputs[0].value', message: expect.stringContaining('nested deeper than 28 levels') }]);
    expect(parseOrThrow(RecordSnapshotSchema, { ...valid, outputs: [{ name: 'd', value: nest(28) }] }, 'snapshot').outputs[0]?.value).toEqual(nest(28));
  });

  it('refuses non-finite numbers', () => {
    const { issues } = issuesOf({ ...valid, context: { x: Number.POSITIVE_INFINITY }, outputs: [{ name: 'd', value: Number.NaN }] });
    expect(issues.map((i) => i.path).sort()).toEqual(['context.x', 'outputs[0].value']);
  });

  it('refuses numbers outside what DynamoDB can store', () => {
    expect(issuesOf({ ...valid, outputs: [{ name: 'd', value: 1e-200 }] }).issues[0]?.message).toContain('outside the storable range');
    expect(pathsOf({ ...valid, inputs: [{ name: 'x', value: [0.5, 1.5e126] }] })).toEqual(['inputs[0].value']);
    expect(parseOrThrow(RecordSnapshotSchema, { ...valid, outputs: [{ name: 'd', value: 1e-130 }] }, 'snapshot').outputs[0]?.value).toBe(1e-130);
  });

  it('refuses out-of-range model parameters and a model without a name', () => {
    expect(pathsOf({ ...valid, modelParameters: { modelName: 'm', temperature: -1, topP: 2, maxTokens: 1.5 } })).toEqual([
      'modelParameters.temperature',
      'modelParameters.maxTokens',
      'modelParameters.topP',
    ]);
    const { issues } = issuesOf({ ...valid, modelParameters: { temperature: 0 } });
    expect(issues).toEqual([{ path: 'modelParameters.modelName', message: expect.stringMatching(/required/i) }]);
  });

  it.each(['approve_loan', 'a', 'Fn-1.2:v3', '9lives'])('accepts the function name %j', (name) => {
    expect(FunctionNameSchema.safeParse(name).success).toBe(true);
  });

  it.each(['', '_leading', '-dash', 'has space', 'slash/no', 'hash#no', 'é', 'x'.repeat(201)])('refuses the function name %j', (name) => {
    // An empty name breaks two rules (length and alphabet); both point at functionName.
    expect([...new Set(pathsOf({ ...valid, functionName: name }))]).toEqual(['functionName']);
  });

  it('refuses a body without outputs, and one with an empty outputs list, naming outputs', () => {
    const missing = issuesOf({ functionName: 'f', inputs: [] }).issues;
    expect(missing).toEqual([{ path: 'outputs', message: expect.stringMatching(/required/i) }]);
    const empty = issuesOf({ functionName: 'f', inputs: [], outputs: [] }).issues;
    expect(empty).toEqual([{ path: 'outputs', message: 'a decision needs at least one output' }]);
  });

  it('refuses unknown top-level keys, naming each of them', () => {
    const { error, issues } = issuesOf({ ...valid, snapshotId: 'mine', extra: 1 });
    expect(issues.map((i) => i.path)).toEqual(['snapshotId', 'extra']);
    expect(issues[0]?.message).toMatch(/unknown/);
    expect(error.message).toContain('extra');
  });

  it('refuses unknown keys inside an entry and inside modelParameters', () => {
    expect(pathsOf({ ...valid, outputs: [{ name: 'd', value: 1, unit: 'x' }], modelParameters: { modelName: 'm', temp: 1 } })).toEqual([
      'outputs[0].unit',
      'modelParameters.temp',
    ]);
  });

  it('refuses a body that is not an object', () => {
    expect(issuesOf([valid]).issues).toEqual([{ path: '(body)', message: expect.stringContaining('expected object') }]);
  });

  it('refuses text that is not valid Unicode (a lone surrogate cannot be hashed or stored as UTF-8)', () => {
    const paths = pathsOf({ ...valid, outputs: [{ name: 'd', value: { ['k\udc00']: 'ok' } }], context: { note: 'x\ud800' }, tags: { env: '\udfff' } });
    expect(paths).toEqual(['outputs[0].value.k\udc00', 'context.note', 'tags.env']);
  });

  it('accepts astral characters written as surrogate pairs', () => {
    expect(parseOrThrow(RecordSnapshotSchema, { ...valid, context: { mood: '\ud83d\ude00' } }, 'snapshot').context).toEqual({ mood: '😀' });
  });
});

describe('a record key its schema refuses', () => {
  it('names why (a tag name over 128 characters), not "Invalid key in record"', () => {
    const long = 'k'.repeat(129);
    const { error, issues } = issuesOf({ ...valid, tags: { [long]: 'v' } });
    expect(issues).toEqual([{ path: `tags.${long}`, message: 'key must be at most 128 characters long' }]);
    expect(error.message).toBe(`invalid snapshot: tags.${long}: key must be at most 128 characters long`);
  });
});

describe('buildSnapshot', () => {
  it('stamps id, time and schema version, keeps every recorded field and drops an undefined type', () => {
    const snapshot = buildSnapshot({ ...valid, outputs: [{ name: 'd', value: 1, type: undefined }] }, '01JDQ6Z3M4X5Y6Z7A8B9C0D1E2', '2026-11-26T10:00:00.000Z');
    expect(snapshot).toMatchObject({ snapshotId: '01JDQ6Z3M4X5Y6Z7A8B9C0D1E2', createdAt: '2026-11-26T10:00:00.000Z', schemaVersion: SNAPSHOT_SCHEMA_VERSION });
    expect(snapshot.outputs[0]).toEqual({ name: 'd', value: 1 });
    expect(Object.hasOwn(snapshot.outputs[0] ?? {}, 'type')).toBe(false);
    expect(snapshot.modelParameters).toEqual(valid.modelParameters);
    expect(snapshot.context).toEqual(valid.context);
    expect(snapshot.tags).toEqual(valid.tags);
    expect(snapshot.executionTimeMs).toBe(120.5);
  });

  it('leaves optional sections out rather than writing them as undefined', () => {
    const snapshot = buildSnapshot({ functionName: 'f', inputs: [], outputs: [{ name: 'y', value: 1 }] }, '01JDQ6Z3M4X5Y6Z7A8B9C0D1E2', '2026-11-26T10:00:00.000Z');
    expect(Object.keys(snapshot).sort()).toEqual(['contentHash', 'createdAt', 'functionName', 'inputs', 'inputsHash', 'outputs', 'schemaVersion', 'snapshotId']);
  });
});
