import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestWithHeaders } from '../support/http.js';

describe('integrity of a snapshot altered behind the service (local host over HTTP)', () => {
  let t: TestHost;
  let id: string;

  beforeAll(async () => {
    t = await startTestHost();
    const res = await requestWithHeaders<{ snapshotId: string }>(t.url, 'POST', '/snapshots', { functionName: 'approve_loan', inputs: [{ name: 'applicant', value: { income: 52000 } }], outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.82 }] });
    id = res.body.snapshotId;
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves the stored body as it is and says in Content-Integrity whether it still matches its hash', async () => {
    const before = await requestWithHeaders(t.url, 'GET', `/snapshots/${id}`);
    expect(before.headers.get('content-integrity')).toBe('verified');

    const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
    await client.send(
      new UpdateItemCommand({
        TableName: t.host.tableName,
        Key: { pk: { S: `SNAP#${id}` }, sk: { S: 'SNAP' } },
        UpdateExpression: 'SET outputs[1].#v = :v',
        ExpressionAttributeNames: { '#v': 'value' },
        ExpressionAttributeValues: { ':v': { N: '0.99' } },
      }),
    );
    client.destroy();

    const after = await requestWithHeaders<{ outputs: { value: unknown }[] }>(t.url, 'GET', `/snapshots/${id}`);
    expect(after.headers.get('content-integrity')).toBe('tampered');
    expect(after.body.outputs[1]?.value).toBe(0.99);

    const validated = await requestWithHeaders<{ integrity: string; status: string; violations: { ruleName: string }[] }>(t.url, 'POST', `/snapshots/${id}/validate`, { policy: { rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] } });
    const report = validated.body;
    expect(validated.status).toBe(200);
    expect(report).toMatchObject({ integrity: 'tampered', status: 'violated' });
    expect(report.violations[0]?.ruleName).toBe('integrity');

    // A diff and a validation that use the altered snapshot as the *other* side say so too.
    const other = await requestWithHeaders<{ snapshotId: string }>(t.url, 'POST', '/snapshots', { functionName: 'approve_loan', inputs: [{ name: 'applicant', value: { income: 52000 } }], outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.8 }] });
    const diff = await requestWithHeaders<{ integrity: unknown; changes: { path: string; oldValue: unknown }[] }>(t.url, 'GET', `/snapshots/${id}/diff/${other.body.snapshotId}`);
    expect(diff.status).toBe(200);
    expect(diff.headers.get('content-integrity')).toBe('tampered');
    expect(diff.body.integrity).toEqual({ original: 'tampered', updated: 'verified' });
    expect(diff.body.changes).toContainEqual(expect.objectContaining({ path: 'outputs.score', oldValue: 0.99 }));
    const clean = await requestWithHeaders<{ integrity: unknown }>(t.url, 'GET', `/snapshots/${other.body.snapshotId}/diff/${other.body.snapshotId}`);
    expect(clean.headers.get('content-integrity')).toBe('verified');
    expect(clean.body.integrity).toEqual({ original: 'verified', updated: 'verified' });

    const againstAltered = await requestWithHeaders<{ integrity: string; baselineIntegrity: string; status: string; violations: { ruleName: string; field: string }[] }>(t.url, 'POST', `/snapshots/${other.body.snapshotId}/validate`, {
      baselineId: id,
      policy: { rules: [{ field: 'outputs.score', comparator: 'MaxDecreasePercent', threshold: 5 }] },
    });
    expect(againstAltered.status).toBe(200);
    expect(againstAltered.body).toMatchObject({ integrity: 'verified', baselineIntegrity: 'tampered', status: 'violated' });
    expect(againstAltered.body.violations[0]).toMatchObject({ ruleName: 'integrity', field: 'baseline.contentHash' });
  });

  it('answers an idempotent repeat of POST /snapshots like a read: the stored body with its Content-Integrity', async () => {
    const body = { functionName: 'approve_loan', inputs: [{ name: 'applicant', value: { income: 1 } }], outputs: [{ name: 'decision', value: 'deny' }] };
    const key = { 'idempotency-key': 'integrity-repeat-1' };
    const first = await requestWithHeaders<{ snapshotId: string }>(t.url, 'POST', '/snapshots', body, key);
    const repeatId = first.body.snapshotId;
    const clean = await requestWithHeaders(t.url, 'POST', '/snapshots', body, key);
    expect(clean.headers.get('content-integrity')).toBe('verified');

    const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
    await client.send(
      new UpdateItemCommand({
        TableName: t.host.tableName,
        Key: { pk: { S: `SNAP#${repeatId}` }, sk: { S: 'SNAP' } },
        UpdateExpression: 'SET outputs[0].#v = :v',
        ExpressionAttributeNames: { '#v': 'value' },
        ExpressionAttributeValues: { ':v': { S: 'approve' } },
      }),
    );
    client.destroy();

    const repeated = await requestWithHeaders<{ outputs: { value: unknown }[] }>(t.url, 'POST', '/snapshots', body, key);
    expect(repeated.status).toBe(200);
    expect(repeated.headers.get('content-integrity')).toBe('tampered');
    expect(repeated.body.outputs[0]?.value).toBe('approve');
  });
});
