/**
 * NoiseProfileStore over DynamoDB, versioned like policies: `NOISE#<functionName>` / `V#<version>`
 * items written once with a conditional put, and `LATEST` a copy of the newest. The next version
 * comes from the highest stored `V#` item. A profile whose batch already stored one (a retried
 * Stats step) is not stored twice.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DocumentClient } from './document-client.js';
import { ConflictError } from '../../core/errors.js';
import type { NoiseProfile, NoiseProfileStore } from '../../core/noise.js';
import { translateWriteError } from './errors.js';
import { keys } from './keys.js';
import { newestVersionItem } from './paging.js';

const MAX_ATTEMPTS = 5;

function toProfile(item: Record<string, unknown>): NoiseProfile {
  const { pk: _pk, sk: _sk, itemType: _t, ...profile } = item;
  return profile as unknown as NoiseProfile;
}

export class DynamoNoiseProfileStore implements NoiseProfileStore {
  constructor(
    private readonly doc: DocumentClient,
    private readonly tableName: string,
  ) {}

  private async highest(functionName: string): Promise<NoiseProfile | undefined> {
    const item = await newestVersionItem(this.doc, this.tableName, keys.noiseProfileLatest(functionName).pk);
    return item ? toProfile(item) : undefined;
  }

  async putNextVersion(body: Omit<NoiseProfile, 'version'>): Promise<NoiseProfile> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const highest = await this.highest(body.functionName);
      if (highest?.batchId === body.batchId) return highest;
      const profile: NoiseProfile = { ...body, version: (highest?.version ?? 0) + 1 };
      try {
        await this.doc.put({ TableName: this.tableName, Item: { ...keys.noiseProfileVersion(profile.functionName, profile.version), itemType: 'noise-profile', ...profile }, ConditionExpression: 'attribute_not_exists(pk)' });
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) continue; // a concurrent writer took this version
        throw translateWriteError(err, 'noise profile');
      }
      try {
        await this.doc.put({
          TableName: this.tableName,
          Item: { ...keys.noiseProfileLatest(profile.functionName), itemType: 'noise-profile', ...profile },
          ConditionExpression: 'attribute_not_exists(pk) OR version < :v',
          ExpressionAttributeValues: { ':v': profile.version },
        });
      } catch (err) {
        // A newer version already moved LATEST: ours is stored, LATEST is right as it is.
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
      return profile;
    }
    throw new ConflictError(`the noise profile of '${body.functionName}' is being changed concurrently; try again`, { code: 'NOISE_PROFILE_VERSION_CONFLICT' });
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
