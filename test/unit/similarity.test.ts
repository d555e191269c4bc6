import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cosineOfCounts, LexicalSimilarity, lexicalSimilarity, termFrequencies } from '../../functions/core/similarity.js';

describe('termFrequencies', () => {
  it('normalises with NFKC, lower-cases and splits on anything but letters, marks and digits', () => {
    // 'ﬁ' (U+FB01) becomes 'fi' under NFKC; full-width digits become ASCII digits.
    expect(termFrequencies('The ﬁle, THE file! ４２ v2-beta')).toEqual(
      new Map([
        ['the', 2],
        ['file', 2],
        ['42', 1],
        ['v2', 1],
        ['beta', 1],
      ]),
    );
  });

  it('keeps combining marks inside words (Devanagari)', () => {
    expect([...termFrequencies('नमस्ते दुनिया').keys()]).toEqual(['नमस्ते', 'दुनिया']);
  });
});

describe('LexicalSimilarity', () => {
  const lexical = new LexicalSimilarity();

  it('is named lexical', () => {
    expect(lexical.name).toBe('lexical');
  });

  it('scores identical text exactly 1, including two empty strings', async () => {
    expect(await lexical.similarity('Income is well above the threshold.', 'Income is well above the threshold.')).toBe(1);
    expect(await lexical.similarity('', '')).toBe(1);
  });

  it('scores text with the same words in another case and punctuation exactly 1', async () => {
    expect(await lexical.similarity('Approve; income OK', 'approve income ok!!!')).toBe(1);
  });

  it('scores texts sharing no word 0, and one empty text against a non-empty one 0', async () => {
    expect(await lexical.similarity('approve', 'decline')).toBe(0);
    expect(await lexical.similarity('', 'approve')).toBe(0);
    expect(await lexical.similarity('...', 'approve')).toBe(0);
  });

  it('scores texts without any word by their normalised text', async () => {
    expect(await lexical.similarity('!!', '！！')).toBe(1); // full-width '!' normalises to '!'
    expect(await lexical.similarity('!!', '??')).toBe(0);
  });

  it('computes the cosine of term counts (hand-checked)', async () => {
    // a: {a:2, b:1}, b: {a:1, c:1}: dot 2, |a| = √5, |b| = √2 → 2/√10.
    expect(await lexical.similarity('a a b', 'a c')).toBeCloseTo(2 / Math.sqrt(10), 15);
  });

  it('scores a low-similarity rationale well below 0.9', async () => {
    const s = await lexical.similarity('Income is well above the threshold.', 'The applicant has too many open accounts; declined.');
    expect(s).toBeLessThan(0.3);
  });

  it('is symmetric, in [0, 1], deterministic and 1 on identity (property)', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.array(fc.constantFrom('loan', 'Loan', 'approve', 'decline', 'income', '42', '!', ' '), { maxLength: 12 }).map((w) => w.join(' ')));
    fc.assert(
      fc.property(text, text, (a, b) => {
        const ab = lexicalSimilarity(a, b);
        expect(ab).toBe(lexicalSimilarity(b, a));
        expect(ab).toBeGreaterThanOrEqual(0);
        expect(ab).toBeLessThanOrEqual(1);
        expect(lexicalSimilarity(a, b)).toBe(ab);
        expect(lexicalSimilarity(a, a)).toBe(1);
      }),
    );
  });

  it('gives exactly 1 for equal term vectors however they are spelled (property)', () => {
    const words = fc.array(fc.constantFrom('alpha', 'beta', 'gamma', 'delta', 'x1'), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(words, (w) => {
        const shuffled = [...w].reverse().map((x) => x.toUpperCase());
        expect(lexicalSimilarity(w.join(' '), shuffled.join(', '))).toBe(1);
      }),
    );
  });
});

describe('cosineOfCounts', () => {
  it('is 0 when nothing is shared', () => {
    expect(cosineOfCounts(new Map([['a', 1]]), new Map([['b', 3]]))).toBe(0);
  });
});
