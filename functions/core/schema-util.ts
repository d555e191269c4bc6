/**
 * Helpers around zod/mini (the Lambda bundles use zod/mini: full zod adds ~450 KB to each bundle).
 */
import type * as z from 'zod/mini';
import { ValidationError, type FieldIssue } from './errors.js';
import { appendSegment, type PathSegment } from './field-path.js';

/** Formats a zod issue path as a field path (`outputs[0].name`). */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) out = appendSegment(out, typeof seg === 'number' ? seg : String(seg) as PathSegment);
  return out === '' ? '(body)' : out;
}

/**
 * One issue as a message line: `path: message`, or, when the message already opens with the
 * field's own name (`functionName may contain …`), the path in place of that name
 * (`selector.functionName may contain …`), not `functionName: functionName may contain …`.
 */
export function issueLine(issue: { path: string; message: string }): string {
  const name = /(?:^|\.)([A-Za-z_$][\w$]*)$/.exec(issue.path)?.[1];
  return name !== undefined && issue.message.startsWith(`${name} `) ? `${issue.path}${issue.message.slice(name.length)}` : `${issue.path}: ${issue.message}`;
}

/** Turns zod issues into field issues, one per bad field. */
export function toFieldIssues(error: z.core.$ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message }));
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value;
}

/**
 * Messages for issues whose schema sets none: zod/mini ships no locale, so its default is a bare
 * "Invalid input" that does not tell a client what is wrong. Schema-set messages take precedence.
 */
export function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `required (${issue.expected})` : `expected ${issue.expected}, got ${kindOf(issue.input)}`;
    case 'invalid_union':
      if (issue.input === undefined) return 'required';
      return typeof issue.input === 'number' ? 'numbers must be finite' : `not an allowed value (got ${kindOf(issue.input)})`;
    case 'unrecognized_keys':
      return 'unknown field';
    case 'invalid_key': {
      // A record key refused by its own schema (a tag name too long): say why, not "Invalid key in record".
      const why = issue.issues.map((inner) => inner.message).filter((m) => m !== undefined && m !== '');
      return why.length === 0 ? 'invalid key' : `key ${why.join('; ')}`;
    }
    case 'too_small':
      return `must be at least ${String(issue.minimum)}${issue.origin === 'string' ? ' characters long' : issue.origin === 'array' ? ' items' : ''}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}${issue.origin === 'string' ? ' characters long' : issue.origin === 'array' ? ' items' : ''}`;
    default:
      return undefined;
  }
}

/**
 * Parses `input` with `schema`; on failure throws a {@link ValidationError} whose message names each
 * bad field and whose details list them (an unknown key is named by its own path).
 */
export function parseOrThrow<S extends z.ZodMiniType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input, { error: describeIssue });
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((issue): FieldIssue[] =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: issuePath([...issue.path, key]), message: issue.message }))
      : [{ path: issuePath(issue.path), message: issue.message }],
  );
  const summary = issues.slice(0, 5).map(issueLine).join('; ');
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  throw new ValidationError(`invalid ${what}: ${summary}${more}`, { details: { issues } });
}
