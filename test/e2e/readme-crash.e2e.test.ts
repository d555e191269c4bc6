/**
 * README.md's "### What survives a crash of `npm start`" shows the one line `npm start` prints when
 * its `DATA_DIR` is still in use (by another host, or a killed host's process that is still alive).
 * This holds a data dir with the local host started in this process (the same host `npm start`
 * runs, and the same LevelDB lock), then runs `npm start` on that dir: it must exit without
 * starting and print the README's line (the README's `.data/` is this test's data dir).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type LocalHost } from '../../functions/local/host.js';
import { ROOT, startHost } from '../support/readme-session.js';
import { fences } from '../support/readme-tour.js';
import { tempDir } from '../support/temp-dirs.js';

const SECTION = '### What survives a crash of `npm start`';
const shown = fences(readFileSync(join(ROOT, 'README.md'), 'utf8'), SECTION).filter((f) => f.text.startsWith('cannot start:'));

describe('README: npm start on a DATA_DIR another host holds', () => {
  let holder: LocalHost;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = join(tempDir('readme-crash-'), '.data');
    holder = await startLocalHost({ port: 0, dynamoPort: 0, dataDir, tableName: 'decision-replay' });
  }, 60_000);
  afterAll(() => holder?.close(), 30_000);

  it('stops at once with the line the README shows', async () => {
    expect(shown).toHaveLength(1);
    const failed = await startHost({ DATA_DIR: dataDir }, []).then(
      async (host) => {
        await host.stop();
        throw new Error('npm start started on a DATA_DIR another host holds');
      },
      (err: unknown) => String(err),
    );
    const printed = failed.split('\n').filter((l) => l.startsWith('cannot start:'));
    expect(printed).toEqual([(shown[0]?.text ?? '').replaceAll('.data/', `${dataDir}/`)]);
  }, 60_000);
});
