import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalStream, type LocalStreamOptions } from '../../functions/local/stream.js';

/**
 * A DynamoDBClient whose requests never leave the process: a middleware after the stream's tap
 * answers every PutItem with success, or fails the ones whose pk is listed in `rejectPks`.
 */
function fakeClient(rejectPks: ReadonlySet<string> = new Set()): DynamoDBClient {
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  client.middlewareStack.add(
    () => async (args) => {
      const pk = (args.input as { Item?: { pk?: { S?: string } } }).Item?.pk?.S ?? '';
      if (rejectPks.has(pk)) throw Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
      return { output: { $metadata: {} }, response: {} };
    },
    { step: 'finalizeRequest', priority: 'high', name: 'answerLocally' },
  );
  return client;
}

/** Puts a snapshot-shaped item; `condition: null` sends it without a ConditionExpression. */
function putSnapshot(client: DynamoDBClient, id: string, sk = 'SNAP', condition: string | null = 'attribute_not_exists(pk)'): Promise<unknown> {
  return client.send(
    new PutItemCommand({
      TableName: 't',
      Item: { pk: { S: id }, sk: { S: sk }, functionName: { S: 'f' } },
      ...(condition !== null && { ConditionExpression: condition }),
    }),
  );
}

const options: LocalStreamOptions = { batchSize: 2, batchingWindowMs: 5, maxRetries: 2, retryDelayMs: 1, tableArn: 'arn:aws:dynamodb:local:000000000000:table/t' };

/** The pks of one delivered event, in order. */
function pks(e: DynamoDBStreamEvent): string[] {
  return e.Records.map((r) => String(r.dynamodb?.NewImage?.pk?.S));
}

