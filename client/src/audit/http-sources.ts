/**
 * The audit ports over the service's HTTP API, for verification outside the service: the digests,
 * signatures and manifests of `GET /audit/digests` and `/audit/manifests/{windowStart}`, and the
 * records of `GET /audit/records` (paged) and `/audit/records/at`. The verification itself is the
 * service's own pure code (functions/core/audit), bundled into the CLI.
 */
import type { AuditRecordSource, AuditStore, ChainHead, RecordLocator } from '../../../functions/core/audit/ports.js';
import type { AuditRecord, FoundRecord } from '../../../functions/core/audit/verify.js';
import type { DecisionReplayClient } from '../client.js';
import { DecisionReplayError } from '../errors.js';
import { repeatedCursorGuard } from '../paging.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** How many windows one `GET /audit/digests` asks for (a digest is about 700 bytes). */
const DIGESTS_PER_REQUEST = 1000;
/** Records per `GET /audit/records` page (the service also ends a page at about 4 MB). */
const RECORDS_PER_PAGE = 1000;
/** Sub-ranges of a window read at once by {@link HttpRecordSource.forEachIn}. */
const SLICES = 4;
/** Records hashed between two turns of the event loop while a page is visited. */
const YIELD_EVERY = 100;

const DIGEST = /^digests\/(.+)\.(json|sig)$/;
const MANIFEST = /^manifests\/(.+)\.jsonl$/;

/** The window length the service seals with (minutes → ms), from a digest listing. */
export async function auditIntervalMs(client: DecisionReplayClient): Promise<number> {
  return (await auditChainInfo(client)).intervalMs;
}

/** The window length and the digester's chain head (undefined before the first digest), from a digest listing. */
export async function auditChainInfo(client: DecisionReplayClient): Promise<{ intervalMs: number; chainHead: ChainHead | undefined }> {
  const now = Date.now();
  const probe = await client.listAuditDigests({ from: iso(now), to: iso(now + 1) });
  // Every window of a range is walked with this step: one that is not a positive whole number of
  // minutes (not the service's answer) would walk forever or compute with NaN.
  if (!Number.isInteger(probe.intervalMinutes) || probe.intervalMinutes <= 0) {
    throw new DecisionReplayError(200, 'INVALID_RESPONSE', `GET /audit/digests answered intervalMinutes ${JSON.stringify(probe.intervalMinutes)}, not a positive whole number of minutes: is ${client.endpoint} a decision-replay service?`);
  }
  return { intervalMs: probe.intervalMinutes * 60_000, chainHead: probe.chainHead };
}

/**
 * The digest store, read through the API. Digests and signatures come in batches from a listing
 * and are kept only until their signature is read (the last use), so memory follows the windows
 * of the range, not its records.
 */
export class HttpAuditStore implements Pick<AuditStore, 'getObject' | 'listDigests'> {
  private readonly cache = new Map<string, { digest: Buffer; signature: Buffer | undefined }>();

  constructor(
    private readonly client: DecisionReplayClient,
    private readonly intervalMs: number,
  ) {}

  async listDigests(from?: string, to?: string): Promise<string[]> {
    if (from === undefined || to === undefined) throw new Error('HttpAuditStore.listDigests needs a bounded range');
    const out: string[] = [];
    const end = Date.parse(to);
    for (let a = Date.parse(from); a < end; a += DIGESTS_PER_REQUEST * this.intervalMs) {
      const b = Math.min(end, a + DIGESTS_PER_REQUEST * this.intervalMs);
      const page = await this.client.listAuditDigests({ from: iso(a), to: iso(b) });
      for (const item of page.items) {
        if (item.windowStart < iso(a) || item.windowStart >= iso(b)) continue;
        this.cache.set(item.windowStart, { digest: Buffer.from(item.digest, 'utf8'), signature: item.signature === null ? undefined : Buffer.from(item.signature, 'base64') });
        out.push(item.windowStart);
      }
    }
    return out;
  }

