/**
 * NoiseProfileStore over DynamoDB, versioned like policies: `NOISE#<functionName>` / `V#<version>`
 * items written once with a conditional put, and `LATEST` a copy of the newest. The next version
 * comes from the highest stored `V#` item. A batch stores at most one version: a retried Stats step
 * finds the version its earlier attempt stored (whatever versions other batches stored since) and
 * returns it, first moving `LATEST` to it if that attempt died between the two writes.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DocumentClient } from './document-client.js';
import { ServiceBusyError } from '../../core/errors.js';
import type { NoiseProfile, NoiseProfileStore } from '../../core/noise.js';
import { translateWriteError } from './errors.js';
import { keys } from './keys.js';
import { newestVersionItem, queryEach } from './paging.js';
import { jitteredPause, VERSION_ATTEMPTS } from './policy-store.js';

export interface NoiseProfileStoreOptions {
  /** Attempts at taking the next version (default: as many as a policy's, {@link VERSION_ATTEMPTS}). */
  versionAttempts?: number;
  /** The pause before retry `retry` (1, 2, …); full jitter by default, as for policies. */
  pause?: (retry: number) => Promise<void>;
}

function toProfile(item: Record<string, unknown>): NoiseProfile {
  const { pk: _pk, sk: _sk, itemType: _t, ...profile } = item;
  return profile as unknown as NoiseProfile;
}

export class DynamoNoiseProfileStore implements NoiseProfileStore {
  private readonly versionAttempts: number;
  private readonly pause: (retry: number) => Promise<void>;

  constructor(
    private readonly doc: DocumentClient,
    private readonly tableName: string,
    options: NoiseProfileStoreOptions = {},
  ) {
    this.versionAttempts = options.versionAttempts ?? VERSION_ATTEMPTS;
    this.pause = options.pause ?? jitteredPause;
  }

  private async highest(functionName: string): Promise<NoiseProfile | undefined> {
    const item = await newestVersionItem(this.doc, this.tableName, keys.noiseProfileLatest(functionName).pk);
    return item ? toProfile(item) : undefined;
  }

  /**
   * The version `batchId` stored, if any. A function has one version per learning batch (a handful,
   * each asked for by a user), so reading them all is cheap; only the matching one is returned.
   */
  private async storedBy(functionName: string, batchId: string): Promise<NoiseProfile | undefined> {
    let found: NoiseProfile | undefined;
    await queryEach(
      this.doc,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        FilterExpression: 'batchId = :b',
        ExpressionAttributeValues: { ':pk': keys.noiseProfileLatest(functionName).pk, ':v': 'V#', ':b': batchId },
        ConsistentRead: true,
      },
      (item) => {
        found ??= toProfile(item);
      },
    );
    return found;
  }

  /** Moves `LATEST` to `profile` unless it already holds it or a newer version. */
  private async moveLatest(profile: NoiseProfile): Promise<void> {
    try {
      await this.doc.put({
        TableName: this.tableName,
        Item: { ...keys.noiseProfileLatest(profile.functionName), itemType: 'noise-profile', ...profile },
        ConditionExpression: 'attribute_not_exists(pk) OR version < :v',
        ExpressionAttributeValues: { ':v': profile.version },
      });
    } catch (err) {
      // LATEST already holds this version or a newer one: it is right as it is.
      if (!(err instanceof ConditionalCheckFailedException)) throw translateWriteError(err, 'noise profile');
    }
  }

  async putNextVersion(body: Omit<NoiseProfile, 'version'>): Promise<NoiseProfile> {
    const earlier = await this.storedBy(body.functionName, body.batchId);
    if (earlier !== undefined) {
      await this.moveLatest(earlier);
      return earlier;
    }
    // Learning batches of one function that finish together race for the next number, as policy
    // PUTs do: each lost race means another batch stored its version, so pause and read again.
    for (let attempt = 0; attempt < this.versionAttempts; attempt++) {
      if (attempt > 0) await this.pause(attempt);
      const highest = await this.highest(body.functionName);
      if (highest?.batchId === body.batchId) {
        // Another attempt for the same batch stored it meanwhile.
        await this.moveLatest(highest);
        return highest;
      }
      const profile: NoiseProfile = { ...body, version: (highest?.version ?? 0) + 1 };
      try {
        await this.doc.put({ TableName: this.tableName, Item: { ...keys.noiseProfileVersion(profile.functionName, profile.version), itemType: 'noise-profile', ...profile }, ConditionExpression: 'attribute_not_exists(pk)' });
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) continue; // a concurrent writer took this version
        throw translateWriteError(err, 'noise profile');
      }
      await this.moveLatest(profile);
      return profile;
    }
    throw new ServiceBusyError(`the noise profile of '${body.functionName}' is being stored by many learning batches at once: no version could be taken in ${this.versionAttempts} attempts; nothing was stored, learn it again`, {
      code: 'NOISE_PROFILE_BUSY',
      retryAfterSeconds: 1,
    });
  }

  async getLatest(functionName: string): Promise<NoiseProfile | undefined> {
    const res = await this.doc.get({ TableName: this.tableName, Key: keys.noiseProfileLatest(functionName), ConsistentRead: true });
    return res.Item ? toProfile(res.Item) : undefined;
  }

  async getVersion(functionName: string, version: number): Promise<NoiseProfile | undefined> {
    const res = await this.doc.get({ TableName: this.tableName, Key: keys.noiseProfileVersion(functionName, version), ConsistentRead: true });
    return res.Item ? toProfile(res.Item) : undefined;
  }
}
