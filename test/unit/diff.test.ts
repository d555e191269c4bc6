import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffJson, diffSnapshots, type FieldChange } from '../../functions/core/diff.js';
import { parsePath, readSegments } from '../../functions/core/field-path.js';
import { canonicalJson, type JsonValue } from '../../functions/core/json.js';
import { toPathDocument, type DecisionView } from '../../functions/core/snapshot.js';

function decision(overrides: Partial<DecisionView> = {}): DecisionView {
  return {
    functionName: 'approve_loan',
    inputs: [{ name: 'applicant', value: { income: 52000, age: 41 }, type: 'object' }],
    outputs: [
      { name: 'decision', value: 'approve', type: 'string' },
      { name: 'score', value: 0.82 },
      { name: 'items', value: [{ price: 10 }, { price: 20 }, { price: 30 }] },
    ],
    modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0 },
    context: { tenant: 'acme' },
    executionTimeMs: 120.5,
    ...overrides,
  };
}


describe('diffSnapshots', () => {
  it('reports nothing and no flags for two equal decisions', () => {
    const d = diffSnapshots(decision(), decision());
    expect(d).toEqual({ changes: [], inputsChanged: false, outputsChanged: false, modelParamsChanged: false, dependenciesChanged: false, executionTimeDeltaMs: 0 });
  });

  it('reports one Modified change per changed leaf, with leaf paths and values', () => {
    const updated = decision({
      inputs: [{ name: 'applicant', value: { income: 60000, age: 41 } }],
      outputs: [
        { name: 'decision', value: 'decline' },
        { name: 'score', value: 0.82 },
        { name: 'items', value: [{ price: 10 }, { price: 20 }, { price: 35 }] },
      ],
    });
    const d = diffSnapshots(decision(), updated);
    expect(d.changes).toEqual([
      { path: 'inputs.applicant.income', changeType: 'Modified', oldValue: 52000, newValue: 60000 },
      { path: 'outputs.decision', changeType: 'Modified', oldValue: 'approve', newValue: 'decline' },
      { path: 'outputs.items[2].price', changeType: 'Modified', oldValue: 30, newValue: 35 },
    ]);
    expect(d.inputsChanged).toBe(true);
    expect(d.outputsChanged).toBe(true);
    expect(d.modelParamsChanged).toBe(false);
  });

  it('matches output entries by name, not by position, and ignores the declared type', () => {
    const original = decision();
    const reordered = decision({ outputs: [...original.outputs].reverse().map((o) => ({ name: o.name, value: o.value })) });
    expect(diffSnapshots(original, reordered).changes).toEqual([]);
  });

  it('reports an added or removed output entry as one change at its root', () => {
    const original = decision();
    const updated = decision({ outputs: [...original.outputs.filter((o) => o.name !== 'score'), { name: 'reason', value: { code: 7, text: 'ok' } }] });
    const d = diffSnapshots(original, updated);
    expect(d.changes).toEqual([
      { path: 'outputs.score', changeType: 'Removed', oldValue: 0.82 },
      { path: 'outputs.reason', changeType: 'Added', newValue: { code: 7, text: 'ok' } },
    ]);
    // Added has no oldValue key and Removed no newValue key (not null: null is a value).
    expect('newValue' in (d.changes[0] as FieldChange)).toBe(false);
    expect('oldValue' in (d.changes[1] as FieldChange)).toBe(false);
  });

  it('compares arrays by index and reports a longer or shorter array by its tail elements', () => {
    const grown = diffJson({ a: [1, 2] }, { a: [1, 2, 3, 4] });
    expect(grown).toEqual([
      { path: 'a[2]', changeType: 'Added', newValue: 3 },
      { path: 'a[3]', changeType: 'Added', newValue: 4 },
    ]);
    expect(diffJson({ a: [1, 2, 3] }, { a: [1] })).toEqual([
      { path: 'a[1]', changeType: 'Removed', oldValue: 2 },
      { path: 'a[2]', changeType: 'Removed', oldValue: 3 },
    ]);
  });

  it('reports a type change (object to string, array to object) as one Modified at that path', () => {
    expect(diffJson({ r: { code: 1, text: 'x' } }, { r: 'x' })).toEqual([{ path: 'r', changeType: 'Modified', oldValue: { code: 1, text: 'x' }, newValue: 'x' }]);
    expect(diffJson({ r: [1] }, { r: { 0: 1 } })).toEqual([{ path: 'r', changeType: 'Modified', oldValue: [1], newValue: { 0: 1 } }]);
    expect(diffJson({ r: null }, { r: {} })).toEqual([{ path: 'r', changeType: 'Modified', oldValue: null, newValue: {} }]);
  });

  it('quotes keys that are not bare in paths', () => {
    expect(diffJson({ 'a.b': 1, 'x y': { '[k]': 1 } }, { 'a.b': 2, 'x y': { '[k]': 2 } }, 'outputs')).toEqual([
      { path: 'outputs["a.b"]', changeType: 'Modified', oldValue: 1, newValue: 2 },
      { path: 'outputs["x y"]["[k]"]', changeType: 'Modified', oldValue: 1, newValue: 2 },
    ]);
  });

  it('treats keys named like Object.prototype members as ordinary keys', () => {
    const a = JSON.parse('{"constructor": 1, "__proto__": {"x": 1}}') as JsonValue;
    const b = JSON.parse('{"toString": 2, "__proto__": {"x": 2}}') as JsonValue;
    expect(diffJson(a, b)).toEqual([
      { path: 'constructor', changeType: 'Removed', oldValue: 1 },
      { path: '__proto__.x', changeType: 'Modified', oldValue: 1, newValue: 2 },
      { path: 'toString', changeType: 'Added', newValue: 2 },
    ]);
    expect(diffJson({}, JSON.parse('{"__proto__": 1}') as JsonValue)).toEqual([{ path: '__proto__', changeType: 'Added', newValue: 1 }]);
  });

  it('diffs an input or output entry named __proto__ as an ordinary name (it was the prototype: changes under it lost their root, additions vanished)', () => {
    const original = decision({ outputs: [{ name: '__proto__', value: { decision: 'approve' } }] });
    const updated = decision({ outputs: [{ name: '__proto__', value: { decision: 'deny' } }], inputs: [{ name: '__proto__', value: 1 }] });
    const d = diffSnapshots(original, updated);
    expect(d.changes).toEqual([
      { path: 'inputs.applicant', changeType: 'Removed', oldValue: { income: 52000, age: 41 } },
      { path: 'inputs.__proto__', changeType: 'Added', newValue: 1 },
      { path: 'outputs.__proto__.decision', changeType: 'Modified', oldValue: 'approve', newValue: 'deny' },
    ]);
    expect(readSegments(toPathDocument(updated), parsePath('outputs.__proto__.decision'))).toEqual({ found: true, value: 'deny' });
  });

  it('treats -0 and 0 as equal (as canonical JSON does) and key order as irrelevant', () => {
    expect(diffJson({ a: -0, b: 1, c: 2 }, { c: 2, b: 1, a: 0 })).toEqual([]);
  });

  it('reports a change of the root itself at the base path', () => {
    expect(diffJson(1, 'x')).toEqual([{ path: '', changeType: 'Modified', oldValue: 1, newValue: 'x' }]);
    expect(diffJson(1, 2, 'outputs.score')).toEqual([{ path: 'outputs.score', changeType: 'Modified', oldValue: 1, newValue: 2 }]);
  });

  it('sets modelParamsChanged for a changed model version and for model parameters appearing', () => {
    const changed = diffSnapshots(decision(), decision({ modelParameters: { modelName: 'credit-llm', modelVersion: '2026-11', temperature: 0 } }));
    expect(changed.changes).toEqual([{ path: 'modelParameters.modelVersion', changeType: 'Modified', oldValue: '2026-10', newValue: '2026-11' }]);
    expect(changed).toMatchObject({ modelParamsChanged: true, inputsChanged: false, outputsChanged: false });
    const appeared = diffSnapshots(decision({ modelParameters: undefined }), decision());
    expect(appeared.modelParamsChanged).toBe(true);
    expect(appeared.changes).toHaveLength(1);
    expect(appeared.changes[0]).toMatchObject({ path: 'modelParameters', changeType: 'Added' });
  });

  it('does not count a change under a root named like another as that root (inputsX is not inputs)', () => {
    // context keys are free-form; a change there sets no section flag.
    const d = diffSnapshots(decision(), decision({ context: { tenant: 'other' } }));
    expect(d).toMatchObject({ inputsChanged: false, outputsChanged: false, modelParamsChanged: false });
    expect(d.changes).toEqual([{ path: 'context.tenant', changeType: 'Modified', oldValue: 'acme', newValue: 'other' }]);
  });

  it('computes executionTimeDeltaMs as new minus original, and 0 when either is missing', () => {
    const slower = diffSnapshots(decision({ executionTimeMs: 100 }), decision({ executionTimeMs: 250.5 }));
    expect(slower.executionTimeDeltaMs).toBe(150.5);
    expect(slower.changes).toEqual([{ path: 'executionTimeMs', changeType: 'Modified', oldValue: 100, newValue: 250.5 }]);
    expect(diffSnapshots(decision({ executionTimeMs: 300 }), decision({ executionTimeMs: 100 })).executionTimeDeltaMs).toBe(-200);
    expect(diffSnapshots(decision({ executionTimeMs: undefined }), decision({ executionTimeMs: 100 })).executionTimeDeltaMs).toBe(0);
    expect(diffSnapshots(decision({ executionTimeMs: 100 }), decision({ executionTimeMs: undefined })).executionTimeDeltaMs).toBe(0);
  });

  it('reads 0.06 for 0.91 − 0.85, not the float noise 0.06000000000000005', () => {
    expect(diffSnapshots(decision({ executionTimeMs: 0.85 }), decision({ executionTimeMs: 0.91 })).executionTimeDeltaMs).toBe(0.06);
  });

  it('reports a changed function name (the seed test) at path functionName', () => {
    const d = diffSnapshots(decision(), decision({ functionName: 'different_function' }));
    expect(d.changes).toEqual([{ path: 'functionName', changeType: 'Modified', oldValue: 'approve_loan', newValue: 'different_function' }]);
  });
});

