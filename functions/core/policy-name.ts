/**
 * What a policy name may be, apart from the policy's other schemas (./policy-model.ts): the
 * requests that only name a policy (a replay, a batch, a validation) check the name with it, so
 * that a name that can never exist is a 400 naming the field, not a 404, without building the
 * rule schemas when they load.
 */
import * as z from 'zod/mini';

/** Policy names appear in keys and URL paths, so they are kept to a safe alphabet. */
export const PolicyNameSchema = z.string().check(
  z.minLength(1, 'policy name must not be empty'),
  z.maxLength(128, 'policy name must be at most 128 characters'),
  z.regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'policy name may contain letters, digits, _ . : - and must start with a letter or digit'),
);
