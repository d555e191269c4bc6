/**
 * The local host's crash-journal redelivery of on-write validation: a snapshot whose delivery the
 * journal still holds as begun (the process died after validating it, before noting it done) is
 * delivered again on the next start, an hour later by the host's clock. On-write reports are dated
 * when written, so the redelivery must find the first report by its id (the claim), not write a
 * second one dated an hour later.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from '../../functions/core/ports.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import type { ValidationReport } from '../../functions/core/validation.js';
import { startLocalHost, type LocalHost } from '../../functions/local/host.js';
import { eventually, requestJson as call } from '../support/http.js';
import { tempDir } from '../support/temp-dirs.js';

describe('on-write redelivery from the crash journal (local host, DATA_DIR)', () => {
  let dir: string;
  let host: LocalHost | undefined;
  let offsetMs = 0;

  beforeAll(() => {
    dir = tempDir('onwrite-redeliver-');
  });
  afterAll(async () => {
    await host?.close();
  });

  async function startAt(shiftMs: number): Promise<LocalHost> {
    await host?.close();
    offsetMs = shiftMs;
    host = await startLocalHost({ port: 0, dynamoPort: 0, tableName: 'onwrite-redeliver', dataDir: dir, clock: { now: () => Date.now() + offsetMs }, logger: { info: () => undefined, error: () => undefined } });
    return host;
  }

  it('keeps one report per snapshot and policy version, dated at its first delivery', async () => {
    let h = await startAt(0);
    expect((await call(h.url, 'PUT', '/policies/redeliver-floor', { functionNames: ['redeliver_fn'], rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0.6, max: 1 }] })).status).toBe(200);
    const snapshot = (await call<Snapshot>(h.url, 'POST', '/snapshots', { functionName: 'redeliver_fn', inputs: [{ name: 'x', value: 1 }], outputs: [{ name: 'score', value: 0.5 }] })).body;
    const reportsOf = async (url: string) => (await call<Page<ValidationReport>>(url, 'GET', `/snapshots/${snapshot.snapshotId}/validations`)).body.items;
    const [first] = await eventually('the on-write report', async () => {
      const items = await reportsOf(h.url);
      return items.length > 0 ? items : undefined;
    });
    const journal = join(dir, 'stream-outbox.journal');
    await eventually('the delivery to be noted done', async () => (readFileSync(journal, 'utf8').includes(`-SNAP#${snapshot.snapshotId}`) ? true : undefined));
    await h.close();
    host = undefined;

    // As if the process had died after validating, before noting the delivery done.
    appendFileSync(journal, `+SNAP#${snapshot.snapshotId}\t\n`);
    h = await startAt(3_600_000);
    await eventually('the redelivery to be noted done', async () => (readFileSync(journal, 'utf8').includes(`-SNAP#${snapshot.snapshotId}`) ? true : undefined), 20_000);

    const after = await reportsOf(h.url);
    expect(after).toEqual([first]);
    expect((first?.createdAt ?? '') >= snapshot.createdAt).toBe(true);
    // One event, from the first delivery.
    const events = (await call<Page<{ detail: { snapshotId: string } }>>(h.url, 'GET', '/_local/events')).body.items.filter((e) => e.detail.snapshotId === snapshot.snapshotId);
    expect(events.length).toBeLessThanOrEqual(1);
  });
});