describe('diffJson properties', () => {
  const json = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<JsonValue>;

  it('finds no change between a value and itself, or a deep copy of it', () => {
    fc.assert(
      fc.property(json, (v) => {
        expect(diffJson(v, v)).toEqual([]);
        expect(diffJson(v, JSON.parse(JSON.stringify(v)) as JsonValue)).toEqual([]);
      }),
    );
  });

  it('reports paths that read the reported old and new values in the two documents', () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        const docA = { root: a };
        const docB = { root: b };
        const changes = diffJson(docA, docB);
        for (const c of changes) {
          const segs = parsePath(c.path);
          const readA = readSegments(docA, segs);
          const readB = readSegments(docB, segs);
          if (c.changeType === 'Added') expect(readA.found).toBe(false);
          else expect(readA).toEqual({ found: true, value: c.oldValue });
          if (c.changeType === 'Removed') expect(readB.found).toBe(false);
          else expect(readB).toEqual({ found: true, value: c.newValue });
          if (c.changeType === 'Modified') expect(JSON.stringify(c.oldValue)).not.toBe(JSON.stringify(c.newValue));
        }
        // No change is reported under another reported change.
        const paths = changes.map((c) => c.path);
        for (const p of paths) for (const q of paths) if (p !== q) expect(q.startsWith(`${p}.`) || q.startsWith(`${p}[`)).toBe(false);
        // Equal documents and only those have no changes.
        expect(changes.length === 0).toBe(canonicalJson(a) === canonicalJson(b));
      }),
    );
  });

  it('reads the reported values from the path documents of two decisions', () => {
    const output = fc.record({ name: fc.constantFrom('decision', 'score', 'a.b', 'items'), value: json });
    const view = fc.record({ outputs: fc.uniqueArray(output, { selector: (o) => o.name, minLength: 1 }), ctx: fc.dictionary(fc.string(), json, { maxKeys: 3 }) });
    fc.assert(
      fc.property(view, view, (x, y) => {
        const a: DecisionView = { functionName: 'f', inputs: [], outputs: x.outputs, context: x.ctx };
        const b: DecisionView = { functionName: 'f', inputs: [], outputs: y.outputs, context: y.ctx };
        const d = diffSnapshots(a, b);
        const docA = toPathDocument(a);
        const docB = toPathDocument(b);
        for (const c of d.changes) {
          const segs = parsePath(c.path);
          if (c.changeType !== 'Added') expect(readSegments(docA, segs)).toEqual({ found: true, value: c.oldValue });
          if (c.changeType !== 'Removed') expect(readSegments(docB, segs)).toEqual({ found: true, value: c.newValue });
        }
        expect(d.outputsChanged).toBe(d.changes.some((c) => c.path.startsWith('outputs')));
      }),
    );
  });
});
