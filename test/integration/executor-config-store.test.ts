import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptExecutorConfigError, DynamoExecutorConfigStore } from '../../functions/adapters/dynamodb/executor-config-store.js';
import { keys } from '../../functions/adapters/dynamodb/keys.js';
import type { Clock } from '../../functions/core/ports.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

describe('DynamoExecutorConfigStore (dynalite)', () => {
  let dynamo: TestDynamo;
  let now = Date.parse('2026-11-02T10:00:00.000Z');
  const clock: Clock = { now: () => now };
  let store: DynamoExecutorConfigStore;

  beforeAll(async () => {
    dynamo = await startTestDynamo();
    store = new DynamoExecutorConfigStore({ doc: dynamo.doc, tableName: dynamo.tableName, clock });
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('returns undefined for a function with no executor', async () => {
    expect(await store.get('never_registered')).toBeUndefined();
  });

  it('stores a configuration at FN#<functionName>/EXECUTOR with type "executor" and reads it back', async () => {
    const config = { type: 'http' as const, url: 'http://127.0.0.1:3000/demo/credit/v1', timeoutMs: 5000, headers: { 'x-api-key': 'k' }, models: ['credit-llm'] };

    const stored = await store.put('approve_loan', config);

    expect(stored).toEqual({ functionName: 'approve_loan', executor: config, updatedAt: '2026-11-02T10:00:00.000Z' });
    expect(await store.get('approve_loan')).toEqual(stored);
    const raw = await dynamo.doc.get({ TableName: dynamo.tableName, Key: keys.executor('approve_loan') });
    expect(raw.Item).toMatchObject({ pk: 'FN#approve_loan', sk: 'EXECUTOR', itemType: 'executor', functionName: 'approve_loan', executor: config });
    expect(raw.Item).not.toHaveProperty('type');
  });

  it('replaces the configuration on the next put, with a new updatedAt', async () => {
    await store.put('score_claim', { type: 'lambda', functionArn: 'score-claim' });
    now += 60_000;

    const second = await store.put('score_claim', { type: 'bedrock', modelId: 'amazon.nova-lite-v1:0' });

    expect(await store.get('score_claim')).toEqual({ functionName: 'score_claim', executor: { type: 'bedrock', modelId: 'amazon.nova-lite-v1:0' }, updatedAt: '2026-11-02T10:01:00.000Z' });
    expect(second.updatedAt).toBe('2026-11-02T10:01:00.000Z');
  });

  it('keeps each function apart', async () => {
    await store.put('fn_a', { type: 'openai', baseUrl: 'https://a.example/v1', model: 'm-a' });
    await store.put('fn_b', { type: 'openai', baseUrl: 'https://b.example/v1', model: 'm-b' });
    expect((await store.get('fn_a'))?.executor).toEqual({ type: 'openai', baseUrl: 'https://a.example/v1', model: 'm-a' });
    expect((await store.get('fn_b'))?.executor).toEqual({ type: 'openai', baseUrl: 'https://b.example/v1', model: 'm-b' });
  });

  it('refuses to hand out an item that no longer parses as a configuration', async () => {
    await dynamo.doc.put({ TableName: dynamo.tableName, Item: { ...keys.executor('broken'), itemType: 'executor', functionName: 'broken', executor: { type: 'smtp' }, updatedAt: 'x' } });
    await expect(store.get('broken')).rejects.toBeInstanceOf(CorruptExecutorConfigError);
  });
});
