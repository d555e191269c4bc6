import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duplicateKeyProblem, jsonShape } from '../../functions/core/json-shape.js';

const check = (raw: string) => duplicateKeyProblem(raw, jsonShape(JSON.parse(raw)).keys);

describe('duplicateKeyProblem', () => {
  it('names a duplicate key and the object that holds it, at any depth', () => {
    expect(check('{"decision":"deny","decision":"approve"}')).toEqual({ key: 'decision', at: '(root)' });
    expect(check('{"outputs":[{"name":"a","value":1},{"name":"b","value":{"x":1, "y":2 ,\n"x" : 3}}]}')).toEqual({ key: 'x', at: 'outputs[1].value' });
    expect(check('[[{}],[{"k":[1,2,{"z":null,"z":true}]}]]')).toEqual({ key: 'z', at: '[1][0].k[2]' });
  });

  it('compares keys as JSON reads them: an escaped spelling of the same key is the same key', () => {
    expect(check('{"a\\u0062":1,"ab":2}')).toEqual({ key: 'ab', at: '(root)' });
    expect(check('{"q\\"":1,"q\\\\":2}')).toBeUndefined();
  });

  it('is not fooled by strings that look like keys, escaped quotes or brackets inside values', () => {
    expect(check('{"a":"\\"a\\":1","b":"{\\"a\\":2}","c":"\\\\","d":["\\":"]}')).toBeUndefined();
    expect(check('{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}')).toBeUndefined();
    expect(check('"just a string"')).toBeUndefined();
    expect(check('{}')).toBeUndefined();
    expect(check('[]')).toBeUndefined();
  });

  it('agrees with a reference on generated documents, with and without a duplicate spliced in', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), (value, splice) => {
        let raw = JSON.stringify(value);
        let expected = false;
        // Splice a duplicate of the first key of the first object written, if there is one.
        const m = /\{"((?:[^"\\]|\\.)*)":/.exec(raw);
        if (splice && m !== null) {
          raw = `${raw.slice(0, m.index + 1)}"${m[1] as string}":0,${raw.slice(m.index + 1)}`;
          expected = true;
        }
        const problem = check(raw);
        expect(problem !== undefined).toBe(expected);
        if (problem !== undefined) expect(problem.key).toBe(JSON.parse(`"${m?.[1] as string}"`));
      }),
      { seed: 20261202, numRuns: 500 },
    );
  });
});
