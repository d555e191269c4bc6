import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalHash, canonicalJson, jsonEquals, sha256Hex } from '../../functions/core/json.js';
import { buildSnapshot, computeContentHash, computeInputsHash, verifyContentHash, type RecordSnapshot, type Snapshot } from '../../functions/core/snapshot.js';

/** sha256 straight from node:crypto, independent of the code under test. */
function sha256(text: string): string {
  return createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');
}

describe('canonicalJson (RFC 8785)', () => {
  it('serializes the sample object of RFC 8785 §3.2.2 to the exact bytes the RFC lists', () => {
    // Arrange: the RFC's input, as JSON text (so the escapes are the RFC's own).
    const input = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`) as unknown;
    // The RFC's expected output, §3.2.3, in hex.
    const rfcHex = [
      '7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72',
      '75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a',
      '5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31',
      '65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37',
      '5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30',
      '30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d',
    ].join(' ').replace(/ /g, '');

    // Act
    const text = canonicalJson(input);

    // Assert
    expect(text).toBe(String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`);
    expect(Buffer.from(text, 'utf8').toString('hex')).toBe(rfcHex);
  });

  it('sorts keys by UTF-16 code units as in the RFC 8785 §3.2.3 sorting example', () => {
    const input = JSON.parse(String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`) as unknown;

    const text = canonicalJson(input);
    const values = Object.values(JSON.parse(text) as Record<string, string>);
    const keyOrder = [...text.matchAll(/"([^"]*)":"([^"]*)"/g)].map((m) => m[2]);

    // Object.values of a re-parsed object would put "1" first (an integer-like key), so the order is
    // read from the text itself.
    expect(keyOrder).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
    expect(values).toHaveLength(7);
    expect(text.startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":')).toBe(true);
  });

  it('writes numbers in the ECMAScript shortest form the RFC requires', () => {
    expect(canonicalJson([1e21, 1e-7, -0, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, 100, -1.5e-10])).toBe(
      '[1e+21,1e-7,0,0.30000000000000004,5e-324,1.7976931348623157e+308,100,-1.5e-10]',
    );
  });

  it('serializes the literals and nests objects in arrays with their keys sorted', () => {
    expect(canonicalJson({ b: [null, true, false, { z: 1, a: 2 }], a: 'x' })).toBe('{"a":"x","b":[null,true,false,{"a":2,"z":1}]}');
  });

  it('refuses values JSON cannot hold: NaN, Infinity and lone surrogates', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow();
    expect(() => canonicalJson({ x: Number.POSITIVE_INFINITY })).toThrow();
    expect(() => canonicalJson('\ud800')).toThrow();
  });

  it('hashes the UTF-8 bytes of the canonical text with SHA-256', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(canonicalHash({ b: 1, a: '€' })).toBe(sha256('{"a":"€","b":1}'));
  });
});

describe('jsonEquals', () => {
  it('ignores key order and treats -0 as 0', () => {
    expect(jsonEquals({ a: 1, b: [1, { c: 2, d: 3 }] }, { b: [1, { d: 3, c: 2 }], a: 1 })).toBe(true);
    expect(jsonEquals(-0, 0)).toBe(true);
  });

  it('tells different values apart, including array order and type', () => {
    expect(jsonEquals([1, 2], [2, 1])).toBe(false);
    expect(jsonEquals({ a: 1 }, { a: '1' })).toBe(false);
    expect(jsonEquals(null, {})).toBe(false);
  });
});

describe('snapshot hashes', () => {
  const id = '01JDQ6Z3M4X5Y6Z7A8B9C0D1E2';
  const createdAt = '2026-11-26T10:00:00.000Z';

  it('computes inputsHash and contentHash that an auditor can recompute from hand-built canonical text', () => {
    // Arrange
    const recorded: RecordSnapshot = { functionName: 'f', inputs: [{ name: 'x', value: 1 }], outputs: [{ name: 'y', value: 'ok', type: 'string' }] };

    // Act
    const snapshot = buildSnapshot(recorded, id, createdAt);

    // Assert: the canonical texts written out by hand, hashed with node:crypto.
    const inputsText = '{"functionName":"f","inputs":[{"name":"x","value":1}]}';
    expect(snapshot.inputsHash).toBe(sha256(inputsText));
    const contentText =
      `{"createdAt":"${createdAt}","functionName":"f","inputs":[{"name":"x","value":1}],"inputsHash":"${sha256(inputsText)}",` +
      `"outputs":[{"name":"y","type":"string","value":"ok"}],"schemaVersion":1,"snapshotId":"${id}"}`;
    expect(snapshot.contentHash).toBe(sha256(contentText));
    expect(snapshot.contentHash).toBe(sha256(canonicalJson({ ...snapshot, contentHash: undefined })));
    expect(verifyContentHash(snapshot)).toBe(true);
  });

  it('computes inputsHash over the function name too, so equal inputs of two functions differ', () => {
    const inputs = [{ name: 'x', value: 1 }];
    expect(computeInputsHash('f', inputs)).not.toBe(computeInputsHash('g', inputs));
    expect(computeInputsHash('f', inputs)).toBe(computeInputsHash('f', [{ value: 1, name: 'x' }]));
  });

  const full: Snapshot = buildSnapshot(
    {
      functionName: 'approve_loan',
      inputs: [{ name: 'applicant', value: { income: 52000, age: 41 }, type: 'object' }],
      outputs: [
        { name: 'decision', value: 'approve', type: 'string' },
        { name: 'score', value: 0.82 },
      ],
      modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0, extra: {} },
      context: { tenant: 'acme' },
      executionTimeMs: 120.5,
      tags: { env: 'prod' },
      dependencies: [{ name: 'rates', kind: 'tool', request: { currency: 'EUR' }, response: { rate: 0.0412 }, latencyMs: 12 }],
    },
    id,
    createdAt,
  );

  /** One tampering per stored field: each must change the content hash. */
  const tamperings: Record<keyof Omit<Snapshot, 'contentHash'>, (s: Snapshot) => Snapshot> = {
    snapshotId: (s) => ({ ...s, snapshotId: '01JDQ6Z3M4X5Y6Z7A8B9C0D1E3' }),
    createdAt: (s) => ({ ...s, createdAt: '2026-11-26T10:00:00.001Z' }),
    schemaVersion: (s) => ({ ...s, schemaVersion: 2 }),
    functionName: (s) => ({ ...s, functionName: 'approve_loan2' }),
    inputs: (s) => ({ ...s, inputs: [{ name: 'applicant', value: { income: 52001, age: 41 }, type: 'object' }] }),
    outputs: (s) => ({ ...s, outputs: [{ name: 'decision', value: 'deny', type: 'string' }, { name: 'score', value: 0.82 }] }),
    modelParameters: (s) => ({ ...s, modelParameters: { modelName: 'credit-llm', modelVersion: '2026-11', temperature: 0, extra: {} } }),
    context: (s) => ({ ...s, context: { tenant: 'other' } }),
    executionTimeMs: (s) => ({ ...s, executionTimeMs: 120.6 }),
    tags: (s) => ({ ...s, tags: { env: 'dev' } }),
    dependencies: (s) => ({ ...s, dependencies: [{ name: 'rates', kind: 'tool', request: { currency: 'EUR' }, response: { rate: 0.0413 }, latencyMs: 12 }] }),
    inputsHash: (s) => ({ ...s, inputsHash: '0'.repeat(64) }),
  };

  it.each(Object.entries(tamperings))('changes contentHash when %s changes, and verifyContentHash notices', (_field, tamper) => {
    // Arrange
    expect(verifyContentHash(full)).toBe(true);

    // Act
    const tampered = tamper(full);

    // Assert
    expect(computeContentHash(tampered)).not.toBe(full.contentHash);
    expect(verifyContentHash(tampered)).toBe(false);
  });

  it('changes contentHash when an output type (metadata) is removed or a field is added', () => {
    const withoutType = { ...full, outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.82 }] };
    expect(verifyContentHash(withoutType)).toBe(false);
    expect(verifyContentHash({ ...full, context: { tenant: 'acme', extra: true } })).toBe(false);
  });

  it('does not depend on key order, so a snapshot read back with its keys reordered still verifies', () => {
    const reordered = Object.fromEntries(Object.entries(full).reverse()) as Snapshot;
    expect(verifyContentHash(reordered)).toBe(true);
  });

  it('rejects a contentHash that is merely well-formed', () => {
    expect(verifyContentHash({ ...full, contentHash: sha256('something else') })).toBe(false);
  });
});
