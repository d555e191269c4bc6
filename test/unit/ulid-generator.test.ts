import { isValid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { bufferedCryptoPrng, ulidGenerator } from '../../functions/adapters/ids.js';

describe('bufferedCryptoPrng', () => {
  it('answers fractions in [0, 1) on a 1/256 grid, refilling past its buffer, spread over all of ulid’s 32 letters', () => {
    const prng = bufferedCryptoPrng(64);
    const letters = new Array<number>(32).fill(0);
    const values = Array.from({ length: 32_000 }, () => prng());

    for (const v of values) {
      expect(v >= 0 && v < 1 && Number.isInteger(v * 256)).toBe(true);
      const letter = Math.floor(v * 32);
      letters[letter] = (letters[letter] ?? 0) + 1;
    }
    // 1,000 expected per letter; a draw outside 800-1,200 is about 6 sigma away.
    expect(Math.min(...letters)).toBeGreaterThan(800);
    expect(Math.max(...letters)).toBeLessThan(1_200);
    // Not the same buffer over and over after a refill.
    expect(values.slice(0, 64)).not.toEqual(values.slice(64, 128));
  });
});

describe('ulidGenerator', () => {
  it('makes valid, distinct, increasing ids', () => {
    const ids = ulidGenerator();
    const made = Array.from({ length: 5_000 }, () => ids.next());

    expect(made.every((id) => isValid(id))).toBe(true);
    expect(new Set(made).size).toBe(made.length);
    expect([...made].sort()).toEqual(made);
  });
});
