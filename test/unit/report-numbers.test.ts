/**
 * Numbers in reports (functions/reports/html.ts): integers are written exactly as
 * `Intl.NumberFormat('en-US')` writes them, without creating one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fmtInteger, fmtNumber } from '../../functions/reports/html.js';

const intl = new Intl.NumberFormat('en-US');

describe('fmtInteger', () => {
  it('writes every integer as Intl.NumberFormat en-US does, large and negative ones included', () => {
    const integers = fc.oneof(
      fc.integer(),
      fc.maxSafeInteger(),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(Math.round).filter(Number.isFinite),
    );

    fc.assert(fc.property(integers, (n) => {
        expect(fmtInteger(n)).toBe(intl.format(n));
      }), { numRuns: 20_000 });
  });

  it('writes the edge values as Intl.NumberFormat en-US does', () => {
    for (const n of [0, -0, 999, 1000, -1000, 2 ** 53, 1e21, 2 ** 70, -1e300, Number.MAX_VALUE]) expect(fmtInteger(n), String(n)).toBe(intl.format(n));
  });

  it('leaves other numbers to toLocaleString, and fmtNumber gives integers its form', () => {
    expect(fmtInteger(1234.5)).toBe((1234.5).toLocaleString('en-US'));
    expect(fmtNumber(1234567)).toBe('1,234,567');
    expect(fmtNumber(1234.567)).toBe('1,234.57');
  });
});
