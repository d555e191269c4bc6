/**
 * Which policies are attached to each function, remembered for a few seconds, for the on-write
 * path. Every recorded snapshot is validated against its function's attached policies, and most
 * functions have none or the same few for hours: without this, each stream event costs a policy
 * query (an index query on DynamoDB) before anything is evaluated.
 *
 * Freshness (the same contract as the executor-config cache, 5 s like Powertools' Parameters):
 * - a policy version stored through a store wrapped by {@link AttachedPoliciesCache.invalidatedBy}
 *   or {@link AttachedPoliciesCache.readThrough} of the SAME cache clears it before the PUT answers,
 *   so where one process serves both the policy routes and on-write (the local host, which passes
 *   one cache to both) every write acknowledged after the PUT is validated under the new version;
 * - elsewhere (on AWS the policy routes and on-write are separate functions), a warm on-write
 *   instance may validate under the previous set of policies for up to `ttlMs` after a change.
 */
import type { PolicyStore, StoredPolicy } from './policy.js';
import type { Clock } from './ports.js';

export const DEFAULT_POLICY_CACHE_TTL_MS = 5_000;

interface Entry {
  at: number;
  value: Promise<StoredPolicy[]>;
}

export class AttachedPoliciesCache {
  /** Each read is remembered as it starts, so a clear while it runs forgets it too. */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = DEFAULT_POLICY_CACHE_TTL_MS,
    private readonly maxEntries = 1_000,
  ) {}

  /** The policies attached to `functionName`: remembered within the TTL, else read with `load`. */
  attachedTo(functionName: string, load: (functionName: string) => Promise<StoredPolicy[]>): Promise<StoredPolicy[]> {
    const hit = this.entries.get(functionName);
    if (hit !== undefined && this.clock.now() - hit.at < this.ttlMs) return hit.value;
    const entry: Entry = { at: this.clock.now(), value: load(functionName) };
    // A read that fails is not remembered (the next one tries again).
    entry.value.catch(() => {
      if (this.entries.get(functionName) === entry) this.entries.delete(functionName);
    });
    this.entries.delete(functionName);
    this.entries.set(functionName, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return entry.value;
  }

  /** Forgets everything: a new policy version may attach or detach any function. */
  clear(): void {
    this.entries.clear();
  }

  /**
   * `store` with `listAttachedTo` answered through this cache, and `putNextVersion` clearing it
   * (before and after the write: a read racing the write cannot leave the old set behind).
   */
  readThrough(store: PolicyStore): PolicyStore {
    const invalidating = this.invalidatedBy(store);
    return { ...invalidating, listAttachedTo: (functionName) => this.attachedTo(functionName, (fn) => store.listAttachedTo(fn)) };
  }

  /** `store` unchanged for reads, with `putNextVersion` clearing this cache. */
  invalidatedBy(store: PolicyStore): PolicyStore {
    return {
      putNextVersion: async (body, createdAt) => {
        this.clear();
        try {
          return await store.putNextVersion(body, createdAt);
        } finally {
          this.clear();
        }
      },
      getLatest: (name) => store.getLatest(name),
      getVersion: (name, version) => store.getVersion(name, version),
      list: (limit, cursor) => store.list(limit, cursor),
      listAttachedTo: (functionName) => store.listAttachedTo(functionName),
    };
  }
}
