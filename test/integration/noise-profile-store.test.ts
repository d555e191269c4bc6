import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/dynamodb/keys.js';
import { DynamoNoiseProfileStore } from '../../functions/adapters/dynamodb/noise-profile-store.js';
import type { NoiseProfile } from '../../functions/core/noise.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

function learned(functionName: string, batchId: string, createdAt: string): Omit<NoiseProfile, 'version'> {
  return {
    functionName,
    executor: 'http https://model.example/v2',
    modelVersions: ['2026-10'],
    similarityProvider: 'local',
    sampleSize: 30,
    pairs: 30,
    numericSafetyFactor: 2,
    fields: [
      { path: 'outputs.score', pairs: 30, differed: 12, class: 'numeric-noise', spreadPercent: 1.5 },
      { path: 'outputs.decision', pairs: 30, differed: 0, class: 'stable' },
    ],
    batchId,
    createdAt,
  };
}

describe('DynamoNoiseProfileStore (dynalite)', () => {
  let dynamo: TestDynamo;
  let store: DynamoNoiseProfileStore;

  beforeAll(async () => {
    dynamo = await startTestDynamo();
    store = new DynamoNoiseProfileStore(dynamo.doc, dynamo.tableName);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  async function versions(functionName: string): Promise<{ version: unknown; batchId: unknown }[]> {
    const res = await dynamo.doc.query({
      TableName: dynamo.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
      ExpressionAttributeValues: { ':pk': keys.noiseProfileLatest(functionName).pk, ':v': 'V#' },
      ConsistentRead: true,
    });
    return (res.Items ?? []).map((i) => ({ version: i['version'], batchId: i['batchId'] }));
  }

  it('stores each learning batch as the next version and moves LATEST to it', async () => {
    const v1 = await store.putNextVersion(learned('score_fn', 'B1', '2026-11-01T00:00:00.000Z'));
    const v2 = await store.putNextVersion(learned('score_fn', 'B2', '2026-11-02T00:00:00.000Z'));
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(await store.getLatest('score_fn')).toEqual(v2);
    expect(await store.getVersion('score_fn', 1)).toEqual(v1);
  });

  it('returns the version a retried batch stored, even after another batch stored a newer one', async () => {
    const first = await store.putNextVersion(learned('retry_fn', 'A', '2026-11-01T00:00:00.000Z'));
    const other = await store.putNextVersion(learned('retry_fn', 'B', '2026-11-01T00:05:00.000Z'));
    // A's Stats step is retried: it learns the same profile again (a later clock) and stores it.
    const again = await store.putNextVersion(learned('retry_fn', 'A', '2026-11-01T00:10:00.000Z'));

    expect(again).toEqual(first);
    expect(await versions('retry_fn')).toEqual([
      { version: 1, batchId: 'A' },
      { version: 2, batchId: 'B' },
    ]);
    expect(await store.getLatest('retry_fn')).toEqual(other);
  });

  it('moves LATEST to a version whose writer died before moving it, when its batch is retried', async () => {
    const before = await store.putNextVersion(learned('crash_fn', 'OLD', '2026-11-01T00:00:00.000Z'));
    // The attempt stored V#2 and died before its LATEST write.
    const orphan: NoiseProfile = { ...learned('crash_fn', 'NEW', '2026-11-02T00:00:00.000Z'), version: 2 };
    await dynamo.doc.put({ TableName: dynamo.tableName, Item: { ...keys.noiseProfileVersion('crash_fn', 2), itemType: 'noise-profile', ...orphan } });
    expect(await store.getLatest('crash_fn')).toEqual(before);

    const retried = await store.putNextVersion(learned('crash_fn', 'NEW', '2026-11-02T00:01:00.000Z'));

    expect(retried).toEqual(orphan);
    expect(await store.getLatest('crash_fn')).toEqual(orphan);
    expect((await versions('crash_fn')).map((v) => v.version)).toEqual([1, 2]);
  });

  it('leaves LATEST on a newer version when an older batch is retried', async () => {
    await store.putNextVersion(learned('keep_fn', 'X', '2026-11-01T00:00:00.000Z'));
    const newer = await store.putNextVersion(learned('keep_fn', 'Y', '2026-11-01T00:01:00.000Z'));
    await store.putNextVersion(learned('keep_fn', 'X', '2026-11-01T00:02:00.000Z'));
    expect(await store.getLatest('keep_fn')).toEqual(newer);
  });

  it('gives each of many learning batches that finish at once its own consecutive version', async () => {
    // With 5 attempts and no pause, 12 batches storing at once lost races until one gave up (409).
    const batchIds = Array.from({ length: 12 }, (_, i) => `C${i}`);
    const stored = await Promise.all(batchIds.map((b) => store.putNextVersion(learned('crowded_fn', b, '2026-11-03T00:00:00.000Z'))));
    expect(stored.map((p) => p.version).sort((a, b) => a - b)).toEqual(batchIds.map((_, i) => i + 1));
    expect((await versions('crowded_fn')).map((v) => v.batchId).sort()).toEqual([...batchIds].sort());
    expect((await store.getLatest('crowded_fn'))?.version).toBe(12);
  });

  it('answers 503 NOISE_PROFILE_BUSY, storing nothing, when it cannot take a version in its attempts', async () => {
    await store.putNextVersion(learned('busy_fn', 'first', '2026-11-03T00:00:00.000Z'));
    // Every attempt loses: between its read of the highest version and its write, a rival batch stores that version.
    let rivals = 0;
    const doc = dynamo.doc;
    const contestedDoc = Object.assign(Object.create(doc) as typeof doc, {
      put: async (input: Parameters<typeof doc.put>[0]) => {
        if (input.Item?.['batchId'] === 'loser' && String(input.Item['sk']).startsWith('V#')) {
          await store.putNextVersion(learned('busy_fn', `rival${rivals++}`, '2026-11-03T00:00:00.000Z'));
        }
        return doc.put(input);
      },
    });
    const pauses: number[] = [];
    const contested = new DynamoNoiseProfileStore(contestedDoc, dynamo.tableName, { versionAttempts: 3, pause: (retry) => Promise.resolve(void pauses.push(retry)) });

    await expect(contested.putNextVersion(learned('busy_fn', 'loser', '2026-11-03T00:00:00.000Z'))).rejects.toMatchObject({ code: 'NOISE_PROFILE_BUSY', retryAfterSeconds: 1 });
    expect(rivals).toBe(3);
    expect(pauses).toEqual([1, 2]);
    expect((await versions('busy_fn')).map((v) => v.batchId)).toEqual(['first', 'rival0', 'rival1', 'rival2']);
  });

  it('answers nothing for a function without profiles', async () => {
    expect(await store.getLatest('none_fn')).toBeUndefined();
    expect(await store.getVersion('none_fn', 1)).toBeUndefined();
  });
});
