import { getHeapStatistics } from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { idleCollection, type IdleCollection } from '../../functions/local/idle-collection.mjs';

describe('idle collection (local host threads)', () => {
  let idle: IdleCollection | undefined;
  afterEach(() => {
    idle?.stop();
    idle = undefined;
    vi.useRealTimers();
  });

  it('collects once a whole interval passes without a request, after enough requests', () => {
    vi.useFakeTimers();
    const collect = vi.fn();
    const onCollected = vi.fn();
    idle = idleCollection({ idleMs: 1_000, minRequests: 3, collect, onCollected });
    for (let i = 0; i < 5; i++) idle.noted();
    // The interval the requests arrived in was a busy one.
    vi.advanceTimersByTime(1_000);
    expect(collect).not.toHaveBeenCalled();
    // The next one saw none: idle.
    vi.advanceTimersByTime(1_000);
    expect(collect).toHaveBeenCalledTimes(1);
    expect(onCollected).toHaveBeenCalledWith(5);
    // Nothing served since: no second collection, however long it stays idle.
    vi.advanceTimersByTime(10_000);
    expect(collect).toHaveBeenCalledTimes(1);
  });

  it('never collects during a burst, nor after fewer requests than the minimum', () => {
    vi.useFakeTimers();
    const collect = vi.fn();
    idle = idleCollection({ idleMs: 1_000, minRequests: 100, collect });
    // A request every 500 ms: no interval is idle.
    for (let t = 0; t < 20_000; t += 500) {
      idle.noted();
      vi.advanceTimersByTime(500);
    }
    expect(collect).not.toHaveBeenCalled();
    // 40 requests, then idle: below the minimum, so no collection either.
    vi.advanceTimersByTime(5_000);
    expect(collect).not.toHaveBeenCalled();
    // The count carries over: 60 more reach the minimum, and the next idle spell collects.
    for (let i = 0; i < 60; i++) idle.noted();
    vi.advanceTimersByTime(2_000);
    expect(collect).toHaveBeenCalledTimes(1);
  });

  it('stop() ends the checks', () => {
    vi.useFakeTimers();
    const collect = vi.fn();
    idle = idleCollection({ idleMs: 1_000, minRequests: 1, collect });
    idle.noted();
    idle.stop();
    vi.advanceTimersByTime(5_000);
    expect(collect).not.toHaveBeenCalled();
  });

  it("by default runs V8's own full collection, without --expose-gc, and frees what the burst left", async () => {
    expect(process.execArgv).not.toContain('--expose-gc');
    // A burst's garbage: allocated, used, and unreachable once the function returns.
    const burst = () => Array.from({ length: 300_000 }, (_, i) => ({ i, text: `garbage ${i}` })).length;
    expect(burst()).toBe(300_000);
    const before = getHeapStatistics().used_heap_size;
    const collected = new Promise<number>((resolve) => {
      idle = idleCollection({ idleMs: 20, minRequests: 1, onCollected: resolve });
    });
    idle?.noted();
    expect(await collected).toBe(1);
    const after = getHeapStatistics().used_heap_size;
    // ~300,000 objects with their strings: well over 10 MB freed by the one collection.
    expect(before - after).toBeGreaterThan(10 * 1024 * 1024);
  });
});
