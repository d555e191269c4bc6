/**
 * Snapshots altered behind the service into shapes that no longer parse as snapshots (an insider's
 * `UpdateItem` through DynamoDB): every route that reads a snapshot answers without a 5xx, and
 * says `tampered` where it reports integrity. Answers are checked against the OpenAPI document,
 * except those of `GET /snapshots/{id}` and `GET /snapshots`, which return the stored content as it
 * is, whatever its shape.
 */
import { DynamoDBClient, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHash } from '../../functions/core/json.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestWithHeaders } from '../support/http.js';

interface Tamper {
  label: string;
  update: string;
  values?: Record<string, AttributeValue>;
  names?: Record<string, string>;
}

const TAMPERS: Tamper[] = [
  { label: 'outputs removed', update: 'REMOVE outputs' },
  { label: 'outputs a string', update: 'SET outputs = :v', values: { ':v': { S: 'approve' } } },
  { label: 'inputs removed', update: 'REMOVE inputs' },
  { label: 'an output entry null', update: 'SET outputs[0] = :v', values: { ':v': { NULL: true } } },
  { label: 'an output name a number', update: 'SET outputs[0].#n = :v', values: { ':v': { N: '3' } }, names: { '#n': 'name' } },
  { label: 'a value beyond 2^53', update: 'SET outputs[1].#v = :v', values: { ':v': { N: '123456789012345678901234' } }, names: { '#v': 'value' } },
  { label: 'a value a string set', update: 'SET outputs[1].#v = :v', values: { ':v': { SS: ['a', 'b'] } }, names: { '#v': 'value' } },
  { label: 'an extra attribute', update: 'SET extra = :v', values: { ':v': { S: 'x' } } },
  { label: 'modelParameters a string', update: 'SET modelParameters = :v', values: { ':v': { S: 'x' } } },
  { label: 'executionTimeMs a string', update: 'SET executionTimeMs = :v', values: { ':v': { S: 'slow' } } },
  { label: 'functionName a number', update: 'SET functionName = :v', values: { ':v': { N: '1' } } },
];

