/**
 * ISO-8601 instants as requests give them (query parameters and bodies). `Date.parse` rolls an
 * impossible calendar date over instead of refusing it (`2026-02-30` is read as March 2nd, `T24:00`
 * as the next day), so the date and time fields are checked against the calendar first.
 */
import * as z from 'zod/mini';

const FIELDS = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Whether `value` starts with a date (`YYYY-MM-DD`, then optionally a time `hh:mm[:ss]`) that
 * exists in the calendar (month 1–12, a day the month has, hour 0–23, minute and second 0–59) and
 * `Date.parse` reads the whole of it.
 */
export function isCalendarInstant(value: string): boolean {
  const m = FIELDS.exec(value);
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return false;
  return !Number.isNaN(Date.parse(value));
}

/** An ISO-8601 date or date-time in a request body that names a real calendar instant. */
export const IsoInstantSchema = z.string().check(z.refine(isCalendarInstant, 'must be an ISO-8601 date-time that exists in the calendar'));
