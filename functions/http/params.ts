/**
 * Query-string parameters shared by the list routes: `limit` (default 50, max 1000), an opaque
 * `cursor`, and optional `from` / `to` instants (ISO-8601, normalised to UTC with milliseconds).
 */
import { NotFoundError, ValidationError } from '../core/errors.js';
import { FunctionNameSchema } from '../core/snapshot.js';
import { isCalendarInstant } from '../core/instant.js';
import { ULID_ANY_CASE } from '../core/ulid.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;

export interface ListParams {
  limit: number;
  cursor?: string;
}

/** Parses `limit` and `cursor`. */
export function parseListParams(query: Readonly<Record<string, string>>): ListParams {
  const out: ListParams = { limit: DEFAULT_LIMIT };
  if (query.limit !== undefined) {
    if (!/^\d+$/.test(query.limit) || Number(query.limit) < 1 || Number(query.limit) > MAX_LIMIT) {
      throw new ValidationError(`limit must be an integer from 1 to ${MAX_LIMIT}, got '${query.limit}'`, { details: { issues: [{ path: 'limit', message: `must be 1..${MAX_LIMIT}` }] } });
    }
    out.limit = Number(query.limit);
  }
  if (query.cursor !== undefined) out.cursor = query.cursor;
  return out;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Parses an ISO-8601 date or date-time into canonical UTC (`2026-11-26T10:00:00.000Z`). A date the
 * calendar does not have (`2026-02-30`) is refused, not rolled over into the next month.
 */
export function parseInstant(name: string, value: string): string {
  const ms = ISO_INSTANT.test(value) && isCalendarInstant(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new ValidationError(`${name} must be an ISO-8601 date or date-time such as 2026-11-26T10:00:00Z, got '${value}'`, { details: { issues: [{ path: name, message: 'not an ISO-8601 instant' }] } });
  }
  return new Date(ms).toISOString();
}

/** Parses optional `from` / `to` and checks their order. */
export function parseTimeRange(query: Readonly<Record<string, string>>): { from?: string; to?: string } {
  const range: { from?: string; to?: string } = {};
  if (query.from !== undefined) range.from = parseInstant('from', query.from);
  if (query.to !== undefined) range.to = parseInstant('to', query.to);
  if (range.from !== undefined && range.to !== undefined && range.from > range.to) {
    throw new ValidationError(`from (${range.from}) is after to (${range.to})`, { details: { issues: [{ path: 'from', message: 'after to' }] } });
  }
  return range;
}

/**
 * The `version` query parameter of the routes that read one version of something (a policy, a noise
 * profile): absent, or a positive integer. Anything else (`0`, `1.5`, `-1`, `x`) is the same 400 on
 * every such route, not a 404 on one and a 400 on another; a well-formed version that was never
 * stored is the route's 404.
 */
export function parseVersionParam(query: Readonly<Record<string, string>>): number | undefined {
  const value = query.version;
  if (value === undefined) return undefined;
  const n = /^[1-9]\d*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) {
    const got = value.length <= 40 ? `'${value}'` : `${value.length} characters`;
    throw new ValidationError(`version must be a positive integer (1, 2, …), got ${got}`, { details: { issues: [{ path: 'version', message: 'a positive integer' }] } });
  }
  return n;
}

/** A path parameter that must be present and non-empty. */
export function pathParam(params: Readonly<Record<string, string>>, name: string): string {
  const value = params[name];
  if (value === undefined || value === '') throw new ValidationError(`path parameter ${name} is missing`);
  return decodeURIComponentSafe(value);
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new ValidationError(`path parameter '${value}' is not valid percent-encoding`);
  }
}

/**
 * An id path parameter. Ids are ULIDs; one that is not cannot name anything, so it is a 404 that
 * says what ids look like (without a lookup). A ULID in lower (or mixed) case names the same id
 * (Crockford base 32 is case-insensitive) and is answered in the stored upper case.
 */
export function ulidParam(params: Readonly<Record<string, string>>, name: string, resource: string): string {
  const value = pathParam(params, name);
  if (!ULID_ANY_CASE.test(value)) throw new NotFoundError(resource, value, { message: `${resource} '${value}' does not exist (ids are 26-character ULIDs)` });
  return value.toUpperCase();
}

/**
 * A function name from a path or a query parameter: a 400 that says what a name may contain and
 * shows the value (or, for one too long to quote, its length).
 */
export function parseFunctionName(value: string): string {
  const parsed = FunctionNameSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const reason = parsed.error.issues[0]?.message ?? 'functionName is not valid';
  const got = value.length <= 200 ? `'${value}'` : `${value.length} characters`;
  throw new ValidationError(`${reason}, got ${got}`, { details: { issues: [{ path: 'functionName', message: reason }] } });
}

/** The `functionName` path parameter (see {@link parseFunctionName}). */
export function functionNameParam(params: Readonly<Record<string, string>>): string {
  return parseFunctionName(pathParam(params, 'functionName'));
}
