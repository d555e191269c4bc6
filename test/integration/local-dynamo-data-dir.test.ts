/**
 * Two local hosts on one DATA_DIR: the second cannot open the DynamoDB store the first holds. It
 * must say so, naming the folder, instead of failing later with an unexplained ECONNREFUSED (what
 * the crash e2e saw when the killed host's node process outlived its launcher).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../functions/local/dynalite.js';

const dir = mkdtempSync(join(tmpdir(), 'dr-dynamo-lock-'));
const started: LocalDynamo[] = [];
afterAll(async () => {
  for (const d of started) await d.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('local DynamoDB store in a data dir', () => {
  it('refuses a second host on the same store with a message naming the folder', { timeout: 30_000 }, async () => {
    const path = join(dir, 'dynamodb');
    started.push(await startLocalDynamo({ port: 0, tableName: 'locked', path, worker: true }));
    await expect(startLocalDynamo({ port: 0, tableName: 'locked', path, worker: true })).rejects.toThrow(
      `could not use its store in ${path} (IO error: lock ${join(path, 'LOCK')}: already held by process); is another \`npm start\` running on the same DATA_DIR?`,
    );
  });

  it('refuses it the same way when dynalite runs on the caller’s thread (no worker)', { timeout: 30_000 }, async () => {
    const path = join(dir, 'in-process');
    started.push(await startLocalDynamo({ port: 0, tableName: 'locked', path, worker: false }));
    await expect(startLocalDynamo({ port: 0, tableName: 'locked', path, worker: false })).rejects.toThrow(`could not use its store in ${path}`);
  });

  // A damaged store is not a second host: the message says what LevelDB found (here the manifest
  // CURRENT names is missing), on the worker as on the caller's thread, not 'Database is closed'.
  for (const worker of [true, false]) {
    it(`names what is wrong with a damaged store, without blaming another host (worker: ${String(worker)})`, { timeout: 30_000 }, async () => {
      const path = join(dir, `damaged-${String(worker)}`);
      const first = await startLocalDynamo({ port: 0, tableName: 'damaged', path, worker });
      await first.close();
      writeFileSync(join(path, 'CURRENT'), 'MANIFEST-999999\n');
      const failure = startLocalDynamo({ port: 0, tableName: 'damaged', path, worker });
      await expect(failure).rejects.toThrow(`could not use its store in ${path} (IO error: ${join(path, 'MANIFEST-999999')}: No such file or directory)`);
      await expect(failure).rejects.not.toThrow('another `npm start`');
    });
  }

  it('is usable again by a new host once the one holding it has closed', { timeout: 30_000 }, async () => {
    const path = join(dir, 'reopened');
    const first = await startLocalDynamo({ port: 0, tableName: 'reopened', path, worker: true });
    await first.close();
    const second = await startLocalDynamo({ port: 0, tableName: 'reopened', path, worker: false });
    await second.close();
    const third = await startLocalDynamo({ port: 0, tableName: 'reopened', path, worker: false });
    started.push(third);
    expect(third.port).toBeGreaterThan(0);
  });
});
