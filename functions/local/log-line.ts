/**
 * How `npm start` prints the functions' log calls: one line each, the message and then its fields as
 * compact JSON (`replay outcome {"replayId":"01M…","status":"Failed",…}`), as the Powertools Logger
 * writes them on AWS. An Error in a field is shown with its stack inside the JSON; an Error passed on
 * its own is inspected as Node shows it (its stack over several lines, each indented). A field that
 * JSON cannot hold (a cycle) falls back to Node's inspection, on one line.
 *
 * A message or field may carry a user's text (a rule's name, a field path, an error's message):
 * every terminal control in it is printed escaped (`\u001b`, `\n`, `\u202e`; ../adapters/log-text.ts),
 * so only the host starts a line, and nothing in one recolours or clears the terminal.
 */
import { inspect } from 'node:util';
import { escapeJsonControls, escapeTerminalControls, escapeTerminalControlsInBlock } from '../adapters/log-text.js';

export function logLine(message: string, extra: readonly unknown[] = []): string {
  return [escapeTerminalControls(message), ...extra.map(field)].join(' ');
}

function field(value: unknown): string {
  if (typeof value === 'string') return escapeTerminalControls(value);
  if (value instanceof Error) return escapeTerminalControlsInBlock(inspect(value));
  try {
    const json = JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? (v.stack ?? `${v.name}: ${v.message}`) : typeof v === 'bigint' ? v.toString() : v));
    return json === undefined ? escapeTerminalControls(String(value)) : escapeJsonControls(json);
  } catch {
    return escapeTerminalControls(inspect(value, { breakLength: Infinity }));
  }
}
