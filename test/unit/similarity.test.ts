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

  it('splits text of scripts written without spaces into overlapping character pairs', () => {
    // Chinese: 我喜欢猫 is one run of letters; its terms are the pairs of neighbouring characters.
    expect([...termFrequencies('我喜欢猫').keys()]).toEqual(['我喜', '喜欢', '欢猫']);
    // Latin letters and digits beside them stay words of their own; a lone character is its own term.
    expect([...termFrequencies('GPT4模型 猫').keys()]).toEqual(['gpt4', '模型', '猫']);
    // Thai: a vowel or tone mark stays with the letter it sits on.
    expect([...termFrequencies('ไปที่').keys()]).toEqual(['ไป', 'ปที่']);
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

  it('scores texts without any word by their normalised text, white space left out', async () => {
    expect(await lexical.similarity('!!', '！！')).toBe(1); // full-width '!' normalises to '!'
    expect(await lexical.similarity('!!', '??')).toBe(0);
    // An empty answer and a blank one say the same (they scored 0).
    expect(await lexical.similarity('', ' \n\t')).toBe(1);
    expect(await lexical.similarity('! !', '!!')).toBe(1);
  });

  it('counts an emoji or a flag as a term: a thumbs-up is not a thumbs-down', async () => {
    // Skipped like punctuation, these scored 1.
    expect(await lexical.similarity('👍 approve', '👎 approve')).toBeCloseTo(0.5, 15);
    expect(await lexical.similarity('🇫🇷', '🇩🇪')).toBe(0);
    expect(await lexical.similarity('👨‍👩‍👧 family', '👨‍👩‍👦 family')).toBeCloseTo(0.5, 15);
    // The same emoji in another skin tone or presentation is the same term.
    expect(await lexical.similarity('👍🏽 approve', '👍 approve')).toBe(1);
    expect(await lexical.similarity('❤️', '❤')).toBe(1);
    expect([...termFrequencies('👍👍 ok')]).toEqual([
      ['👍', 2],
      ['ok', 1],
    ]);
  });

  it('scores near sentences of scripts without spaces by their shared words, not 0', async () => {
    // One changed character of four: 2 of 3 character pairs are shared.
    expect(await lexical.similarity('我喜欢猫', '我喜欢狗')).toBeCloseTo(2 / 3, 15);
    // "The loan was approved" / "The loan was declined" (Japanese): the same frame, another verb.
    const ja = await lexical.similarity('ローンは承認されました', 'ローンは拒否されました');
    expect(ja).toBeGreaterThan(0.5);
    expect(ja).toBeLessThan(1);
    // "Loan approved" / "loan declined" (Thai), like 'loan approved' / 'loan declined'.
    const th = await lexical.similarity('อนุมัติสินเชื่อแล้ว', 'ปฏิเสธสินเชื่อแล้ว');
    expect(th).toBeGreaterThan(0.3);
    expect(th).toBeLessThan(1);
    // Unrelated sentences share nothing.
    expect(await lexical.similarity('贷款已批准', '今天天气很好')).toBe(0);
    // The same text with other punctuation is the same words.
    expect(await lexical.similarity('贷款已批准。', '贷款已批准')).toBe(1);
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
