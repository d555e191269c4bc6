/**
 * How `npm start` prints the functions' log calls: one line each, the message and then its fields as
 * compact JSON (`replay outcome {"replayId":"01M…","status":"Failed",…}`), as the Powertools Logger
 * writes them on AWS. An Error in a field is shown with its stack inside the JSON; an Error passed on
 * its own is inspected as Node shows it (its stack over several lines). A field that JSON cannot hold
 * (a cycle) falls back to Node's inspection, on one line.
 */
import { inspect } from 'node:util';

export function logLine(message: string, extra: readonly unknown[] = []): string {
  return [message, ...extra.map(field)].join(' ');
}

function field(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return inspect(value);
  try {
    return JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? (v.stack ?? `${v.name}: ${v.message}`) : typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    return inspect(value, { breakLength: Infinity });
  }
}
