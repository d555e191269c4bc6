/**
 * PolicyStore over DynamoDB. Versions are `POLICY#<name>` / `V#<version>` items written once with a
 * conditional put, sealed (a `contentHash`) and listed in the audit index (GSI3) like every other
 * immutable record, so the audit digests seal them; `LATEST` is a copy of the newest (not in the
 * audit index: the version is the record), and it carries the sparse GSI1 key that lists
 * every policy. The next version number comes from the highest stored `V#` item, not from LATEST,
 * so a writer that died between the two puts never blocks the next one.
 *
 * Concurrent PUTs of one name race for the same next number; the losers try again, after a
 * jittered pause and a fresh read of the highest version, so each PUT gets its own version and
 * the versions stay consecutive. A caller never sees the race: only when it cannot be won within
 * {@link VERSION_ATTEMPTS} attempts is the answer a 503 (nothing stored; safe to send again).
 */
import { ServiceBusyError } from '../../core/errors.js';
import type { PolicyBody, StoredPolicy } from '../../core/policy-model.js';
import { buildStoredPolicy, type PolicyStore } from '../../core/policy-port.js';
import { policyRecordId } from '../../core/records.js';
import { newestVersionItem, queryEach, queryPage, type QueryInput } from './paging.js';
import { DynamoStore } from './base-store.js';
import type { DocumentClient } from './document-client.js';
import { auditKeys, contentOf, keys, listKeys } from './keys.js';
import { GSI1 } from './table-definition.js';

/**
 * Attempts at taking the next version number. Each lost race means another writer stored a
 * version, so N concurrent writers need at most N attempts in the worst order; with jittered
 * pauses 20 concurrent PUTs of one name take a handful each (test/e2e/validation.e2e.test.ts).
 */
export const VERSION_ATTEMPTS = 25;
/** Full-jitter pause before retry `retry` (1, 2, …): up to 5 ms × 2^retry, at most 100 ms. */
export function jitteredPause(retry: number): Promise<void> {
  const ms = Math.random() * Math.min(100, 5 * 2 ** retry);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface PolicyStoreOptions {
  /** Attempts at taking the next version before answering 503 (default {@link VERSION_ATTEMPTS}). */
  versionAttempts?: number;
  /** The pause before retry `retry` (1, 2, …); full jitter by default. */
  pause?: (retry: number) => Promise<void>;
}

/** The policy an item holds, exactly as stored (keys and bookkeeping removed): its contentHash is checked against this. */
function toPolicy(item: Record<string, unknown>): StoredPolicy {
  return contentOf(item) as unknown as StoredPolicy;
}

export class DynamoPolicyStore extends DynamoStore implements PolicyStore {
  private readonly versionAttempts: number;
  private readonly pause: (retry: number) => Promise<void>;

  constructor(doc: DocumentClient, tableName: string, options: PolicyStoreOptions = {}) {
    super(doc, tableName);
    this.versionAttempts = options.versionAttempts ?? VERSION_ATTEMPTS;
    this.pause = options.pause ?? jitteredPause;
  }

  private async highestVersion(name: string): Promise<number> {
    const version = (await newestVersionItem(this.doc, this.tableName, keys.policyLatest(name).pk, 'version'))?.version;
    return typeof version === 'number' ? version : 0;
  }

  async putNextVersion(body: PolicyBody & { name: string }, createdAt: string): Promise<StoredPolicy> {
    for (let attempt = 0; attempt < this.versionAttempts; attempt++) {
      if (attempt > 0) await this.pause(attempt);
      const policy = buildStoredPolicy(body, (await this.highestVersion(body.name)) + 1, createdAt);
      // A concurrent writer took this version: pause, read the highest again and retry.
      if (!(await this.putNew({ ...keys.policyVersion(policy.name, policy.version), ...auditKeys('policy', policyRecordId(policy.name, policy.version), policy.createdAt), itemType: 'policy', ...policy }, 'policy'))) continue;
      // False when a newer version already moved LATEST: ours is stored, LATEST is right as it is.
      await this.putNew({ ...keys.policyLatest(policy.name), ...listKeys.policy(policy.name), itemType: 'policy', ...policy }, 'policy', {
        expression: 'attribute_not_exists(pk) OR version < :v',
        values: { ':v': policy.version },
      });
      return policy;
    }
    throw new ServiceBusyError(`policy '${body.name}' is being changed by many writers at once: no version could be taken in ${this.versionAttempts} attempts; nothing was stored, send the same request again`, {
      code: 'POLICY_BUSY',
      retryAfterSeconds: 1,
    });
  }

  async getLatest(name: string): Promise<StoredPolicy | undefined> {
    const res = await this.doc.get({ TableName: this.tableName, Key: keys.policyLatest(name), ConsistentRead: true });
    return res.Item ? toPolicy(res.Item) : undefined;
  }

  async getVersion(name: string, version: number): Promise<StoredPolicy | undefined> {
    const res = await this.doc.get({ TableName: this.tableName, Key: keys.policyVersion(name, version), ConsistentRead: true });
    return res.Item ? toPolicy(res.Item) : undefined;
  }

  async list(limit: number, cursor?: string): Promise<{ items: StoredPolicy[]; nextCursor?: string }> {
    return queryPage(this.doc, this.allPolicies(), { limit, cursor, binding: 'policies' }, toPolicy);
  }

  async listAttachedTo(functionName: string): Promise<StoredPolicy[]> {
    const out: StoredPolicy[] = [];
    await queryEach(
      this.doc,
      { ...this.allPolicies(), FilterExpression: 'contains(functionNames, :fn)', ExpressionAttributeValues: { ':pk': listKeys.policyPartition, ':fn': functionName } },
      (item) => out.push(toPolicy(item)),
    );
    return out;
  }

  /** The latest version of every policy: the sparse GSI1 partition their LATEST items carry. */
  private allPolicies(): QueryInput {
    return {
      TableName: this.tableName,
      IndexName: GSI1.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': GSI1.partitionKey },
      ExpressionAttributeValues: { ':pk': listKeys.policyPartition },
    };
  }

}
