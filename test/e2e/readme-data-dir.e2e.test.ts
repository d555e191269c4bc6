/**
 * Two README outputs of `npm start` on a data dir (not `--in-memory`), run as the README shows them:
 * - "## Quick start": what `npm start` prints when it is ready (npm's banner, the local DynamoDB
 *   and S3 with their data folders, the API's address);
 * - "### What survives a crash of `npm start`": the one line a second `npm start` prints when the
 *   first still holds its `DATA_DIR`, before it stops.
 * The README's ports (3000, 8000, 4568) and `.data/` are this host's free ports and a fresh folder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startHost, type Host } from '../support/readme-session.js';
import { fences } from '../support/readme-tour.js';
import { tempDir } from '../support/temp-dirs.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const quickStart = fences(README, 'Quick start');
/** The block right after the one that runs `npm start`: what it prints. */
const started = quickStart[quickStart.findIndex((f) => f.lang === 'sh' && f.text.split('\n').includes('npm start')) + 1];
const refused = fences(README, '### What survives a crash of `npm start`').filter((f) => f.text.startsWith('cannot start:'));
const lines = (text: string) => text.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

describe('README: npm start on a data dir, and a second npm start on the same one', () => {
  let first: Host;
  let dataDir: string;
  /** The README's ports and data folder, as this run's. */
  let ours: (text: string) => string;

  beforeAll(async () => {
    dataDir = join(tempDir('readme-data-dir-'), '.data');
    first = await startHost({ DATA_DIR: dataDir }, []);
    const { port, dynamoPort, s3Port } = first;
    ours = (t) =>
      t
        .replaceAll('127.0.0.1:3000', `127.0.0.1:${port}`)
        .replaceAll('127.0.0.1:8000', `127.0.0.1:${dynamoPort}`)
        .replaceAll('127.0.0.1:4568', `127.0.0.1:${s3Port ?? '?'}`)
        .replaceAll('.data/', `${dataDir}/`);
  }, 120_000);
  afterAll(() => first?.stop(), 30_000);

  it('Quick start: npm start prints what the README shows when it is ready', () => {
    expect(started?.lang).toBe('');
    expect(lines(first.output?.() ?? '')).toEqual(lines(ours(started?.text ?? '')));
  });

  it('a second npm start on that DATA_DIR stops at once with the line the README shows', async () => {
    expect(refused).toHaveLength(1);
    const failed = await startHost({ DATA_DIR: dataDir }, []).then(
      async (host) => {
        await host.stop();
        throw new Error('a second npm start started on a DATA_DIR the first one holds');
      },
      (err: unknown) => String(err),
    );
    expect(failed.split('\n').filter((l) => l.startsWith('cannot start:'))).toEqual([ours(refused[0]?.text ?? '')]);
  }, 60_000);
});
