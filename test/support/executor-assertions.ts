import { expect } from 'vitest';
import { ExecutorError, type ExecutorErrorCode } from '../../functions/core/executor.js';
import type { TransportAnswer } from '../../functions/adapters/executors/pinned-transport.js';

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

/**
 * A transport answer held in memory, as a fake transport gives it: `body` is read up to the
 * caller's limit like a streamed one. `discarded`/`reads` say what the caller did with it.
 */
export function answerOf(status: number, body: string, headers: Readonly<Record<string, string>> = {}): TransportAnswer & { discarded: boolean; reads: number } {
  const bytes = Buffer.from(body);
  const lower = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  const answer = {
    status,
    discarded: false,
    reads: 0,
    header: (name: string) => lower.get(name),
    read: async (limit: number) => {
      answer.reads += 1;
      return { bytes: bytes.subarray(0, limit), complete: bytes.length <= limit };
    },
    discard: () => void (answer.discarded = true),
  };
  return answer;
}
