import { expect } from 'vitest';
import { ExecutorError, type ExecutorErrorCode } from '../../functions/core/executor.js';

/** The ExecutorError `promise` rejects with; fails the test when it resolves or rejects otherwise. */
export async function failure(promise: Promise<unknown>): Promise<ExecutorError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ExecutorError) return err;
    throw err;
  }
  throw new Error('expected the executor to fail');
}

/** Asserts the error's code, showing its message when it differs. */
export function expectCode(err: ExecutorError, code: ExecutorErrorCode): void {
  expect(err.code, err.message).toBe(code);
}
