/**
 * The local host's cursor secret: 32 random bytes in `<DATA_DIR>/cursor-secret`, created on the
 * first start (mode 0600) and reused after, so cursors stay valid across restarts. In memory the
 * host keeps the cursor module's default, a random secret for the life of the process.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function fileCursorKey(dataDir: string): Buffer {
  const path = join(dataDir, 'cursor-secret');
  try {
    writeFileSync(path, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  if (key.length < 16) throw new Error(`${path} does not hold a cursor secret (64 hex characters); delete it to have a new one made`);
  return key;
}
