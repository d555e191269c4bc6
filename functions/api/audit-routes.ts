/**
 * The audit seal over HTTP: the public key digests are signed with, the digests themselves (for
 * an export an auditor verifies offline), and the verification of a time range.
 */
import { auditObjects, DigestSchema } from '../core/audit/digest.js';
import type { StoredDigest } from '../core/audit/digest-list.js';
import type { AuditRecordSource, AuditStore, ChainHeadStore, DigestSigner } from '../core/audit/ports.js';
import { MAX_SYNC_VERIFY_RECORDS, verifyRange } from '../core/audit/service.js';
import { AuditRecordSchema, type AuditRecord, type FoundRecord } from '../core/audit/verify.js';
import { pageSchema } from '../core/ports.js';
import { isRecordKind, RECORD_KINDS } from '../core/records.js';
import type { PolicyLocator } from '../core/audit/policy-pins.js';
import { NotFoundError, UnprocessableError, ValidationError } from '../core/errors.js';
import type { Clock } from '../core/ports.js';
import { errorBody, JsonText, type ApiResponse, type RouteMap } from '../http/api.js';
import { isCalendarInstant } from '../core/instant.js';
import { parseFunctionName, parseInstant, parseListParams, pathParam } from '../http/params.js';

export interface AuditRoutesDeps {
  records: AuditRecordSource;
  store: AuditStore;
  /** The digester's chain head: verification checks every window it says was sealed. */
  head?: Pick<ChainHeadStore, 'get'>;
  signer: Pick<DigestSigner, 'publicKeyPem'>;
  clock: Clock;
  intervalMs: number;
  /** Where a policy version is stored: verification checks the policy pins of the range's records against the sealed versions. */
  policyLocator?: PolicyLocator;
  /** Most bytes of one manifest or verification answer (default {@link ANSWER_BYTES}). */
  answerBytes?: number;
}

/**
 * Most bytes of one answer of a manifest or a verification report: 4 MiB, under the 6 MB a Lambda
 * answers once quotes are escaped in the result envelope (~11 % more for manifest lines); a larger
 * answer failed as an opaque 500 on AWS. A larger manifest (~16,000 records and up) is read in
 * ranges (`Range: bytes=…`), as the CLI does; without one it is a 422 saying so. A larger report
 * is a 422 with its counts, pointing to the CLI's verify.
 */
export const ANSWER_BYTES = 4 * 1024 * 1024;

/**
 * A `Range` header of one byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`). Any other form —
 * several ranges, another unit, not a range at all — is ignored, as RFC 9110 lets a server do.
 */
function byteRange(header: string | undefined): { start: number } & ({ end: number } | { suffix: number }) | { start?: undefined } | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const [first, last] = [m[1] === '' ? undefined : Number(m[1]), m[2] === '' ? undefined : Number(m[2])];
  if (first === undefined) return { start: 0, suffix: last as number };
  if (last !== undefined && last < first) return undefined;
  return { start: first, end: last ?? Number.MAX_SAFE_INTEGER };
}

/** A page of `GET /audit/records`. */
export const AuditRecordPageSchema = pageSchema(AuditRecordSchema);

/** What one page of records may weigh: a Lambda answers at most 6 MB. */
export const AUDIT_RECORDS_PAGE_BYTES = 4 * 1024 * 1024;

const WINDOW_START = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function requiredRange(query: Readonly<Record<string, string>>): { from: string; to: string } {
  const missing = (['from', 'to'] as const).filter((k) => query[k] === undefined);
  if (missing.length > 0) {
    throw new ValidationError(`query parameter${missing.length > 1 ? 's' : ''} ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required (ISO-8601 instants)`, {
      details: { issues: missing.map((path) => ({ path, message: 'Required' })) },
    });
  }
  const from = parseInstant('from', query.from as string);
  const to = parseInstant('to', query.to as string);
  if (from >= to) throw new ValidationError(`from (${from}) must be before to (${to})`, { details: { issues: [{ path: 'from', message: 'not before to' }] } });
  return { from, to };
}

