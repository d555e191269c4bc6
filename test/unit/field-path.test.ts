import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/core/errors.js';
import { appendSegment, FieldPathError, formatPath, parsePath, readPath, type PathSegment } from '../../functions/core/field-path.js';
import { toPathDocument, type DecisionView } from '../../functions/core/snapshot.js';

/** The error a call throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('parsePath / formatPath', () => {
  it.each([
    ['functionName', ['functionName']],
    ['modelParameters.temperature', ['modelParameters', 'temperature']],
    ['inputs.applicant.income', ['inputs', 'applicant', 'income']],
    ['outputs.items[2].price', ['outputs', 'items', 2, 'price']],
    ['outputs.m[1][0]', ['outputs', 'm', 1, 0]],
    ['outputs["a.b"]', ['outputs', 'a.b']],
    ['outputs["a[0]"].x', ['outputs', 'a[0]', 'x']],
    ['outputs["say \\"hi\\""]', ['outputs', 'say "hi"']],
    ['outputs["with space"]', ['outputs', 'with space']],
    ['outputs[""]', ['outputs', '']],
  ] as const)('parses %s and formats it back unchanged', (path, segments) => {
    expect(parsePath(path)).toEqual(segments);
    expect(formatPath(segments)).toBe(path);
  });

  it('spells a quoted key that needs no quotes as a bare key (the canonical spelling)', () => {
    expect(formatPath(parsePath('outputs["decision"]'))).toBe('outputs.decision');
  });

  it('quotes keys containing dots, brackets, quotes or spaces when appending', () => {
    expect(appendSegment('outputs', 'a.b')).toBe('outputs["a.b"]');
    expect(appendSegment('outputs', 'x]')).toBe('outputs["x]"]');
    expect(appendSegment('', 'plain')).toBe('plain');
    expect(appendSegment('outputs.items', 3)).toBe('outputs.items[3]');
  });

  it('round-trips any list of keys and indexes that starts with a key', () => {
    const key = fc.string({ unit: 'binary' });
    const segment = fc.oneof(key, fc.nat()) as fc.Arbitrary<PathSegment>;
    fc.assert(
      fc.property(key, fc.array(segment, { maxLength: 6 }), (first, rest) => {
        const segments: PathSegment[] = [first, ...rest];
        expect(parsePath(formatPath(segments))).toEqual(segments);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['', 'path is empty'],
    ['outputs.', 'path ends with a dot'],
    ['outputs..x', 'empty key at position 8'],
    ['.outputs', 'empty key at position 0'],
    ['outputs[0', "unclosed '[' at position 7"],
    ['outputs["a.b"', "unclosed '[' at position 7"],
    ['[0].x', 'a path cannot start with an index'],
    ['outputs[x]', "'[x]' is neither an index nor a quoted key"],
    ['outputs[-1]', "'[-1]' is neither an index nor a quoted key"],
    ['outputs[01]', "'[01]' is neither an index nor a quoted key"],
    ['outputs["a"x]', 'bad quoted key "a"x'],
    ['outputs[0]x', "expected '.' or '[' at position 10"],
    ['outputs.a b', "key 'a b' must be quoted"],
    ['outputs[99999999999999999999]', 'is too large'],
  ])('refuses %j with the reason "%s"', (path, reason) => {
    const err = thrown(() => parsePath(path));
    expect(err).toBeInstanceOf(FieldPathError);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as FieldPathError).code).toBe('INVALID_FIELD_PATH');
    expect((err as FieldPathError).message).toContain(reason);
    expect((err as FieldPathError).path).toBe(path);
  });
});

describe('readPath on a path document', () => {
  const decision: DecisionView = {
    functionName: 'approve_loan',
    inputs: [{ name: 'applicant', value: { income: 52000, age: 41, history: [[1, 2], [3, [4, 5]]] }, type: 'object' }],
    outputs: [
      { name: 'decision', value: 'approve', type: 'string' },
      { name: 'items', value: [{ price: 1 }, { price: 2 }, { price: 3 }] },
      { name: 'a.b', value: 5 },
      { name: 'nothing', value: null },
    ],
    modelParameters: { modelName: 'credit-llm', temperature: 0 },
    context: { tenant: 'acme' },
    executionTimeMs: 120.5,
  };
  const doc = toPathDocument(decision);

  it.each([
    ['functionName', 'approve_loan'],
    ['executionTimeMs', 120.5],
    ['modelParameters.temperature', 0],
    ['context.tenant', 'acme'],
    ['inputs.applicant.income', 52000],
    ['inputs.applicant.history[1][1][0]', 4],
    ['outputs.decision', 'approve'],
    ['outputs.items[2].price', 3],
    ['outputs["a.b"]', 5],
    ['outputs.nothing', null],
  ])('reads %s by entry name', (path, value) => {
    expect(readPath(doc, path)).toEqual({ found: true, value });
  });

  it('addresses the entry value, not the entry: `type` is metadata and not readable as a field', () => {
    expect(readPath(doc, 'outputs.decision.type')).toEqual({ found: false, missingAt: 'outputs.decision.type' });
    expect(readPath(doc, 'outputs.items[0].name')).toEqual({ found: false, missingAt: 'outputs.items[0].name' });
  });

  it.each([
    ['outputs.missing', 'outputs.missing'],
    ['outputs.missing.deeper', 'outputs.missing'],
    ['outputs.items[3].price', 'outputs.items[3]'],
    ['outputs.items.price', 'outputs.items.price'],
    ['outputs.decision[0]', 'outputs.decision[0]'],
    ['inputs.applicant.history[0][2]', 'inputs.applicant.history[0][2]'],
    ['tags.env', 'tags'],
    ['snapshotId', 'snapshotId'],
  ])('reports %s as missing at %s', (path, missingAt) => {
    expect(readPath(doc, path)).toEqual({ found: false, missingAt });
  });

  it('does not read inherited properties of objects', () => {
    expect(readPath(doc, 'context.toString')).toEqual({ found: false, missingAt: 'context.toString' });
    expect(readPath(doc, 'outputs.__proto__')).toEqual({ found: false, missingAt: 'outputs.__proto__' });
  });

  it('throws a FieldPathError for a path that does not parse', () => {
    expect(() => readPath(doc, 'outputs.')).toThrow(FieldPathError);
  });
});
