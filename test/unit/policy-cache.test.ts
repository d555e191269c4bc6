import { describe, expect, it } from 'vitest';
import { AttachedPoliciesCache } from '../../functions/core/policy-cache.js';
import type { PolicyBody, PolicyStore, StoredPolicy } from '../../functions/core/policy.js';

/** A policy store in memory that counts its attached-policies reads. */
class CountingPolicyStore implements PolicyStore {
  readonly latest = new Map<string, StoredPolicy>();
  reads = 0;
  /** When set, the next read waits for it (to interleave a PUT). */
  gate: Promise<void> | undefined;
  fail = false;

  async putNextVersion(body: PolicyBody & { name: string }, createdAt: string): Promise<StoredPolicy> {
    const stored = { ...body, version: (this.latest.get(body.name)?.version ?? 0) + 1, createdAt } as StoredPolicy;
    this.latest.set(body.name, stored);
    return stored;
  }
  async getLatest(name: string) {
    return this.latest.get(name);
  }
  async getVersion() {
    return undefined;
  }
  async list() {
    return { items: [...this.latest.values()] };
  }
  async listAttachedTo(functionName: string): Promise<StoredPolicy[]> {
    this.reads += 1;
    const snapshot = [...this.latest.values()].filter((p) => p.functionNames.includes(functionName));
    if (this.gate) await this.gate;
    if (this.fail) throw new Error('throttled');
    return snapshot;
  }
}

const range = (functionNames: string[]): PolicyBody & { name: string } => ({ name: 'range', functionNames, rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] }) as PolicyBody & { name: string };

describe('AttachedPoliciesCache', () => {
  it('reads a function once within the TTL and again after it', async () => {
    const store = new CountingPolicyStore();
    let now = 1_000;
    const policies = new AttachedPoliciesCache({ now: () => now }, 5_000).readThrough(store);

    await policies.listAttachedTo('fn');
    now += 4_999;
    await policies.listAttachedTo('fn');
    expect(store.reads).toBe(1);
    now += 1;
    await policies.listAttachedTo('fn');
    expect(store.reads).toBe(2);
  });

  it('answers the next read with the new version after a PUT through another store sharing the cache', async () => {
    const store = new CountingPolicyStore();
    const cache = new AttachedPoliciesCache({ now: () => 0 });
    const onWrite = cache.readThrough(store);
    const routes = cache.invalidatedBy(store);
    expect(await onWrite.listAttachedTo('fn')).toEqual([]);

    await routes.putNextVersion(range(['fn']), '2026-12-01T00:00:00.000Z');

    expect((await onWrite.listAttachedTo('fn')).map((p) => p.version)).toEqual([1]);
    // Detaching applies at once too.
    await routes.putNextVersion(range(['other']), '2026-12-01T00:00:01.000Z');
    expect(await onWrite.listAttachedTo('fn')).toEqual([]);
    expect(store.reads).toBe(3);
  });

  it('does not keep a read that ran across a PUT: the read after the PUT sees the new version', async () => {
    const store = new CountingPolicyStore();
    const cache = new AttachedPoliciesCache({ now: () => 0 });
    const onWrite = cache.readThrough(store);
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    const racing = onWrite.listAttachedTo('fn');

    await cache.invalidatedBy(store).putNextVersion(range(['fn']), '2026-12-01T00:00:00.000Z');
    store.gate = undefined;
    open();

    expect(await racing).toEqual([]);
    expect((await onWrite.listAttachedTo('fn')).map((p) => p.name)).toEqual(['range']);
  });

  it('forgets a failed read, so the next one asks the store again', async () => {
    const store = new CountingPolicyStore();
    const policies = new AttachedPoliciesCache({ now: () => 0 }).readThrough(store);
    store.fail = true;
    await expect(policies.listAttachedTo('fn')).rejects.toThrow('throttled');
    store.fail = false;

    expect(await policies.listAttachedTo('fn')).toEqual([]);
    expect(store.reads).toBe(2);
  });

  it('keeps at most maxEntries functions, dropping the oldest', async () => {
    const store = new CountingPolicyStore();
    const policies = new AttachedPoliciesCache({ now: () => 0 }, 5_000, 2).readThrough(store);
    await policies.listAttachedTo('a');
    await policies.listAttachedTo('b');
    await policies.listAttachedTo('c');
    await policies.listAttachedTo('b');
    expect(store.reads).toBe(3);
    await policies.listAttachedTo('a');
    expect(store.reads).toBe(4);
  });

  it('passes every other call through to the store unchanged', async () => {
    const store = new CountingPolicyStore();
    const policies = new AttachedPoliciesCache({ now: () => 0 }).readThrough(store);
    const stored = await policies.putNextVersion(range(['fn']), '2026-12-01T00:00:00.000Z');
    expect(await policies.getLatest('range')).toEqual(stored);
    expect((await policies.list(10)).items).toEqual([stored]);
  });
});
