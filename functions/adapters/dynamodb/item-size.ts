/**
 * DynamoDB's item size, computed the way DynamoDB counts it (attribute names + values; numbers by
 * significant digits), so an oversized snapshot is refused with 413 before anything is written.
 */

/** DynamoDB's maximum item size. */
export const MAX_ITEM_BYTES = 400 * 1024;

function numberSize(n: number): number {
  const digits = String(Math.abs(n)).replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

/** Size in bytes of one attribute value. */
export function attributeValueSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return numberSize(value);
  if (Array.isArray(value)) {
    let size = 3;
    for (const v of value) size += 1 + attributeValueSize(v);
    return size;
  }
  if (typeof value === 'object') {
    let size = 3;
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      size += 1 + Buffer.byteLength(k, 'utf8') + attributeValueSize(v);
    }
    return size;
  }
  return 0;
}

/** Size in bytes of a whole item (top-level attribute names count, without the map overhead). */
export function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [k, v] of Object.entries(item)) {
    if (v === undefined) continue;
    size += Buffer.byteLength(k, 'utf8') + attributeValueSize(v);
  }
  return size;
}
