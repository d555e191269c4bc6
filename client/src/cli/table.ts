/**
 * Plain-text tables for `--output table`: key/value blocks and column tables, no colours (they
 * would break when piped), widths from the content.
 */

import { escapeTerminalControls, escapeTerminalControlsButLineFeeds } from '../../../functions/adapters/log-text.js';

/**
 * Stored values and the service's messages are data: they are shown escaped, never obeyed. The
 * characters a terminal acts on instead of showing (C0 controls such as ESC, which starts the
 * sequences that clear the screen or write the clipboard, and CR and BS, which overwrite what was
 * printed; DEL; C1 controls; the line and paragraph separators; the bidirectional controls that
 * reorder what is shown) are the host's log lines' own (functions/adapters/log-text.ts).
 */

/** One line of text safe to print on a terminal: every control character escaped (`\n`, `\u001b`). */
export const terminalSafe = escapeTerminalControls;

/** A block of text safe to print on a terminal: its line feeds kept, every other control escaped. */
export const terminalSafeLines = escapeTerminalControlsButLineFeeds;

/**
 * JSON text (JSON.stringify's) safe to print on a terminal, and still the same JSON: of those
 * characters, JSON.stringify writes only its own line feeds raw, and leaves raw only DEL, C1 and the
 * separators and bidirectional controls, which can stand only inside strings, where `\uXXXX`
 * reads back as the same character.
 */
export const terminalSafeJson = escapeTerminalControlsButLineFeeds;

/** Formats a cell: strings as they are (control characters escaped), other values as compact JSON. */
export function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'string') return terminalSafe(value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
  return terminalSafeJson(JSON.stringify(value));
}

/**
 * Formats a compared value (a diff's old / new, a replay's original / replayed): `-` when that side
 * has none, anything present as compact JSON. Unlike {@link cell}, null is `null`, a string is
 * quoted (`"1"` is not `1`) and a number is shown whole (0.30000000000000004 is not 0.3): a table of
 * what changed must not show a change as two equal cells.
 */
export function valueCell(value: unknown): string {
  if (value === undefined) return '-';
  return terminalSafeJson(JSON.stringify(value));
}

/**
 * East Asian Wide and Fullwidth characters (Unicode's EastAsianWidth W and F: Hangul, CJK, kana,
 * fullwidth forms) and emoji shown as pictures: two columns of a terminal each.
 */
const WIDE = /^(?:[\u1100-\u115f\u231a\u231b\u2329\u232a\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6\u{1b000}-\u{1b2ff}\u{1f200}-\u{1f2ff}\u{20000}-\u{2fffd}\u{30000}-\u{3fffd}]|\p{Emoji_Presentation}|\p{Extended_Pictographic}\ufe0f)/u;
/** Marks drawn on the character before them, and the invisible format characters (zero width joiner, ...). */
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]+$/u;
/** Made on first use: most runs print only ASCII, and the CLI's start stays short. */
let graphemes: Intl.Segmenter | undefined;

/**
 * How many columns a terminal gives `text` (already made {@link terminalSafe}): one per character
 * as the user sees it (a letter with its accents, an emoji sequence), two for a wide one, none for
 * one that is only marks or format characters. Padding by `.length` misaligned every column after
 * a cell of Chinese, Japanese or Korean text, or of letters built from combining accents.
 */
export function displayWidth(text: string): number {
  // The common case, plain ASCII, needs no segmenting.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let width = 0;
  graphemes ??= new Intl.Segmenter('en', { granularity: 'grapheme' });
  for (const { segment } of graphemes.segment(text)) width += WIDE.test(segment) ? 2 : ZERO_WIDTH.test(segment) ? 0 : 1;
  return width;
}

/** `text` followed by spaces up to `width` columns. */
function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/** `key   value` lines, keys padded to one width. */
export function keyValues(rows: ReadonlyArray<readonly [string, unknown]>): string {
  const width = Math.max(0, ...rows.map(([k]) => displayWidth(k)));
  return rows.map(([k, v]) => `${pad(k, width)}  ${cell(v)}`).join('\n') + '\n';
}

/** A table with a header row; `(none)` when there are no rows. Columns are aligned by {@link displayWidth}. */
export function columns(headers: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  if (rows.length === 0) return '(none)\n';
  const text = rows.map((r) => r.map(cell));
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...text.map((r) => displayWidth(r[i] ?? ''))));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n') + '\n';
}

/** A ratio as a percentage with one decimal. */
export function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}
