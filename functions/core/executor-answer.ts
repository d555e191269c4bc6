/**
 * Reading an executor's answer (http, lambda, a model's JSON): `{outputs:[{name, value, type?}],
 * executionTimeMs?, dependencies?}`, validated, or an {@link ExecutorMalformedResponseError} naming what is wrong.
 */
import * as z from 'zod/mini';
import { ReportedDependenciesSchema } from './dependencies.js';
import { ExecutorMalformedResponseError } from './executor-errors.js';
import { duplicateKeyProblem, jsonShape, jsonShapeProblem, loneSurrogatePath } from './json-shape.js';
import { issueLine, toFieldIssues } from './schema-util.js';
import { NamedValueSchema, StorableNumberSchema, type NamedValue } from './snapshot.js';

/** What the http and lambda executors (and a model's JSON) answer: `{outputs:[{name, value, type?}], executionTimeMs?}`. */
export const ExecutorAnswerSchema = z.object({
  outputs: z.array(NamedValueSchema).check(
    z.minLength(1, 'an answer needs at least one output'),
    z.maxLength(1000),
    z.superRefine((entries: NamedValue[], ctx) => {
      const seen = new Set<string>();
      entries.forEach((entry, index) => {
        if (seen.has(entry.name)) ctx.issues.push({ code: 'custom', message: `duplicate output name '${entry.name}'`, input: entry.name, path: [index, 'name'] });
        seen.add(entry.name);
      });
    }),
  ),
  executionTimeMs: z.optional(StorableNumberSchema.check(z.gte(0, 'executionTimeMs must be >= 0'))),
  /** The dependency calls the candidate made (see dependencies.ts); optional. */
  dependencies: z.optional(ReportedDependenciesSchema),
});
export type ExecutorAnswer = z.infer<typeof ExecutorAnswerSchema>;

/**
 * Validates a parsed answer. Throws {@link ExecutorMalformedResponseError} naming each bad field
 * (`outputs[0].name: …`). An answer is held to the shape limits of a request body first
 * (json-shape.ts): nested deeper than 64 levels, or holding a `__proto__` key (which every copy
 * would silently drop, recording `{}` for what the model answered), it is malformed, named where.
 */
export function parseExecutorAnswer(answer: unknown, target: string): ExecutorAnswer {
  const shape = jsonShapeProblem(answer);
  if (shape?.kind === 'too-deep') throw new ExecutorMalformedResponseError(`${target} answered with JSON nested deeper than ${shape.max} levels (at ${shape.at}); answers are held to the limits of request bodies`);
  if (shape?.kind === 'unstorable-key') throw new ExecutorMalformedResponseError(`${target} answered with the key "${shape.key}" at ${shape.at}; it cannot be stored and read back faithfully, so the answer is not recorded as something else`);
  const broken = loneSurrogatePath(answer);
  if (broken !== undefined) {
    throw new ExecutorMalformedResponseError(`${target} answered with text that is not valid Unicode (a lone UTF-16 surrogate) at ${broken}; it has no UTF-8 form, so the result could be neither hashed nor stored`);
  }
  const result = ExecutorAnswerSchema.safeParse(answer);
  if (result.success) {
    return {
      outputs: result.data.outputs.map(cleanOutput),
      ...(result.data.executionTimeMs !== undefined && { executionTimeMs: result.data.executionTimeMs }),
      ...(result.data.dependencies !== undefined && { dependencies: result.data.dependencies }),
    };
  }
  const issues = toFieldIssues(result.error);
  const summary = issues.slice(0, 5).map(issueLine).join('; ');
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  throw new ExecutorMalformedResponseError(`${target} answered with an unexpected shape (expected {"outputs":[{"name","value","type"?}],"executionTimeMs"?,"dependencies"?}): ${summary}${more}`);
}

function cleanOutput(entry: NamedValue): NamedValue {
  return entry.type === undefined ? { name: entry.name, value: entry.value } : { name: entry.name, value: entry.value, type: entry.type };
}

/** Parses JSON text from an executor; throws {@link ExecutorMalformedResponseError} when it is not JSON. */
export function parseJsonAnswer(text: string, target: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ExecutorMalformedResponseError(`${target} answered with something that is not JSON (${reason}): ${excerpt(text)}`);
  }
  // As for a request body: JSON.parse keeps the last of a repeated key and says nothing, so the
  // result would record one of two values the executor sent. (A shape problem is named by
  // parseExecutorAnswer; the duplicate search needs the depth bound it checks.)
  const shape = jsonShape(value);
  const duplicate = shape.problem === undefined ? duplicateKeyProblem(text, shape.keys) : undefined;
  if (duplicate !== undefined) {
    throw new ExecutorMalformedResponseError(`${target} answered with the key "${duplicate.key}" twice in the object at ${duplicate.at}; only the last would be kept, so what is recorded would not be what the executor sent (keys must be unique, as in I-JSON, RFC 7493)`);
  }
  return value;
}

/** The first characters of a text, for error messages. */
export function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? JSON.stringify(flat) : `${JSON.stringify(flat.slice(0, max))}…`;
}
