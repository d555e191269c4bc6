/**
 * A read-through cache in front of the executor configurations, for the replay path. A function's
 * executor changes rarely and is read on every replay; caching it for a few seconds takes one
 * DynamoDB read off most replays (the same default Powertools' Parameters utility uses: 5 s).
 *
 * A PUT through this instance replaces its entry at once, so where the same process serves both
 * (the local host, one warm Lambda) a replay right after a PUT uses the new executor. Another warm
 * Lambda instance may use the previous one for up to `ttlMs`.
 */
import type { ExecutorConfig, ExecutorConfigStore, StoredExecutorConfig } from './executor.js';
import type { Clock } from './ports.js';

export const DEFAULT_EXECUTOR_CACHE_TTL_MS = 5_000;

export class CachedExecutorConfigStore implements ExecutorConfigStore {
  private readonly entries = new Map<string, { at: number; value: Promise<StoredExecutorConfig | undefined> }>();

  constructor(
    private readonly store: ExecutorConfigStore,
    private readonly clock: Clock,
    private readonly ttlMs = DEFAULT_EXECUTOR_CACHE_TTL_MS,
    private readonly maxEntries = 1_000,
  ) {}

  async put(functionName: string, config: ExecutorConfig): Promise<StoredExecutorConfig> {
    const stored = await this.store.put(functionName, config);
    this.remember(functionName, Promise.resolve(stored));
    return stored;
  }

  get(functionName: string): Promise<StoredExecutorConfig | undefined> {
    const hit = this.entries.get(functionName);
    if (hit && this.clock.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.store.get(functionName);
    this.remember(functionName, value);
    value.catch(() => this.entries.delete(functionName));
    return value;
  }

  private remember(functionName: string, value: Promise<StoredExecutorConfig | undefined>): void {
    this.entries.delete(functionName);
    this.entries.set(functionName, { at: this.clock.now(), value });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}
