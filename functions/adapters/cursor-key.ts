/** Where a Lambda's cursor-signing secret comes from: the Secrets Manager secret the stack creates. */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { loadEnv, required } from '../config.js';
import { useCursorKey, type CursorKeySource } from './dynamodb/cursor.js';
import { secretsManagerReader, type SecretReader } from './secrets.js';

/** A cursor key derived from the secret at `arn` (read once per process, retried after a failure). */
export function secretCursorKey(read: SecretReader, arn: string): CursorKeySource {
  return async () => createHash('sha256').update(await read(arn)).digest();
}

/**
 * Signs this Lambda's cursors with the deployment's secret, named by `CURSOR_SECRET_ARN` (every
 * API function that pages gets it from the stack, with read access to that one secret). Call once
 * at module scope.
 */
export function useDeploymentCursorKey(read: SecretReader = secretsManagerReader()): void {
  const env = loadEnv(z.object({ CURSOR_SECRET_ARN: required() }));
  useCursorKey(secretCursorKey(read, env.CURSOR_SECRET_ARN));
}
