import { describe, expect, it } from 'vitest';
import type { Batch, BatchStore } from '../../functions/core/batch.js';
import { BatchItemCache } from '../../functions/core/batch-replay.js';
import type { ExecutorConfigStore, StoredExecutorConfig } from '../../functions/core/executor.js';
import type { PolicyStore } from '../../functions/core/policy.js';

const stored: StoredExecutorConfig = { functionName: 'fn', executor: { type: 'http', url: 'https://model.example.com/' }, updatedAt: '2026-11-26T10:00:00.000Z' };

function countingStore(): ExecutorConfigStore & { gets: string[] } {
  const gets: string[] = [];
  return { gets, put: async () => stored, get: async (fn) => (gets.push(fn), fn === 'fn' ? stored : undefined) };
}

describe('BatchItemCache', () => {
  it("reads each function's executor once per batch, and again for another batch", async () => {
    const store = countingStore();
    const cache = new BatchItemCache();

    const a = cache.executorsFor(store, 'BATCH-A');
    expect(await a.get('fn')).toEqual(stored);
    expect(await a.get('fn')).toEqual(stored);
    expect(await cache.executorsFor(store, 'BATCH-A').get('fn')).toEqual(stored);
    expect(await a.get('other')).toBeUndefined();
    await cache.executorsFor(store, 'BATCH-B').get('fn');

    expect(store.gets).toEqual(['fn', 'other', 'fn']);
  });

  it('forgets a failed read so the next item tries again', async () => {
    let calls = 0;
    const flaky: ExecutorConfigStore = { put: async () => stored, get: async () => (++calls === 1 ? Promise.reject(new Error('throttled')) : stored) };
    const cache = new BatchItemCache();

    await expect(cache.executorsFor(flaky, 'B').get('fn')).rejects.toThrow('throttled');
    expect(await cache.executorsFor(flaky, 'B').get('fn')).toEqual(stored);
    expect(calls).toBe(2);
  });

  it("resolves a batch's replay settings once and refuses an unknown batch", async () => {
    let reads = 0;
    const batch = { batchId: 'B', request: { mode: 'Strict' } } as Batch;
    const batches = { get: async (id: string) => (reads++, id === 'B' ? batch : undefined) } as unknown as BatchStore;
    const deps = { batches, policies: {} as PolicyStore };
    const cache = new BatchItemCache();

    const first = await cache.preparedFor(deps, 'B');
    const second = await cache.preparedFor(deps, 'B');

    expect(first).toBe(second);
    expect(first.mode).toBe('Strict');
    expect(reads).toBe(1);
    await expect(cache.preparedFor(deps, 'MISSING')).rejects.toMatchObject({ name: 'BatchNotFoundError' });
  });
});
