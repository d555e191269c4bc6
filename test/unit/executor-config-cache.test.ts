import { describe, expect, it } from 'vitest';
import { CachedExecutorConfigStore } from '../../functions/core/executor-config-cache.js';
import type { ExecutorConfig, ExecutorConfigStore, StoredExecutorConfig } from '../../functions/core/executor.js';

class CountingStore implements ExecutorConfigStore {
  readonly items = new Map<string, StoredExecutorConfig>();
  reads = 0;
  async put(functionName: string, executor: ExecutorConfig): Promise<StoredExecutorConfig> {
    const stored = { functionName, executor, updatedAt: new Date(0).toISOString() };
    this.items.set(functionName, stored);
    return stored;
  }
  async get(functionName: string): Promise<StoredExecutorConfig | undefined> {
    this.reads += 1;
    return this.items.get(functionName);
  }
}

const v1: ExecutorConfig = { type: 'http', url: 'https://model.example.com/v1' };
const v2: ExecutorConfig = { type: 'http', url: 'https://model.example.com/v2' };

describe('CachedExecutorConfigStore', () => {
  it('reads a function once within the TTL and again after it', async () => {
    const store = new CountingStore();
    await store.put('fn', v1);
    let now = 1_000;
    const cache = new CachedExecutorConfigStore(store, { now: () => now }, 5_000);

    await cache.get('fn');
    now += 4_999;
    await cache.get('fn');
    expect(store.reads).toBe(1);
    now += 1;
    await cache.get('fn');
    expect(store.reads).toBe(2);
  });

  it('answers a replay right after a PUT through it with the new executor, without a read', async () => {
    const store = new CountingStore();
    await store.put('fn', v1);
    const cache = new CachedExecutorConfigStore(store, { now: () => 0 });
    expect((await cache.get('fn'))?.executor).toEqual(v1);

    await cache.put('fn', v2);

    expect((await cache.get('fn'))?.executor).toEqual(v2);
    expect(store.reads).toBe(1);
  });

  it('remembers that a function has no executor for the TTL too, and forgets a failed read', async () => {
    const store = new CountingStore();
    const cache = new CachedExecutorConfigStore(store, { now: () => 0 });
    expect(await cache.get('none')).toBeUndefined();
    expect(await cache.get('none')).toBeUndefined();
    expect(store.reads).toBe(1);

    let fail = true;
    const flaky: ExecutorConfigStore = { put: (f, c) => store.put(f, c), get: async () => (fail ? Promise.reject(new Error('throttled')) : undefined) };
    const c2 = new CachedExecutorConfigStore(flaky, { now: () => 0 });
    await expect(c2.get('x')).rejects.toThrow('throttled');
    fail = false;
    await expect(c2.get('x')).resolves.toBeUndefined();
  });
});