  async getObject(name: string): Promise<Buffer | undefined> {
    const digest = DIGEST.exec(name);
    if (digest) {
      const [, windowStart = '', type] = digest;
      if (!this.cache.has(windowStart)) await this.listDigests(windowStart, iso(Date.parse(windowStart) + 1));
      const entry = this.cache.get(windowStart);
      if (type === 'json') return entry?.digest;
      this.cache.delete(windowStart);
      return entry?.signature;
    }
    const manifest = MANIFEST.exec(name);
    if (manifest) {
      try {
        return Buffer.from(await this.client.getAuditManifest(manifest[1] as string), 'utf8');
      } catch (err) {
        if (err instanceof DecisionReplayError && err.status === 404) return undefined;
        throw err;
      }
    }
    return undefined;
  }
}

/** [start, end) cut into up to `n` consecutive sub-ranges of whole milliseconds. */
export function slices(start: string, end: string, n: number): Array<[string, string]> {
  const a = Date.parse(start);
  const b = Date.parse(end);
  const k = Math.max(1, Math.min(n, b - a));
  return Array.from({ length: k }, (_, i) => [iso(a + Math.floor(((b - a) * i) / k)), iso(a + Math.floor(((b - a) * (i + 1)) / k))]);
}

function found(record: AuditRecord): FoundRecord {
  return { kind: record.kind, id: record.id, createdAt: record.createdAt, functionName: record.functionName, content: record.content, indexProblems: record.indexProblems };
}

/** The records of a window page by page, and one record at its locator, through the API. */
export class HttpRecordSource implements Pick<AuditRecordSource, 'forEachIn' | 'get'> {
  constructor(
    private readonly client: DecisionReplayClient,
    /** Sub-ranges of a window {@link forEachIn} reads at once. */
    private readonly slices = SLICES,
  ) {}

  async forEachIn(start: string, end: string, visit: (record: FoundRecord) => void): Promise<number> {
    let count = 0;
    // A window is read as SLICES sub-ranges at once, each page by page: while this side hashes one
    // page, the service reads the next page of every slice. Verification does not depend on the
    // order records are seen in, only on seeing each one.
    await Promise.all(
      slices(start, end, this.slices).map(([from, to]) =>
        this.eachPage(from, to, async (records) => {
          for (let i = 0; i < records.length; i++) {
            visit(found(records[i] as AuditRecord));
            count += 1;
            // Let the other requests' answers come in while this page is hashed.
            if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
          }
        }),
      ),
    );
    return count;
  }

  /**
   * Visits the raw records of a window page by page, in order (the export writes them as they
   * come). The next page is requested before the current one is visited, so the service reads it
   * while this side hashes or writes: a range is read in about the time of the slower of the two,
   * not their sum.
   */
  async eachPage(start: string, end: string, visit: (records: AuditRecord[]) => Promise<void>): Promise<void> {
    const fetchPage = (cursor: string | undefined) => this.client.listAuditRecords({ from: start, to: end, limit: RECORDS_PER_PAGE, ...(cursor !== undefined && { cursor }) });
    // A nextCursor already followed (a proxy or cache answering every page alike) would visit the
    // same records again without end, and count them twice: refused before the page is visited.
    const guard = repeatedCursorGuard();
    let page = await fetchPage(undefined);
    for (;;) {
      guard(page.nextCursor, `GET /audit/records (${start} to ${end})`);
      const next = page.nextCursor === undefined ? undefined : fetchPage(page.nextCursor);
      // Its failure is seen when it is awaited below; until then it must not count as unhandled.
      next?.catch(() => undefined);
      await visit(page.items);
      if (next === undefined) return;
      page = await next;
    }
  }

  async get(locator: RecordLocator): Promise<FoundRecord | undefined> {
    try {
      return found(await this.client.getAuditRecord({ kind: locator.kind, pk: locator.pk, sk: locator.sk }));
    } catch (err) {
      if (err instanceof DecisionReplayError && err.status === 404) return undefined;
      throw err;
    }
  }
}
