/**
 * Environment configuration, read once at module scope and validated: a Lambda whose configuration
 * is missing fails at init with a message naming the variable, never later with an undefined name.
 * Which variables a Lambda reads is declared in the manifest (`LAMBDAS[name].env`); the schema of
 * each variable is here, once.
 */
import * as z from 'zod/mini';
import { SIMILARITY_PROVIDERS } from './adapters/similarity-provider.js';
import { LAMBDAS, type EnvVarName, type LambdaEnvNames, type LambdaName } from './api/manifest.js';

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

/** The schema of every variable a handler may read. */
export const ENV_VARS = {
  TABLE_NAME: required(),
  STATE_MACHINE_ARN: required(),
  EVENT_BUS_NAME: required(),
  SIMILARITY_PROVIDER: z._default(z.enum(SIMILARITY_PROVIDERS), 'lexical'),
  EXECUTOR_ALLOW_PRIVATE_NETWORKS: flag(),
  /** The ARN prefix of the secrets `secretHeaders` may name (what the replaying functions may read). */
  EXECUTOR_SECRET_ARN_PREFIX: required(),
  CURSOR_SECRET_ARN: required(),
  AUDIT_BUCKET: required(),
  AUDIT_KEY_ID: required(),
  /** Minutes per digest window (cdk.json `digestIntervalMinutes`). */
  DIGEST_INTERVAL_MINUTES: z.pipe(z.string().check(z.regex(/^[1-9]\d{0,4}$/, 'must be a whole number of minutes')), z.transform(Number)),
  MANIFEST_BUCKET: required(),
  /** Buckets (comma-separated, possibly none) whose objects `snapshotManifest` may name (cdk.json `idManifestBuckets`). */
  ID_MANIFEST_BUCKETS: z.pipe(
    z.optional(z.string().check(z.regex(/^(?:[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?:,[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])*)?$/, 'must be bucket names separated by commas (or empty)'))),
    z.transform((v) => (v === undefined || v === '' ? [] : v.split(','))),
  ),
} as const satisfies Record<EnvVarName, z.ZodMiniType>;

/** The validated configuration of one Lambda: the variables its manifest entry declares. */
export type LambdaConfig<N extends LambdaName> = { [K in LambdaEnvNames<N>]: z.infer<(typeof ENV_VARS)[K]> };

/**
 * The configuration of Lambda `name` from an environment (default `process.env`): exactly the
 * variables its manifest entry declares, each validated by its schema. Throws naming every bad one.
 */
export function lambdaEnv<N extends LambdaName>(name: N, env: NodeJS.ProcessEnv = process.env): LambdaConfig<N> {
  const shape: Record<string, z.ZodMiniType> = {};
  for (const variable of LAMBDAS[name].env as readonly EnvVarName[]) shape[variable] = ENV_VARS[variable];
  return loadEnv(z.object(shape), env) as LambdaConfig<N>;
}
