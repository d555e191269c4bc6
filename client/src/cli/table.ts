/**
 * Plain-text tables for `--output table`: key/value blocks and column tables, no colours (they
 * would break when piped), widths from the content.
 */

/**
 * Characters a terminal acts on instead of showing: C0 controls (ESC starts the sequences that
 * clear the screen, move the cursor, set the window title or write the clipboard; CR and BS
 * overwrite what was printed), DEL, C1 controls (U+009B is a one-character CSI), the line and
 * paragraph separators, and the bidirectional controls that reorder what is shown (Trojan Source).
 * Stored values and the service's messages are data: they are shown escaped, never obeyed.
 */
const TERMINAL_CONTROLS = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu;
/** The same, less the line feed: for whole blocks of text whose lines are the CLI's own. */
const TERMINAL_CONTROLS_BUT_LF = /(?!\n)[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu;

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeChar = (c: string) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One line of text safe to print on a terminal: every control character escaped (`\n`, `\u001b`). */
export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_CONTROLS, escapeChar);
}

/** A block of text safe to print on a terminal: its line feeds kept, every other control escaped. */
export function terminalSafeLines(text: string): string {
  return text.replace(TERMINAL_CONTROLS_BUT_LF, escapeChar);
}

/**
 * JSON text (JSON.stringify's) safe to print on a terminal, and still the same JSON: of those
 * characters, JSON.stringify writes only its own line feeds raw, and leaves raw only DEL, C1 and the
 * separators and bidirectional controls, which can stand only inside strings, where `\uXXXX`
 * reads back as the same character.
 */
export function terminalSafeJson(json: string): string {
  return json.replace(TERMINAL_CONTROLS_BUT_LF, escapeChar);
}

/** Formats a cell: strings as they are (control characters escaped), other values as compact JSON. */
export function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'string') return terminalSafe(value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
  return terminalSafeJson(JSON.stringify(value));
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