const clients: DynamoDBClient[] = [];
function tapped(stream: LocalStream, rejectPks?: ReadonlySet<string>): DynamoDBClient {
  const client = fakeClient(rejectPks);
  stream.attach(client);
  clients.push(client);
  return client;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

describe('LocalStream', () => {
  it('delivers snapshot inserts as INSERT NEW_IMAGE records, in order, in batches of batchSize', async () => {
    // Arrange
    const stream = new LocalStream({ ...options, batchSize: 2 });
    const events: DynamoDBStreamEvent[] = [];
    stream.setHandler(async (e) => void events.push(e));
    const client = tapped(stream);

    // Act
    for (const id of ['s1', 's2', 's3', 's4', 's5']) await putSnapshot(client, id);
    await stream.drain();

    // Assert
    expect(events.map(pks)).toEqual([['s1', 's2'], ['s3', 's4'], ['s5']]);
    const first = events[0]?.Records[0];
    expect(first).toMatchObject({ eventName: 'INSERT', eventSource: 'aws:dynamodb', dynamodb: { StreamViewType: 'NEW_IMAGE', Keys: { pk: { S: 's1' }, sk: { S: 'SNAP' } } } });
    const sequence = events.flatMap((e) => e.Records.map((r) => BigInt(r.dynamodb?.SequenceNumber ?? '0')));
    expect([...sequence].sort((a, b) => (a < b ? -1 : 1))).toEqual(sequence);
    expect(new Set(sequence).size).toBe(5);
  });

  it('streams only successful conditional puts of snapshot items', async () => {
    const stream = new LocalStream(options);
    const seen: string[] = [];
    stream.setHandler(async (e) => void seen.push(...pks(e)));
    const client = tapped(stream, new Set(['rejected']));

    await putSnapshot(client, 'kept');
    await putSnapshot(client, 'policy', 'LATEST');
    await putSnapshot(client, 'unconditional', 'SNAP', null);
    await expect(putSnapshot(client, 'rejected')).rejects.toThrow('conditional request failed');
    await stream.drain();

    expect(seen).toEqual(['kept']);
  });

  it('retries the failed record and those after it, not the ones before, per batchItemFailures', async () => {
    // Arrange: the handler reports the second record failed once.
    const stream = new LocalStream({ ...options, batchSize: 10 });
    const calls: string[][] = [];
    let failedOnce = false;
    stream.setHandler(async (e): Promise<DynamoDBBatchResponse> => {
      calls.push(pks(e));
      const second = e.Records.find((r) => r.dynamodb?.NewImage?.pk?.S === 'r2');
      if (second && !failedOnce) {
        failedOnce = true;
        return { batchItemFailures: [{ itemIdentifier: String(second.dynamodb?.SequenceNumber) }] };
      }
      return { batchItemFailures: [] };
    });
    const client = tapped(stream);

    // Act
    for (const id of ['r1', 'r2', 'r3', 'r4']) await putSnapshot(client, id);
    await stream.drain();

    // Assert
    expect(calls).toEqual([['r1', 'r2', 'r3', 'r4'], ['r2', 'r3', 'r4']]);
    expect(stream.failures).toEqual([]);
  });

  it('sinks a record that always fails into failures after maxRetries, while the others succeed', async () => {
    // Arrange: "poison" is reported failed every time; maxRetries 2 means 3 attempts in all.
    const attemptsByPk = new Map<string, number>();
    const sunk: string[] = [];
    const stream = new LocalStream({ ...options, batchSize: 10, maxRetries: 2, onFailure: (f) => sunk.push(String(f.record.dynamodb?.NewImage?.pk?.S)) });
    stream.setHandler(async (e): Promise<DynamoDBBatchResponse> => {
      for (const id of pks(e)) attemptsByPk.set(id, (attemptsByPk.get(id) ?? 0) + 1);
      const poison = e.Records.find((r) => r.dynamodb?.NewImage?.pk?.S === 'poison');
      return { batchItemFailures: poison ? [{ itemIdentifier: String(poison.dynamodb?.SequenceNumber) }] : [] };
    });
    const client = tapped(stream);

    // Act
    for (const id of ['ok1', 'poison', 'ok3']) await putSnapshot(client, id);
    await stream.drain();

    // Assert
    expect(stream.failures.map((f) => f.record.dynamodb?.NewImage?.pk?.S)).toEqual(['poison']);
    expect(stream.failures[0]).toMatchObject({ attempts: 3, code: 'UNKNOWN', reason: 'UNKNOWN: reported in batchItemFailures, without a reason' });
    expect(sunk).toEqual(['poison']);
    expect(attemptsByPk.get('poison')).toBe(3);
    expect(attemptsByPk.get('ok1')).toBe(1);
    // ok3 came after the poison record, so it was redelivered with it (as on AWS), but it never failed.
    expect(attemptsByPk.get('ok3')).toBeGreaterThanOrEqual(1);
  });

  it('retries the whole batch when the handler throws, and sinks it with the error as reason after maxRetries', async () => {
    const errors: unknown[] = [];
    const stream = new LocalStream({ ...options, maxRetries: 1, onError: (err) => errors.push(err) });
    let calls = 0;
    stream.setHandler(async () => {
      calls += 1;
      throw new TypeError('handler bug');
    });
    const client = tapped(stream);

    await putSnapshot(client, 'a');
    await putSnapshot(client, 'b');
    await stream.drain();

    expect(calls).toBe(2);
    expect(errors).toHaveLength(2);
    expect(stream.failures.map((f) => [f.record.dynamodb?.NewImage?.pk?.S, f.attempts, f.reason])).toEqual([
      ['a', 2, 'INTERNAL_ERROR: TypeError: handler bug'],
      ['b', 2, 'INTERNAL_ERROR: TypeError: handler bug'],
    ]);
  });

  it("sinks a record with the code and message the consumer told for it, and does not report the throw of a batch whose every record it told about", async () => {
    // Arrange: the consumer tells why each record fails, as the on-write function does, and throws
    // when every record of the event failed (as Powertools' batch processor does).
    const errors: unknown[] = [];
    const stream = new LocalStream({ ...options, batchSize: 10, maxRetries: 1, onError: (err) => errors.push(err) });
    stream.setHandler(async (e): Promise<DynamoDBBatchResponse> => {
      for (const r of e.Records) stream.recordFailed(r, { code: 'PAYLOAD_TOO_LARGE', message: `report of ${String(r.dynamodb?.NewImage?.pk?.S)} is too large` });
      throw new Error('All records failed processing');
    });
    const client = tapped(stream);

    // Act
    await putSnapshot(client, 'a');
    await putSnapshot(client, 'b');
    await stream.drain();

    // Assert
    expect(stream.failures.map((f) => [f.record.dynamodb?.NewImage?.pk?.S, f.code, f.reason])).toEqual([
      ['a', 'PAYLOAD_TOO_LARGE', 'PAYLOAD_TOO_LARGE: report of a is too large'],
      ['b', 'PAYLOAD_TOO_LARGE', 'PAYLOAD_TOO_LARGE: report of b is too large'],
    ]);
    expect(errors).toEqual([]);
  });

  it('forgets what the consumer told about a record once a later delivery of it fails otherwise', async () => {
    // Arrange: the first delivery tells a reason; the second throws before looking at any record.
    const stream = new LocalStream({ ...options, maxRetries: 1 });
    let calls = 0;
    stream.setHandler(async (e): Promise<DynamoDBBatchResponse> => {
      calls += 1;
      if (calls === 1) {
        for (const r of e.Records) stream.recordFailed(r, { code: 'POLICY_TAMPERED', message: 'first' });
        return { batchItemFailures: e.Records.map((r) => ({ itemIdentifier: String(r.dynamodb?.SequenceNumber) })) };
      }
      throw new TypeError('handler bug');
    });
    const client = tapped(stream);

    // Act
    await putSnapshot(client, 'a');
    await stream.drain();

    // Assert
    expect(stream.failures.map((f) => f.reason)).toEqual(['INTERNAL_ERROR: TypeError: handler bug']);
  });

  it('drain() resolves only after every queued record was delivered, without waiting for the batching window', async () => {
    const stream = new LocalStream({ ...options, batchSize: 100, batchingWindowMs: 60_000 });
    const delivered: string[] = [];
    stream.setHandler(async (e) => {
      await new Promise((r) => setTimeout(r, 20));
      delivered.push(...pks(e));
    });
    const client = tapped(stream);
    for (const id of ['d1', 'd2', 'd3']) await putSnapshot(client, id);
    expect(delivered).toEqual([]);

    const started = Date.now();
    await stream.drain();

    expect(delivered).toEqual(['d1', 'd2', 'd3']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('drain() resolves at once when nothing is queued, and close() stops taking records', async () => {
    const stream = new LocalStream(options);
    const delivered: string[] = [];
    stream.setHandler(async (e) => void delivered.push(...pks(e)));
    const client = tapped(stream);
    await stream.drain();

    await stream.close();
    await putSnapshot(client, 'late');
    await stream.drain();

    expect(delivered).toEqual([]);
  });
});
