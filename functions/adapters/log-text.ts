/**
 * Log text that a terminal shows and never obeys. A log message or field may carry what a user
 * sent (a rule's name, a field path, an error's message): raw, an ESC sequence in it clears or
 * recolours the operator's terminal, a line feed forges a log line of its own, a bidirectional
 * override reorders what is shown. The characters are the CLI's (client/src/cli/table.ts): C0
 * controls, DEL, C1 controls (U+009B is a one-character CSI), the line and paragraph separators
 * and the bidirectional controls, written out as `\n`, `\u001b`, `\u202e`.
 */

const TERMINAL_CONTROLS = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu;
/** The same, less the line feed. */
const TERMINAL_CONTROLS_BUT_LF = /(?!\n)[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu;
/** What JSON.stringify leaves raw of them (it escapes every C0 control itself): DEL, C1, separators, bidirectional controls. */
const RAW_IN_JSON = /[\u007f-\u009f\p{Bidi_Control}\u2028\u2029]/gu;

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeChar = (c: string) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One line of text: every control character written out (`\n`, `\u001b`). */
export function escapeTerminalControls(text: string): string {
  return text.replace(TERMINAL_CONTROLS, escapeChar);
}

/** Text whose line feeds are its own: every other control character written out. */
export function escapeTerminalControlsButLineFeeds(text: string): string {
  return text.replace(TERMINAL_CONTROLS_BUT_LF, escapeChar);
}

/**
 * What JSON.stringify leaves raw (DEL, C1, separators, bidirectional controls) written out. On JSON
 * text (JSON.stringify's, on one line): safe to print, and still the same JSON, since those can
 * stand only inside strings, where `\uXXXX` reads back as the same character. On a string value
 * about to be written into a JSON log line (the Lambdas' Powertools Logger, its `jsonReplacerFn`):
 * the line shows them as text in CloudWatch's browser and in `aws logs tail`, obeying none.
 */
export function escapeJsonControls(json: string): string {
  return json.replace(RAW_IN_JSON, escapeChar);
}

/**
 * Several lines of text whose line structure is the program's own but whose text may hold a user's
 * (Node's inspection of an Error: its message, then its stack frames, properties and cause, each
 * on an indented line): every control character written out, and a line feed kept only where the
 * next line is indented (or is the closing `}`), so no part of it starts a line of its own.
 */
export function escapeTerminalControlsInBlock(text: string): string {
  return escapeTerminalControlsButLineFeeds(text).replace(/\n(?! |\}$)/g, '\\n');
}
