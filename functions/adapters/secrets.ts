/**
 * Reading secrets: on AWS from Secrets Manager by ARN, at call time, through a short cache (a
 * rotated value is picked up within {@link SECRET_CACHE_MS}); locally from the environment
 * (`env:NAME`). Values never leave this module except to the caller that asked for them.
 */
import type { Clock } from '../core/ports.js';
import { systemClock } from '../core/ports.js';

/** How long a secret value read from Secrets Manager is reused. */
export const SECRET_CACHE_MS = 60_000;

/** Reads one secret value by reference (an ARN, or `env:NAME`). */
export type SecretReader = (ref: string) => Promise<string>;

/** Thrown when a secret cannot be read; the message names the reference, never a value. */
export class SecretUnavailableError extends Error {
  constructor(readonly ref: string, reason: string, options?: ErrorOptions) {
    super(`secret ${ref} could not be read: ${reason}`, options);
    this.name = 'SecretUnavailableError';
  }
}

interface GetSecretValue {
  (secretId: string): Promise<string | undefined>;
}

/** Reads Secrets Manager secrets (the client module loaded on first use), cached per ARN. */
export function secretsManagerReader(options: { get?: GetSecretValue; clock?: Clock } = {}): SecretReader {
  const clock = options.clock ?? systemClock;
  const cache = new Map<string, { value: string; until: number }>();
  let client: Promise<GetSecretValue> | undefined;
  const defaultGet: GetSecretValue = async (secretId) => {
    client ??= import('./sdk/secrets-manager-client.js').then(({ createSecretsManagerClient, GetSecretValueCommand }) => {
      const sm = createSecretsManagerClient();
      return async (id: string) => (await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString;
    });
    return (await client)(secretId);
  };
  const get = options.get ?? defaultGet;
  return async (ref) => {
    const now = clock.now();
    const hit = cache.get(ref);
    if (hit && hit.until > now) return hit.value;
    let value: string | undefined;
    try {
      value = await get(ref);
    } catch (err) {
      throw new SecretUnavailableError(ref, err instanceof Error ? err.name : 'error', { cause: err });
    }
    if (value === undefined) throw new SecretUnavailableError(ref, 'it holds no string value');
    cache.set(ref, { value, until: now + SECRET_CACHE_MS });
    return value;
  };
}

/** Reads `env:NAME` references from an environment (the local host's secret store). */
export function environmentReader(env: NodeJS.ProcessEnv = process.env): SecretReader {
  return async (ref) => {
    if (!ref.startsWith('env:')) throw new SecretUnavailableError(ref, 'locally only env:NAME references can be read');
    const value = env[ref.slice(4)];
    if (value === undefined || value === '') throw new SecretUnavailableError(ref, `the environment variable ${ref.slice(4)} is not set`);
    return value;
  };
}
