/** Where a Lambda's cursor-signing secret comes from: the Secrets Manager secret the stack creates. */
import { createHash } from 'node:crypto';
import type { CursorKeySource } from './dynamodb/cursor.js';
import type { SecretReader } from './secrets.js';

/** A cursor key derived from the secret at `arn` (read once per process, retried after a failure). */
export function secretCursorKey(read: SecretReader, arn: string): CursorKeySource {
  return async () => createHash('sha256').update(await read(arn)).digest();
}

