/**
 * Schemas for JSON values and numbers that DynamoDB can store and give back unchanged (kept apart
 * from snapshot.ts so that modules the snapshot schema uses, such as dependencies.ts, can share
 * them; snapshot.ts re-exports them).
 */
import * as z from 'zod/mini';
import type { JsonObject, JsonValue } from './json.js';

/** DynamoDB numbers: 38 significant digits, magnitude 1e-130..9.99e125; JS loses integers beyond 2^53. */
function jsonValueProblem(value: unknown, depth = 0): string | undefined {
  // DynamoDB allows 32 levels per item; a value already sits three levels down (outputs[i].value).
  if (depth > 28) return 'nested deeper than 28 levels (DynamoDB stores at most 32 per item)';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'numbers must be finite';
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      return `integer ${value} is beyond 2^53-1 and cannot be kept exactly; send it as a string`;
    }
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-130 || abs >= 1e126)) return `number ${value} is outside the storable range (1e-130 to 9.99e125)`;
    return undefined;
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      const p = jsonValueProblem(v, depth + 1);
      if (p) return p;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) {
      const p = jsonValueProblem(v, depth + 1);
      if (p) return p;
    }
  }
  return undefined;
}

/**
 * A number DynamoDB can store and the DocumentClient can give back unchanged: finite, an integer
 * only within ±(2^53−1), a magnitude within 1e-130..9.99e125 (else 0). `1e300` in a number field
 * is refused with a 400 naming it, never sent to DynamoDB to come back as a 500.
 */
export const StorableNumberSchema = z.number().check(
  z.superRefine((value, ctx) => {
    const problem = jsonValueProblem(value);
    if (problem) ctx.issues.push({ code: 'custom', message: problem, input: value });
  }),
);

/**
 * Any JSON value, structurally. Recursive through itself by name, so the OpenAPI document describes
 * it as one component (`JsonValue`) that refers to itself, not as an anonymous inline definition.
 */
export const JsonTreeSchema: z.ZodMiniType<JsonValue> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(JsonTreeSchema), z.record(z.string(), JsonTreeSchema)]));

/** Any JSON value that DynamoDB can store and give back unchanged. */
export const JsonValueSchema = JsonTreeSchema.check(
  z.superRefine((value, ctx) => {
    const problem = jsonValueProblem(value);
    if (problem) ctx.issues.push({ code: 'custom', message: problem, input: value });
  }),
);

export const JsonObjectSchema = z.record(z.string(), JsonValueSchema) as unknown as z.ZodMiniType<JsonObject>;
