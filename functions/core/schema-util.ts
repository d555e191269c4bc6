/**
 * Helpers around zod/mini (the Lambda bundles use zod/mini: full zod adds ~450 KB to each bundle).
 */
import * as z from 'zod/mini';
import { ValidationError, type FieldIssue } from './errors.js';
import { appendSegment, type PathSegment } from './field-path.js';

/** Formats a zod issue path as a field path (`outputs[0].name`). */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) out = appendSegment(out, typeof seg === 'number' ? seg : String(seg) as PathSegment);
  return out === '' ? '(body)' : out;
}

/** Turns zod issues into field issues, one per bad field. */
export function toFieldIssues(error: z.core.$ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message }));
}

/**
 * Parses `input` with `schema`; on failure throws a {@link ValidationError} whose message names each
 * bad field and whose details list them.
 */
export function parseOrThrow<S extends z.ZodMiniType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = toFieldIssues(result.error);
  const summary = issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ');
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  throw new ValidationError(`invalid ${what}: ${summary}${more}`, { details: { issues } });
}
