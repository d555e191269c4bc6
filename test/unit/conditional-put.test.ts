/**
 * Idempotency claims read the item they collided with from the failed conditional put itself
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so a repeated request costs one DynamoDB call,
 * not two. DynamoDB returns that item; dynalite does not implement the option, so the stores fall
 * back to a read (covered against dynalite in test/integration). The SDK is mocked here to give the
 * answer DynamoDB gives.
 */
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoBatchStore } from '../../functions/adapters/dynamodb/batch-store.js';
import { DYNAMODB_CLIENT_SETTINGS } from '../../functions/adapters/dynamodb/client.js';
import { DocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import { DynamoSnapshotStore } from '../../functions/adapters/dynamodb/snapshot-store.js';

const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, ...DYNAMODB_CLIENT_SETTINGS });
const ddb = mockClient(client);
const doc = new DocumentClient(client);

const conflict = (item?: Record<string, unknown>) =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, ...(item && { Item: marshall(item) }) });

beforeEach(() => ddb.reset());
afterAll(() => ddb.restore());

describe('idempotency claims on a key already taken', () => {
  const record = { key: 'order-7', requestHash: 'h-new', snapshotId: '01JCS0000000000000000000NEW', createdAt: '2026-11-30T12:00:00.000Z' };

  it('snapshots: answer with the stored claim from the failed put alone', async () => {
    ddb.on(PutItemCommand).rejects(conflict({ pk: 'IDEMP#order-7', sk: 'IDEMP', itemType: 'idempotency', key: 'order-7', requestHash: 'h-old', snapshotId: '01JCS0000000000000000000OLD', createdAt: '2026-11-30T11:00:00.000Z', expiresAt: 1 }));

    const outcome = await new DynamoSnapshotStore(doc, 't').claimIdempotencyKey(record);

    expect(outcome).toEqual({ claimed: false, existing: { key: 'order-7', requestHash: 'h-old', snapshotId: '01JCS0000000000000000000OLD', createdAt: '2026-11-30T11:00:00.000Z' } });
    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(0);
  });

  it('snapshots: read the claim when the failed put carries no item (dynalite)', async () => {
    ddb.on(PutItemCommand).rejects(conflict());
    ddb.on(GetItemCommand).resolves({ Item: marshall({ key: 'order-7', requestHash: 'h-old', snapshotId: '01JCS0000000000000000000OLD', createdAt: '2026-11-30T11:00:00.000Z' }) });

    const outcome = await new DynamoSnapshotStore(doc, 't').claimIdempotencyKey(record);

    expect(outcome).toMatchObject({ claimed: false, existing: { requestHash: 'h-old', snapshotId: '01JCS0000000000000000000OLD' } });
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(1);
  });

  it('batches: answer with the stored batch id from the failed put alone', async () => {
    ddb.on(PutItemCommand).rejects(conflict({ pk: 'IDEMP#batch:run-1', sk: 'IDEMP', itemType: 'idempotency', requestHash: 'h-old', batchId: '01JCS00000000000000000BATCH', expiresAt: 1 }));

    const outcome = await new DynamoBatchStore(doc, 't').claimIdempotencyKey('run-1', 'h-new', '01JCS000000000000000000OTHER', '2026-12-03T08:00:00.000Z');

    expect(outcome).toEqual({ claimed: false, batchId: '01JCS00000000000000000BATCH', requestHash: 'h-old' });
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(0);
  });
});