export function auditRoutes(deps: AuditRoutesDeps): RouteMap {
  return {
    'GET /audit/public-key': async () => ({
      status: 200,
      body: await deps.signer.publicKeyPem(),
      contentType: 'application/x-pem-file',
    }),

    'GET /audit/verify': async (req) => {
      const range = requiredRange(req.query);
      const functionName = req.query.functionName === undefined ? undefined : parseFunctionName(req.query.functionName);
      const report = await verifyRange(deps, { ...range, functionName, maxRecords: MAX_SYNC_VERIFY_RECORDS });
      // A range with tens of thousands of findings (every record of a window rewritten) makes a
      // report larger than one answer: refused with its verdict and counts, never an opaque 500.
      const text = JSON.stringify(report);
      const size = Buffer.byteLength(text);
      const limit = deps.answerBytes ?? ANSWER_BYTES;
      if (size > limit) {
        const c = report.counts;
        const findings = c.altered + c.missing + c.unexpected + c.late + c.chainBreaks + c.badSignatures + c.indexMismatches;
        throw new UnprocessableError(`the verification of ${range.from} – ${range.to} is not clean and lists ${findings} findings, more than one answer holds (${size} bytes of report): run \`decision-replay verify --from ${range.from} --to ${range.to}${functionName === undefined ? '' : ` --function ${functionName}`}\`, which verifies the same range page by page and prints every finding; details.counts has the counts`, {
          code: 'VERIFY_REPORT_TOO_LARGE',
          details: { clean: report.clean, counts: report.counts, sizeBytes: size, limitBytes: limit },
        });
      }
      return { status: 200, body: new JsonText(text) };
    },

    'GET /audit/digests': async (req) => {
      const { from, to } = requiredRange(req.query);
      // Windows that overlap [from, to): those starting up to one interval before `from`.
      const starts = await deps.store.listDigests(new Date(Date.parse(from) - deps.intervalMs + 1).toISOString(), to);
      const items: StoredDigest[] = [];
      for (const windowStart of starts) {
        const [bytes, signature] = await Promise.all([deps.store.getObject(auditObjects.digest(windowStart)), deps.store.getObject(auditObjects.signature(windowStart))]);
        if (!bytes) continue;
        const parsed = DigestSchema.safeParse(safeJson(bytes.toString('utf8')));
        items.push({ windowStart, digest: bytes.toString('utf8'), signature: signature ? signature.toString('base64') : null, manifestObject: parsed.success ? parsed.data.manifestObject : null });
      }
      const chainHead = await deps.head?.get();
      return { status: 200, body: { items, intervalMinutes: deps.intervalMs / 60_000, ...(chainHead && { chainHead }) } };
    },

    'GET /audit/records': async (req) => {
      const { from, to } = requiredRange(req.query);
      const { limit, cursor } = parseListParams(req.query);
      const page = await deps.records.pageIn(from, to, { limit, cursor, maxBytes: AUDIT_RECORDS_PAGE_BYTES }, (record) => JSON.stringify(toWire(record)));
      // The records arrive encoded (each serialised once, which also measured the page): the body
      // is written around them, in the shape of AuditRecordPageSchema.
      return { status: 200, body: new JsonText(`{"items":[${page.items.join(',')}]${page.nextCursor === undefined ? '' : `,"nextCursor":${JSON.stringify(page.nextCursor)}`}}`) };
    },

    'GET /audit/records/at': async (req) => {
      const { kind, pk, sk } = req.query;
      const issues = [
        ...(isRecordKind(kind) ? [] : [{ path: 'kind', message: `must be one of ${RECORD_KINDS.join(', ')}` }]),
        ...(pk === undefined || pk === '' ? [{ path: 'pk', message: 'Required' }] : []),
        ...(sk === undefined || sk === '' ? [{ path: 'sk', message: 'Required' }] : []),
      ];
      if (issues.length > 0) throw new ValidationError(`query parameters: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')} (a record's locator, as its manifest entry names it)`, { details: { issues } });
      const found = await deps.records.get({ kind: kind as AuditRecord['kind'], id: '', pk: pk as string, sk: sk as string });
      if (!found || found.kind !== kind) throw new NotFoundError('record', `${pk as string} ${sk as string}`, { message: `no ${kind as string} record at pk '${pk as string}', sk '${sk as string}'` });
      return { status: 200, body: toWire(found) };
    },

    'GET /audit/manifests/{windowStart}': async (req): Promise<ApiResponse> => {
      const given = pathParam(req.pathParameters, 'windowStart'); // pathParam decodes once; decoding again turned '%25' into a 500
      // Any ISO-8601 spelling of the instant, as the other audit routes take it (…T19:00Z, …T19:00:00Z), names the same window.
      const windowStart = WINDOW_START.test(given) && isCalendarInstant(given) ? given : canonicalInstant(given);
      if (windowStart === undefined) throw new ValidationError(`windowStart must be a window start such as 2026-11-30T19:00:00.000Z, got '${given}'`, { details: { issues: [{ path: 'windowStart', message: 'not a window start' }] } });
      const limit = deps.answerBytes ?? ANSWER_BYTES;
      const name = auditObjects.manifest(windowStart);
      const notFound = () => new NotFoundError('manifest', windowStart, { message: `no manifest for window ${windowStart}` });
      const range = byteRange(req.headers.range);
      // A manifest is ASCII (ids, hashes, instants, names of [A-Za-z0-9_.:-]): any byte range of it
      // is whole characters, so a piece travels as text.
      if (range === undefined) {
        const head = await deps.store.getObjectRange(name, 0, limit);
        if (!head) throw notFound();
        if (head.size > limit) {
          throw new UnprocessableError(`the manifest of window ${windowStart} is ${head.size} bytes, more than one answer holds (${limit}): read it in ranges, e.g. Range: bytes=0-${limit - 1}, then from where each answer's Content-Range ends (the CLI does)`, {
            code: 'MANIFEST_TOO_LARGE',
            details: { sizeBytes: head.size, limitBytes: limit },
          });
        }
        return { status: 200, body: head.bytes.toString('utf8'), contentType: 'application/x-ndjson', headers: { 'accept-ranges': 'bytes' } };
      }
      // `bytes=-n`: the last n bytes, which needs the size first (read with one byte, not the whole).
      let start = range.start ?? 0;
      if ('suffix' in range) {
        const size = (await deps.store.getObjectRange(name, 0, 0))?.size;
        if (size === undefined) throw notFound();
        start = Math.max(0, size - range.suffix);
        if (range.suffix === 0) start = size;
      }
      const end = Math.min('end' in range ? range.end : Number.MAX_SAFE_INTEGER, start + limit - 1);
      const piece = await deps.store.getObjectRange(name, start, end);
      if (!piece) throw notFound();
      // An empty manifest (a window with no records) has no byte to range over: it is answered
      // whole, as RFC 9110 lets a server answer any Range.
      if (piece.size === 0) return { status: 200, body: '', contentType: 'application/x-ndjson', headers: { 'accept-ranges': 'bytes' } };
      if (start >= piece.size) {
        return {
          status: 416,
          body: errorBody('RANGE_NOT_SATISFIABLE', `the range ${req.headers.range ?? ''} starts at or after the end of the manifest of window ${windowStart} (${piece.size} bytes)`, { sizeBytes: piece.size }),
          headers: { 'content-range': `bytes */${piece.size}` },
        };
      }
      // A range longer than one answer holds is answered with its first part; Content-Range says
      // which bytes came, and the reader asks for the rest.
      const last = start + piece.bytes.length - 1;
      return { status: 206, body: piece.bytes.toString('utf8'), contentType: 'application/x-ndjson', headers: { 'accept-ranges': 'bytes', 'content-range': `bytes ${start}-${last}/${piece.size}` } };
    },
  };
}

function toWire(record: FoundRecord): AuditRecord {
  return { kind: record.kind, id: record.id, createdAt: record.createdAt, ...(record.functionName !== undefined && { functionName: record.functionName }), content: record.content, indexProblems: [...(record.indexProblems ?? [])] };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `value` as a canonical UTC instant (`2026-11-30T19:00:00.000Z`), or undefined when it is no ISO-8601 date-time. */
function canonicalInstant(value: string): string | undefined {
  try {
    return parseInstant('windowStart', value);
  } catch {
    return undefined;
  }
}
