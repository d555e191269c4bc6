/**
 * Plain-text tables for `--output table`: key/value blocks and column tables, no colours (they
 * would break when piped), widths from the content.
 */

/** Formats a cell: strings as they are, other values as compact JSON. */
export function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
  return JSON.stringify(value);
}

/** `key   value` lines, keys padded to one width. */
export function keyValues(rows: ReadonlyArray<readonly [string, unknown]>): string {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`).join('\n') + '\n';
}

/** A table with a header row; `(none)` when there are no rows. */
export function columns(headers: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  if (rows.length === 0) return '(none)\n';
  const text = rows.map((r) => r.map(cell));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n') + '\n';
}

/** A ratio as a percentage with one decimal. */
export function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}
