/**
 * Issue 9: a batch of listed ids recorded before its ids were written to its manifest (as the API
 * did before 2026-12-03; it now records such a batch with its ids), whose host was then killed.
 * What that leaves in DATA_DIR is made here without a race: the batch's record (RUNNING, no
 * manifest) in the host's table and its entry in the batch journal. The real host is then started
 * on that data dir and recovers it. Its ids were only in the killed request, so it cannot be
 * resumed: it must end FAILED with a code and a message that says what to do, not with a class
 * name and an internal message. (test/e2e/crash-recovery.e2e.test.ts kills a host recording one now.)
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoBatchStore } from '../../functions/adapters/dynamodb/batch-store.js';
import { DocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import { newBatch, type Batch } from '../../functions/core/batch.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { startLocalHost, type LocalHost } from '../../functions/local/host.js';
import { Journal } from '../../functions/local/journal.js';
import { eventually, requestJson } from '../support/http.js';
import { tempDir } from '../support/temp-dirs.js';

const hosts: LocalHost[] = [];
afterAll(async () => {
  for (const h of hosts.splice(0)) await h.close().catch(() => undefined);
});

const quiet = { info: () => undefined, error: () => undefined };

function start(dataDir: string): Promise<LocalHost> {
  return startLocalHost({ port: 0, dynamoPort: 0, tableName: 'recovery', dataDir, logger: quiet }).then((h) => (hosts.push(h), h));
}

describe('a batch of listed ids recorded but not planned when the host was killed', () => {
  it('ends FAILED after the restart with BATCH_NOT_PLANNED and what to do, and replays nothing', async () => {
    // Arrange: the state a SIGKILL between recording the batch and writing its manifest leaves.
    const dataDir = tempDir('batch-recovery');
    const first = await start(dataDir);
    const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: first.dynamoEndpoint });
    const batchId = '01M8XE0000000000000000000B';
    const recorded = newBatch(batchId, { snapshotIds: ['01M8XE00000000000000000001', '01M8XE00000000000000000002'] }, { trigger: 'api', createdAt: new Date().toISOString() });
    expect(await new DynamoBatchStore(new DocumentClient(client), 'recovery').create(recorded)).toBe(true);
    client.destroy();
    await first.close();
    hosts.splice(hosts.indexOf(first), 1);
    const journal = new Journal(join(dataDir, 'batches.journal'));
    journal.begin(`BATCH#${batchId}`, '');
    journal.close();

    // Act
    const second = await start(dataDir);

    // Assert
    const ended = await eventually('the batch to end', async () => {
      const res = await requestJson<Batch>(second.url, 'GET', `/batches/${batchId}`);
      return res.body.status === 'RUNNING' ? undefined : res.body;
    });
    expect(ended.status).toBe('FAILED');
    expect(ended.failureReason).toMatch(/^BATCH_NOT_PLANNED: /);
    expect(ended.failureReason).toContain('POST /batches');
    expect(ended.completed).toBe(0);
  });
});
