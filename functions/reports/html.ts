/**
 * Escaping for reports. Every string that comes from stored data (snapshot values, field paths,
 * function names, error messages, policy names) reaches the page through one of these functions,
 * so a value such as `<script>` or `"><img onerror=…>` is shown as text and never parsed as markup.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * The bidirectional controls (Unicode's Bidi_Control: ALM, LRM, RLM, the embeddings and overrides,
 * the isolates). A browser obeys them: `outputs.\u202Eevil` is shown as "outputs.live", a field
 * that does not exist, and an override reorders the rest of its line (Trojan Source). Stored
 * values are data: they are shown as `\u202e`, as the CLI shows them.
 */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
const ESCAPED = /[&<>"'\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

const visibleControl = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Text with every bidirectional control written out as `\uXXXX` (for text a chart draws). */
export function visibleControls(text: string): string {
  return text.replace(BIDI_CONTROLS, visibleControl);
}

/** Text for element content or a quoted attribute value; bidirectional controls shown as `\uXXXX`. */
export function esc(value: unknown): string {
  return String(value).replace(ESCAPED, (c) => HTML_ESCAPES[c] ?? visibleControl(c));
}

/** Markup already escaped by {@link html}; interpolating one is not escaped again. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return esc(value);
}

/**
 * Tagged template: the literal parts are trusted markup written here, every interpolated value is
 * escaped unless it is already {@link SafeHtml} (arrays are joined, `null`/`undefined`/`false`
 * render as nothing).
 */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Markup written by this code (never data): trusted as it is. */
export function raw(text: string): SafeHtml {
  return new SafeHtml(text);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` are written as `\u003c`
 * etc. so no string in it can close the element (`</script>`) or open a comment, and U+2028 /
 * U+2029 as escapes so the text stays valid if ever evaluated as JavaScript. JSON.parse reads the
 * same values back.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Code for an inline `<script>`: a `</script` inside it (in a string or comment) cannot end the element. */
export function inlineScript(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** A JSON value as compact, readable text for a table cell; long values are cut with a note. */
export function showValue(value: unknown, maxChars = 600): string {
  const text = value === undefined ? '(absent)' : typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value);
  return text.length > maxChars ? `${text.slice(0, maxChars)}… (${text.length - maxChars} more characters)` : text;
}

const DECIMALS = new Map<number, Intl.NumberFormat>();

/**
 * An integer as `Intl.NumberFormat('en-US')` writes it — the shortest digits that read back as the
 * same number, zeros after them, commas between thousands, `-0` for negative zero — without
 * creating a formatter: the first `Intl.NumberFormat` of a process loads ICU's locale data, ~10 ms
 * that every cold start of the reports function paid at import, for the counts of every report.
 * Anything but an integer goes to `toLocaleString('en-US')`.
 */
export function fmtInteger(n: number): string {
  if (!Number.isInteger(n)) return n.toLocaleString('en-US');
  const [mantissa = '', exponent] = String(Math.abs(n)).split('e+');
  const [whole = '', fraction = ''] = mantissa.split('.');
  const digits = exponent === undefined ? whole : (whole + fraction).padEnd(whole.length + Number(exponent), '0');
  return (n < 0 || Object.is(n, -0) ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A number for people: integers with thousands separators, others to `digits` places at most. */
export function fmtNumber(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return fmtInteger(n);
  let format = DECIMALS.get(digits);
  if (!format) {
    format = new Intl.NumberFormat('en-US', { minimumFractionDigits: 0, maximumFractionDigits: digits });
    DECIMALS.set(digits, format);
  }
  return format.format(n);
}

/** A ratio in [0, 1] as a percentage with one decimal. */
export function fmtPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

/** Milliseconds, to two decimals at most. */
export function fmtMs(ms: number): string {
  return `${fmtNumber(ms, 2)} ms`;
}
