/**
 * Environment configuration, read once at module scope and validated: a Lambda whose configuration
 * is missing fails at init with a message naming the variable, never later with an undefined name.
 */
import * as z from 'zod/mini';

/** Parses `process.env` with a schema; throws naming every bad variable. */
export function loadEnv<S extends z.ZodMiniObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const names = result.error.issues.map((i) => `${String(i.path[0] ?? '?')}: ${i.message}`).join('; ');
    throw new Error(`invalid Lambda environment: ${names}`);
  }
  return result.data;
}

/** A required, non-empty variable. */
export const required = () => z.string().check(z.minLength(1, 'is required'));

/** 'true' / 'false' (default false). */
export const flag = () => z.pipe(z.optional(z.enum(['true', 'false'])), z.transform((v) => v === 'true'));
