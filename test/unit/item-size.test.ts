import { describe, expect, it } from 'vitest';
import { attributeValueSize, itemSize, MAX_ITEM_BYTES } from '../../functions/adapters/dynamodb/item-size.js';

describe('DynamoDB item size', () => {
  it('counts attribute names, UTF-8 string bytes, numbers by significant digits and 1 byte per boolean', () => {
    // pk: 2 + 6 ("SNAP#1"); n: 1 + (3 digits -> ceil(3/2) + 1 = 3); b: 1 + 1.
    expect(itemSize({ pk: 'SNAP#1', n: 123, b: true })).toBe(8 + 4 + 2);
  });

  it('adds 3 bytes per map or list and 1 byte per element, as DynamoDB does', () => {
    // m: 1 + map(3 + [a: 1 + 1 + "xy" 2] + [l: 1 + 1 + list(3 + (1 + num 1 -> 2) + (1 + null 1))])
    //  = 1 + (3 + 4 + (2 + 8)) = 18
    expect(itemSize({ m: { a: 'xy', l: [1, null] } })).toBe(18);
  });

  it('counts multi-byte characters by their UTF-8 length, in names and values', () => {
    // "é€" is 2 + 3 bytes; the name "ü" is 2 bytes.
    expect(attributeValueSize('é€')).toBe(5);
    expect(itemSize({ ü: 'é€' })).toBe(7);
  });

  it('ignores leading zeros and the decimal point when counting number digits', () => {
    expect(attributeValueSize(0.002)).toBe(2); // one significant digit
    expect(attributeValueSize(12345678901)).toBe(7); // 11 digits -> 6 + 1
    expect(attributeValueSize(-0.5)).toBe(2);
    expect(attributeValueSize(1.5e-10)).toBe(2); // "15" -> 1 + 1
  });

  it('skips undefined attributes (the DocumentClient removes them)', () => {
    expect(itemSize({ a: 'x', gone: undefined })).toBe(2);
    expect(attributeValueSize({ a: 'x', gone: undefined })).toBe(3 + 1 + 1 + 1);
  });

  it('puts a 450 KB string over the 400 KB limit and a 390 KB one under it', () => {
    expect(MAX_ITEM_BYTES).toBe(409_600);
    expect(itemSize({ pk: 'SNAP#1', s: 'x'.repeat(450 * 1024) })).toBeGreaterThan(MAX_ITEM_BYTES);
    expect(itemSize({ pk: 'SNAP#1', s: 'x'.repeat(390 * 1024) })).toBeLessThan(MAX_ITEM_BYTES);
  });
});
