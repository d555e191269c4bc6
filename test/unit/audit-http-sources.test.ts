/**
 * The CLI's audit ports over HTTP, against a fake client: records are paged with the cursor the
 * service hands out, digests are fetched in bounded listings and kept only until their signature is
 * read, and a 404 is "not there" while any other error is not.
 */
import { describe, expect, it } from 'vitest';
import { HttpAuditStore, HttpRecordSource, slices } from '../../client/src/audit/http-sources.js';
import type { DecisionReplayClient } from '../../client/src/client.js';
import { DecisionReplayError } from '../../client/src/errors.js';
import type { AuditRecord } from '../../functions/core/audit/verify.js';

const HOUR = 3_600_000;
const record = (id: string): AuditRecord => ({ kind: 'snapshot', id, createdAt: '2026-11-30T10:00:01.000Z', functionName: 'fn', content: { snapshotId: id }, indexProblems: [] });

describe('HttpRecordSource', () => {
  it('visits every record of a window page after page, passing back each nextCursor', async () => {
    const calls: Array<Record<string, unknown>> = [];
    const pages: Record<string, { items: AuditRecord[]; nextCursor?: string }> = {
      first: { items: [record('a'), record('b')], nextCursor: 'c1' },
      c1: { items: [record('c')], nextCursor: 'c2' },
      c2: { items: [] },
    };
    const client = {
      listAuditRecords: async (query: { cursor?: string }) => {
        calls.push(query);
        return pages[query.cursor ?? 'first'];
      },
    } as unknown as DecisionReplayClient;
    const seen: string[] = [];

    const count = await new HttpRecordSource(client, 1).forEachIn('2026-11-30T10:00:00.000Z', '2026-11-30T11:00:00.000Z', (r) => seen.push(r.id));

    expect(seen).toEqual(['a', 'b', 'c']);
    expect(count).toBe(3);
    expect(calls.map((c) => c.cursor)).toEqual([undefined, 'c1', 'c2']);
    expect(calls[0]).toMatchObject({ from: '2026-11-30T10:00:00.000Z', to: '2026-11-30T11:00:00.000Z', limit: 1000 });
  });

  it('asks for the next page before visiting the current one, and still visits in order', async () => {
    const events: string[] = [];
    const pages: Record<string, { items: AuditRecord[]; nextCursor?: string }> = {
      first: { items: [record('a')], nextCursor: 'c1' },
      c1: { items: [record('b')], nextCursor: 'c2' },
      c2: { items: [record('c')] },
    };
    const client = {
      listAuditRecords: async (query: { cursor?: string }) => {
        events.push(`request ${query.cursor ?? 'first'}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return pages[query.cursor ?? 'first'];
      },
    } as unknown as DecisionReplayClient;

    await new HttpRecordSource(client, 1).forEachIn('2026-11-30T10:00:00.000Z', '2026-11-30T11:00:00.000Z', (r) => events.push(`visit ${r.id}`));

    expect(events).toEqual(['request first', 'request c1', 'visit a', 'request c2', 'visit b', 'visit c']);
  });

  it('rejects a nextCursor it already followed instead of visiting the same records without end', async () => {
    // Probe s19: a cache that ignores the query answers every page with the first (nextCursor 'c1').
    const seen: string[] = [];
    const client = { listAuditRecords: async () => ({ items: [record(`r${seen.length}`)], nextCursor: 'c1' }) } as unknown as DecisionReplayClient;
    const walk = new HttpRecordSource(client, 1).forEachIn('2026-11-30T10:00:00.000Z', '2026-11-30T11:00:00.000Z', (r) => {
      seen.push(r.id);
      if (seen.length > 50) throw new Error('still visiting after 50 records');
    });
    await expect(walk).rejects.toMatchObject({ code: 'INVALID_RESPONSE', message: expect.stringContaining('answered a nextCursor an earlier page had answered') });
    // The second page repeats the first's cursor: refused before its records are visited.
    expect(seen).toEqual(['r0']);
  });

  it('fails with the error of a page asked for ahead, after visiting the pages before it', async () => {
    const seen: string[] = [];
    const client = {
      listAuditRecords: async (query: { cursor?: string }) => {
        if (query.cursor === 'c1') throw new DecisionReplayError(503, 'UNAVAILABLE', 'try later');
        return { items: [record('a')], nextCursor: 'c1' };
      },
    } as unknown as DecisionReplayClient;

    await expect(new HttpRecordSource(client, 1).forEachIn('2026-11-30T10:00:00.000Z', '2026-11-30T11:00:00.000Z', (r) => seen.push(r.id))).rejects.toMatchObject({ status: 503 });
    expect(seen).toEqual(['a']);
  });

  it('reads a window as sub-ranges at once, each page by page, and visits every record of each', async () => {
    const events: string[] = [];
    const client = {
      listAuditRecords: async (query: { from: string; to: string; cursor?: string }) => {
        events.push(`request ${query.from.slice(11, 16)} ${query.cursor ?? 'first'}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        const tag = query.from.slice(11, 16);
        return query.cursor === undefined ? { items: [record(`${tag}-a`)], nextCursor: `${tag}-c1` } : { items: [record(`${tag}-b`)] };
      },
    } as unknown as DecisionReplayClient;
    const seen: string[] = [];

    const count = await new HttpRecordSource(client, 4).forEachIn('2026-11-30T10:00:00.000Z', '2026-11-30T11:00:00.000Z', (r) => seen.push(r.id));

    expect(count).toBe(8);
    expect(seen.sort()).toEqual(['10:00-a', '10:00-b', '10:15-a', '10:15-b', '10:30-a', '10:30-b', '10:45-a', '10:45-b']);
    // All four sub-ranges are asked for before any record is visited.
    expect(events.slice(0, 4).sort()).toEqual(['request 10:00 first', 'request 10:15 first', 'request 10:30 first', 'request 10:45 first']);
  });

  it('cuts a range into consecutive sub-ranges of whole milliseconds, never more than it has milliseconds', () => {
    expect(slices('2026-11-30T10:00:00.000Z', '2026-11-30T11:00:00.000Z', 4)).toEqual([
      ['2026-11-30T10:00:00.000Z', '2026-11-30T10:15:00.000Z'],
      ['2026-11-30T10:15:00.000Z', '2026-11-30T10:30:00.000Z'],
      ['2026-11-30T10:30:00.000Z', '2026-11-30T10:45:00.000Z'],
      ['2026-11-30T10:45:00.000Z', '2026-11-30T11:00:00.000Z'],
    ]);
    expect(slices('2026-11-30T10:00:00.000Z', '2026-11-30T10:00:00.003Z', 4)).toEqual([
      ['2026-11-30T10:00:00.000Z', '2026-11-30T10:00:00.001Z'],
      ['2026-11-30T10:00:00.001Z', '2026-11-30T10:00:00.002Z'],
      ['2026-11-30T10:00:00.002Z', '2026-11-30T10:00:00.003Z'],
    ]);
  });

  it('answers undefined for a record the service does not have (404), and fails on any other error', async () => {
    const locator = { kind: 'snapshot' as const, id: 'x', pk: 'SNAP#x', sk: 'SNAP' };
    const gone = { getAuditRecord: async () => Promise.reject(new DecisionReplayError(404, 'NOT_FOUND', 'no record')) } as unknown as DecisionReplayClient;
    const broken = { getAuditRecord: async () => Promise.reject(new DecisionReplayError(500, 'INTERNAL', 'boom')) } as unknown as DecisionReplayClient;

    expect(await new HttpRecordSource(gone).get(locator)).toBeUndefined();
    await expect(new HttpRecordSource(broken).get(locator)).rejects.toThrow('boom');
  });
});

describe('HttpAuditStore', () => {
  const digest = (windowStart: string) => ({ windowStart, digest: `{"w":"${windowStart}"}`, signature: Buffer.from(`sig ${windowStart}`).toString('base64'), manifestObject: `manifests/${windowStart}.jsonl` });

  it('lists digests in listings of at most 1,000 windows, keeping only the windows asked for', async () => {
    const calls: Array<{ from: string; to: string }> = [];
    const client = {
      listAuditDigests: async (q: { from: string; to: string }) => {
        calls.push(q);
        // The service also answers the window that overlaps `from` from before.
        return { items: [digest(new Date(Date.parse(q.from) - HOUR).toISOString()), digest(q.from)], intervalMinutes: 60 };
      },
    } as unknown as DecisionReplayClient;
    const from = Date.parse('2026-01-01T00:00:00.000Z');

    const starts = await new HttpAuditStore(client, HOUR).listDigests(new Date(from).toISOString(), new Date(from + 2500 * HOUR).toISOString());

    expect(calls.map((c) => [c.from, c.to])).toEqual([
      [new Date(from).toISOString(), new Date(from + 1000 * HOUR).toISOString()],
      [new Date(from + 1000 * HOUR).toISOString(), new Date(from + 2000 * HOUR).toISOString()],
      [new Date(from + 2000 * HOUR).toISOString(), new Date(from + 2500 * HOUR).toISOString()],
    ]);
    expect(starts).toEqual(calls.map((c) => c.from));
  });

  it('serves a listed digest and its signature from the listing, then forgets it; fetches one it has not listed', async () => {
    let listings = 0;
    const client = {
      listAuditDigests: async (q: { from: string }) => {
        listings += 1;
        return { items: [digest(q.from)], intervalMinutes: 60 };
      },
    } as unknown as DecisionReplayClient;
    const store = new HttpAuditStore(client, HOUR);
    const w = '2026-11-30T10:00:00.000Z';
    await store.listDigests(w, '2026-11-30T11:00:00.000Z');

    expect((await store.getObject(`digests/${w}.json`))?.toString()).toBe(`{"w":"${w}"}`);
    expect((await store.getObject(`digests/${w}.sig`))?.toString()).toBe(`sig ${w}`);
    expect(listings).toBe(1);
    // Read again after its signature: fetched anew, not kept for the whole range.
    expect((await store.getObject(`digests/${w}.json`))?.toString()).toBe(`{"w":"${w}"}`);
    expect(listings).toBe(2);
  });

  it('reads a manifest by its window, a missing one as undefined, and refuses an unbounded listing', async () => {
    const client = {
      getAuditManifest: async (w: string) => (w === 'gone' ? Promise.reject(new DecisionReplayError(404, 'NOT_FOUND', 'no manifest')) : `{"manifest":"${w}"}\n`),
    } as unknown as DecisionReplayClient;
    const store = new HttpAuditStore(client, HOUR);

    expect((await store.getObject('manifests/2026-11-30T10:00:00.000Z.jsonl'))?.toString()).toBe('{"manifest":"2026-11-30T10:00:00.000Z"}\n');
    expect(await store.getObject('manifests/gone.jsonl')).toBeUndefined();
    await expect(store.listDigests()).rejects.toThrow('bounded range');
  });
});
