import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Batch, BatchStore } from '../../functions/core/batch.js';
import { recoverBatches } from '../../functions/local/batch-recovery.js';
import { COMPACT_EVERY, Journal } from '../../functions/local/journal.js';

const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  dirs.push(dir);
  return join(dir, 'j.journal');
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('Journal', () => {
  it('gives a new process the entries the last one began and did not finish', () => {
    const path = fresh();
    const j = new Journal(path);
    j.begin('SNAP#a', '');
    j.begin('SNAP#b', 'data');
    j.finish('SNAP#a');
    // no close: the process was killed
    expect([...new Journal(path).pending()]).toEqual([['SNAP#b', 'data']]);
  });

  it('ignores a torn last line (a write cut by the kill)', () => {
    const path = fresh();
    const j = new Journal(path);
    j.begin('SNAP#a', '');
    appendFileSync(path, '+SNAP#b');
    expect([...new Journal(path).pending().keys()]).toEqual(['SNAP#a']);
  });

  it('stays as small as the work in flight: compacted on open and every COMPACT_EVERY finished entries', () => {
    const path = fresh();
    const j = new Journal(path);
    for (let i = 0; i < COMPACT_EVERY + 10; i++) {
      j.begin(`k${i}`, '');
      j.finish(`k${i}`);
    }
    j.begin('open', '');
    j.close();
    expect(readFileSync(path, 'utf8').split('\n').length).toBeLessThan(40);
    new Journal(path).close();
    expect(readFileSync(path, 'utf8')).toBe('+open\t\n');
  });

  it('ignores writes after close (a late completion during shutdown)', () => {
    const path = fresh();
    const j = new Journal(path);
    j.begin('a', '');
    j.close();
    expect(() => j.finish('a')).not.toThrow();
    expect([...new Journal(path).pending().keys()]).toEqual(['a']);
  });
});

describe('recoverBatches', () => {
  const batch = (batchId: string, status: Batch['status']) => ({ batchId, status }) as Batch;
  function store(batches: Batch[]): BatchStore & { failed: string[] } {
    const byId = new Map(batches.map((b) => [b.batchId, b]));
    const failed: string[] = [];
    return {
      failed,
      get: async (id: string) => byId.get(id),
      failIfRunning: async (id: string, reason: string) => {
        const b = byId.get(id);
        if (b?.status !== 'RUNNING') return false;
        Object.assign(b, { status: 'FAILED', failureReason: reason });
        failed.push(id);
        return true;
      },
    } as unknown as BatchStore & { failed: string[] };
  }

  it('resumes RUNNING batches, fails the ones that cannot be resumed with a coded reason, and forgets finished ones', async () => {
    const path = fresh();
    const j = new Journal(path);
    for (const id of ['run', 'broken', 'done']) j.begin(`BATCH#${id}`, '');
    const s = store([batch('run', 'RUNNING'), batch('broken', 'RUNNING'), batch('done', 'SUCCEEDED')]);
    const started: string[] = [];

    const outcome = await recoverBatches({
      journal: j,
      batches: s,
      start: (id) => {
        if (id === 'broken') throw new Error('definition changed');
        started.push(id);
      },
      now: () => '2026-11-30T00:00:00.000Z',
      log: () => undefined,
    });

    expect(outcome).toEqual({ resumed: ['run'], failed: ['broken'] });
    expect(started).toEqual(['run']);
    expect(((await s.get('broken')) as Batch & { failureReason?: string }).failureReason).toBe('INTERNAL_ERROR: the local host restarted and could not resume this batch: Error: definition changed');
    expect([...j.pending().keys()]).toEqual(['BATCH#run']);
  });
});