describe('snapshots tampered into shapes that do not parse (local host over HTTP)', () => {
  let t: TestHost;
  let db: DynamoDBClient;
  let clean: string;
  const tampered: string[] = [];

  const record = async (): Promise<string> => {
    const res = await requestWithHeaders<{ snapshotId: string }>(t.url, 'POST', '/snapshots', {
      functionName: 'tamper_shapes',
      inputs: [{ name: 'applicant', value: { income: 52000 } }],
      outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.82 }],
      modelParameters: { modelName: 'credit-llm', modelVersion: 'v1' },
      executionTimeMs: 12,
    });
    expect(res.status).toBe(201);
    return res.body.snapshotId;
  };

  const alter = (id: string, update: string, values?: Record<string, AttributeValue>, names?: Record<string, string>) =>
    db.send(new UpdateItemCommand({ TableName: t.host.tableName, Key: { pk: { S: `SNAP#${id}` }, sk: { S: 'SNAP' } }, UpdateExpression: update, ...(values && { ExpressionAttributeValues: values }), ...(names && { ExpressionAttributeNames: names }) }));

  /** GET /snapshots/{id} unchecked: its body is the stored content, whatever its shape. */
  const integrityOf = async (id: string): Promise<{ status: number; integrity: string | null }> => {
    // eslint-disable-next-line no-restricted-globals -- the stored content as it is, which a tampered snapshot's need not match the schema of
    const res = await fetch(`${t.url}/snapshots/${id}`);
    await res.text();
    return { status: res.status, integrity: res.headers.get('content-integrity') };
  };

  beforeAll(async () => {
    t = await startTestHost();
    db = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
    clean = await record();
  });
  afterAll(async () => {
    db.destroy();
    await t.close();
  });

  for (const tamper of TAMPERS) {
    it(`answers every snapshot route without a 5xx, as tampered, when ${tamper.label}`, async () => {
      const id = await record();
      tampered.push(id);
      await alter(id, tamper.update, tamper.values, tamper.names);

      expect(await integrityOf(id)).toEqual({ status: 200, integrity: 'tampered' });
      // eslint-disable-next-line no-restricted-globals -- lists stored content as it is too, see integrityOf
      const listed = await fetch(`${t.url}/snapshots?functionName=tamper_shapes`);
      expect(listed.status).toBe(200);
      expect(listed.headers.get('content-integrity')).toBe('tampered');
      // Every snapshot altered so far, and only those, named with its place in the page.
      const page = (await listed.json()) as { items: { snapshotId: string }[]; tampered: { index: number; snapshotId: string }[] };
      expect(page.tampered.map((x) => x.snapshotId)).toEqual(tampered);
      for (const x of page.tampered) expect(page.items[x.index]?.snapshotId).toBe(x.snapshotId);
      expect((await requestWithHeaders(t.url, 'GET', `/snapshots/${id}/diff/${clean}`)).status).toBe(200);
      expect((await requestWithHeaders(t.url, 'GET', `/snapshots/${clean}/diff/${id}`)).status).toBe(200);
      const diffReport = await requestWithHeaders<string>(t.url, 'GET', `/snapshots/${id}/diff/${clean}/report`);
      expect(diffReport.status).toBe(200);
      expect(diffReport.body).toContain('tampered');

      const validated = await requestWithHeaders<{ status: string; integrity: string; violations: { ruleName: string }[] }>(t.url, 'POST', `/snapshots/${id}/validate`, {
        baselineId: clean,
        policy: { rules: [{ field: 'outputs.score', comparator: 'MaxIncreasePercent', threshold: 5 }] },
      });
      expect(validated.status).toBe(200);
      expect(validated.body).toMatchObject({ status: 'violated', integrity: 'tampered' });
      expect(validated.body.violations[0]?.ruleName).toBe('integrity');

      const replayed = await requestWithHeaders<{ status: string; integrity: string }>(t.url, 'POST', `/snapshots/${id}/replay`, {});
      expect(replayed.status).toBe(200);
      expect(replayed.body).toMatchObject({ status: 'Failed', integrity: 'tampered' });
      const report = await requestWithHeaders<string>(t.url, 'GET', `/snapshots/${id}/replays/latest/report`);
      expect(report.status).toBe(200);
      expect(report.body).toContain('does not match its contentHash');
    });
  }

  it('calls a snapshot that no longer parses tampered even when its contentHash was recomputed to match', async () => {
    const id = await record();
    await alter(id, 'REMOVE outputs');
    // eslint-disable-next-line no-restricted-globals -- the stored content as it is, see integrityOf
    const stored = (await (await fetch(`${t.url}/snapshots/${id}`)).json()) as Record<string, unknown>;
    const { contentHash: _old, ...rest } = stored;
    await alter(id, 'SET contentHash = :h', { ':h': { S: canonicalHash(rest) } });

    expect(await integrityOf(id)).toEqual({ status: 200, integrity: 'tampered' });
    const validated = await requestWithHeaders<{ integrity: string; violations: { ruleName: string; message: string }[] }>(t.url, 'POST', `/snapshots/${id}/validate`, { policy: { rules: [{ field: 'outputs.decision', comparator: 'Contains', value: 'approve' }] } });
    expect(validated.status).toBe(200);
    expect(validated.body.integrity).toBe('tampered');
    expect(validated.body.violations[0]?.message).toMatch(/no longer parses as a snapshot \(outputs: /);
    expect(validated.body.violations[0]?.message).not.toContain('no longer matches its contentHash');
    const replayed = await requestWithHeaders<{ integrity: string }>(t.url, 'POST', `/snapshots/${id}/replay`, { mode: 'ValidationOnly' });
    expect(replayed.body.integrity).toBe('tampered');
  });

  it('replays a batch of tampered snapshots as tampered, counted apart, with readable results and report', async () => {
    const started = await requestWithHeaders<{ batchId: string }>(t.url, 'POST', '/batches', { snapshotIds: tampered });
    expect(started.status).toBe(202);
    let status = 'RUNNING';
    for (let i = 0; i < 400 && status === 'RUNNING'; i++) {
      status = (await requestWithHeaders<{ status: string }>(t.url, 'GET', `/batches/${started.body.batchId}`)).body.status;
      if (status === 'RUNNING') await new Promise((r) => setTimeout(r, 50));
    }
    const batch = await requestWithHeaders<{ status: string; stats: { tampered: number } }>(t.url, 'GET', `/batches/${started.body.batchId}`);
    expect(batch.body).toMatchObject({ status: 'SUCCEEDED', stats: { tampered: TAMPERS.length } });
    const results = await requestWithHeaders<{ items: { integrity?: string }[] }>(t.url, 'GET', `/batches/${started.body.batchId}/results?limit=100`);
    expect(results.body.items.map((r) => r.integrity)).toEqual(TAMPERS.map(() => 'tampered'));
    expect((await requestWithHeaders(t.url, 'GET', `/batches/${started.body.batchId}/report`)).status).toBe(200);
  });
});
