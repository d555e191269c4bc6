/**
 * The audit bundle: everything an auditor needs to verify a function's records of a time range
 * with no service running — the records as stored (JSON lines, one file per kind), the digests
 * that seal them with their signatures and manifests (the audit store's own layout), the public
 * key, and `bundle.json` naming the range and the SHA-256 of every file. `verify --bundle` runs the
 * service's own verification code over these files.
 *
 *   DIR/bundle.json                 what the bundle holds: range, function, window length, export time, file hashes
 *   DIR/README.md                   how to verify it (with this CLI, or one digest with openssl)
 *   DIR/public-key.pem              the key the digests are signed with (ECDSA P-256, SPKI PEM)
 *   DIR/digests/<window>.json|.sig  the digests (exact bytes) and their DER signatures
 *   DIR/manifests/<window>.jsonl    what each digest seals: (id, kind, contentHash, …) per line
 *   DIR/records/<kind>.jsonl        the records, one canonical JSON object per line, in window order
 *   DIR/records/policies.jsonl      the policy versions the records pin (policy: {name, version, contentHash}),
 *                                   with the digests that seal them, wherever they were created
 *   DIR/records/index-problems.jsonl  index keys that did not match their record at export time
 *
 * Memory: both directions stream. The export holds one page of records, one window's manifest
 * and the ids of the last windows of the late horizon; the verifier holds what the verification run holds (about one
 * manifest), one look-ahead line per record file, and the id and line of every record read (to
 * name a record listed twice, wherever its copies are).
 */
import { createHash, createPublicKey } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { lstat, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as z from 'zod/mini';
import { FileAuditStore } from '../../../functions/adapters/audit/file-audit-store.js';
import { makeDirectory } from '../../../functions/adapters/make-directory.js';
import { auditObjects, DEFAULT_SETTLE_MS, DigestSchema, keyFingerprint, lateWindows, parseManifest, sha256, verifyDigestSignature, windowOf, type ManifestEntry } from '../../../functions/core/audit/digest.js';
import type { AuditRecordSource, RecordLocator } from '../../../functions/core/audit/ports.js';
import { notListedReason, verifyRange } from '../../../functions/core/audit/verify-range.js';
import type { Finding, FoundRecord, VerificationReport } from '../../../functions/core/audit/verify.js';
import { canonicalJson } from '../../../functions/core/json.js';
import { isRecordKind, policyRecordId, RECORD_KINDS, recordFunctionName, recordId, type RecordKind } from '../../../functions/core/records.js';
import { pinOf } from '../../../functions/core/audit/policy-pins.js';
import { policyVersionLocator } from '../../../functions/adapters/dynamodb/keys.js';
import type { DecisionReplayClient } from '../client.js';
import { HttpAuditStore, HttpRecordSource } from './http-sources.js';

export const BUNDLE_FORMAT = 'decision-replay-audit-bundle/1';

/** The record file of each kind. */
export const RECORD_FILES: Readonly<Record<RecordKind, string>> = {
  snapshot: 'records/snapshots.jsonl',
  replay: 'records/replays.jsonl',
  validation: 'records/validations.jsonl',
  'batch-result': 'records/batch-results.jsonl',
  policy: 'records/policies.jsonl',
};
const INDEX_PROBLEMS_FILE = 'records/index-problems.jsonl';

/** A window's start as the digests, signatures and manifests of a bundle are named. */
const WINDOW_NAME = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z`;
const WINDOW_FILE = new RegExp(`^(digests/${WINDOW_NAME}\\.(json|sig)|manifests/${WINDOW_NAME}\\.jsonl)$`);
const LAYOUT_FILES = new Set(['public-key.pem', INDEX_PROBLEMS_FILE, ...Object.values(RECORD_FILES)]);

/**
 * True for a file an export writes (besides bundle.json and README.md): the key, the record files,
 * and each window's digest, signature and manifest. Nothing reads any other file, so nothing
 * verifies what it says.
 */
function isBundleLayoutFile(name: string): boolean {
  return LAYOUT_FILES.has(name) || WINDOW_FILE.test(name);
}

/** An ISO-8601 date-time (bundle.json is not signed: a value the verification cannot compute with is refused, not turned into NaN). */
const Instant = z.string().check(z.refine((v) => /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v)), 'must be an ISO-8601 date-time'));

export const BundleManifestSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  /** The range asked for, and the windows it covers (whole windows are exported). */
  from: Instant,
  to: Instant,
  functionName: z.optional(z.string()),
  /** Minutes per digest window: a positive whole number (the digests' own windows must agree). */
  intervalMinutes: z.number().check(z.refine((v) => Number.isInteger(v) && v > 0, 'must be a positive whole number of minutes')),
  /** When the export ran: the "now" of the offline verification (which windows had to be sealed). */
  exportedAt: Instant,
  /** The service it was exported from. */
  source: z.string(),
  /** SHA-256 hex of the public key's DER (SPKI): compare it with the key you trust. */
  keyFingerprint: z.string(),
  /** `policies`: the pinned policy versions (absent in bundles exported before policy versions were sealed). */
  counts: z.strictObject({ digests: z.int(), records: z.int(), snapshots: z.int(), replays: z.int(), validations: z.int(), batchResults: z.int(), policies: z.optional(z.int()) }),
  /** SHA-256 hex of every other file of the bundle, by path. */
  files: z.record(z.string(), z.string()),
});
export type BundleManifest = z.infer<typeof BundleManifestSchema>;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * bundle.json as an export writes it: the fields in the schema's order, the file list sorted by
 * path, two-space indentation and a final line feed. verify --bundle re-serialises what it read
 * and names any other byte.
 */
export function bundleJsonText(m: BundleManifest): string {
  const ordered: BundleManifest = {
    format: m.format,
    from: m.from,
    to: m.to,
    ...(m.functionName !== undefined && { functionName: m.functionName }),
    intervalMinutes: m.intervalMinutes,
    exportedAt: m.exportedAt,
    source: m.source,
    keyFingerprint: m.keyFingerprint,
    counts: { digests: m.counts.digests, records: m.counts.records, snapshots: m.counts.snapshots, replays: m.counts.replays, validations: m.counts.validations, batchResults: m.counts.batchResults, ...(m.counts.policies !== undefined && { policies: m.counts.policies }) },
    files: Object.fromEntries(Object.entries(m.files).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** A public key as node:crypto writes it in SPKI PEM (64-character lines, a final line feed); the text as it is when it is not a key. */
function canonicalPem(pem: string): string {
  try {
    return createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
  } catch {
    return pem;
  }
}

/** A file written once, hashed as it is written. */
class HashedFile {
  private readonly hash = createHash('sha256');
  private readonly stream: WriteStream;

  constructor(path: string) {
    this.stream = createWriteStream(path, { flags: 'wx' });
  }

  async write(text: string): Promise<void> {
    this.hash.update(text);
    if (!this.stream.write(text)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }

  async close(): Promise<string> {
    await new Promise<void>((resolve, reject) => this.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return this.hash.digest('hex');
  }
}

export interface ExportOptions {
  from: string;
  to: string;
  functionName: string;
  dir: string;
  intervalMs: number;
  /** Progress, one line per window with records. */
  onWindow?: (windowStart: string, records: number) => void;
}

/**
 * Writes a bundle of `functionName`'s records created in [from, to) into `dir` (which must not
 * exist or be empty): the windows of the range, the digest before them (the chain's anchor) and
 * those of the late horizon after them (they seal the range's late records).
 */
export async function exportBundle(client: DecisionReplayClient, options: ExportOptions): Promise<BundleManifest> {
  const { dir, intervalMs: interval, functionName } = options;
  const files: Record<string, string> = {};
  const exportedAt = new Date().toISOString();
  await makeDirectory(dir);
  for (const sub of ['records', 'digests', 'manifests']) await makeDirectory(join(dir, sub));
  const put = async (name: string, bytes: Buffer | string) => {
    await writeFile(join(dir, name), bytes, { flag: 'wx' });
    files[name] = createHash('sha256').update(bytes).digest('hex');
  };

  // As node:crypto writes an SPKI PEM (the form verify --bundle checks the file is in).
  const pem = canonicalPem(await client.getAuditPublicKey());
  await put('public-key.pem', pem);

  // Digests: the range's windows, then those of the late horizon after it; the one before the
  // range (its first digest names that one's hash) too.
  const store = new HttpAuditStore(client, interval);
  const fromWindow = windowOf(Date.parse(options.from), interval).start;
  const rangeEnd = Math.min(Date.parse(options.to), windowOf(Date.now(), interval).start);
  const starts = await store.listDigests(iso(fromWindow), iso(Math.max(fromWindow, rangeEnd) + lateWindows(interval) * interval));
  const firstBytes = starts[0] === undefined ? undefined : await store.getObject(auditObjects.digest(starts[0]));
  const previous = firstBytes && DigestSchema.safeParse(JSON.parse(firstBytes.toString('utf8'))).data?.previousWindowStart;
  // What the digests of the late horizon after the range seal late for this function (few).
  const followerEntries: ManifestEntry[] = [];
  for (const windowStart of previous ? [previous, ...starts] : starts) {
    const digest = await store.getObject(auditObjects.digest(windowStart));
    if (!digest) continue;
    await put(auditObjects.digest(windowStart), digest);
    const signature = await store.getObject(auditObjects.signature(windowStart));
    if (signature) await put(auditObjects.signature(windowStart), signature);
    const manifest = await store.getObject(auditObjects.manifest(windowStart));
    if (manifest) {
      await put(auditObjects.manifest(windowStart), manifest);
      if (Date.parse(windowStart) >= rangeEnd) followerEntries.push(...manifestEntries(manifest).filter((e) => e.late === true && e.functionName === functionName));
    }
  }

  // Records, window by window in order: those the window's index lists, then those its digest
  // names that were not listed (moved out of the index, or late records of an earlier window).
  const source = new HttpRecordSource(client);
  const out = Object.fromEntries(RECORD_KINDS.map((k) => [k, new HashedFile(join(dir, RECORD_FILES[k]))])) as Record<RecordKind, HashedFile>;
  const problems = new HashedFile(join(dir, INDEX_PROBLEMS_FILE));
  const counts = { snapshot: 0, replay: 0, validation: 0, 'batch-result': 0, policy: 0 } as Record<RecordKind, number>;
  const recent: Array<Set<string>> = [];
  // The policy versions the exported records pin: exported after them, with their seal.
  const pinned = new Map<string, { name: string; version: number }>();
  const write = async (record: { kind: RecordKind; id: string; content: Record<string, unknown>; indexProblems: readonly string[] }, written: Set<string>) => {
    const pin = pinOf(record.content);
    if (pin !== undefined) pinned.set(policyRecordId(pin.name, pin.version), pin);
    await out[record.kind].write(`${canonicalJson(record.content)}\n`);
    if (record.indexProblems.length > 0) await problems.write(`${canonicalJson({ kind: record.kind, id: record.id, problems: record.indexProblems })}\n`);
    counts[record.kind] += 1;
    written.add(`${record.kind}\u0000${record.id}`);
  };
  for (let w = fromWindow; w < rangeEnd; w += interval) {
    const windowStart = iso(w);
    const written = new Set<string>();
    await source.eachPage(windowStart, iso(w + interval), async (records) => {
      for (const record of records) if (recordFunctionName(record.content) === functionName) await write(record, written);
    });
    recent.push(written);
    if (recent.length > lateWindows(interval) + 1) recent.shift();
    // The window's manifest as exported (one window's entries in memory at a time).
    const sealed = await readFile(join(dir, auditObjects.manifest(windowStart))).catch(() => undefined);
    const named = [...(sealed ? manifestEntries(sealed).filter((e) => e.functionName === functionName) : []), ...(w + interval >= rangeEnd ? followerEntries : [])];
    for (const entry of named) {
      const key = `${entry.kind}\u0000${entry.id}`;
      if (recent.some((s) => s.has(key))) continue;
      const found = await source.get(entry);
      if (!found) continue;
      const problems = found.indexProblems ?? [];
      const listedAt = listedCreatedAt(problems);
      // Listed (by a changed index key) in a later window of the range: written when that window is.
      if (listedAt !== undefined && windowOf(Date.parse(listedAt), interval).start > w && Date.parse(listedAt) < rangeEnd) continue;
      // Sealed in the range but not listed in its window: the index mismatch the online verification names.
      const unlisted = entry.createdAt >= iso(fromWindow) && entry.createdAt < iso(rangeEnd) ? [notListedReason(entry.createdAt)] : [];
      await write({ kind: found.kind, id: found.id, content: found.content, indexProblems: [...unlisted, ...problems] }, written);
    }
    options.onWindow?.(windowStart, written.size);
  }
  for (const { name, version } of pinned.values()) {
    const found = await source.get(policyVersionLocator(name, version));
    if (!found) continue; // verify --bundle names it missing
    await write({ kind: found.kind, id: found.id, content: found.content, indexProblems: found.indexProblems ?? [] }, new Set());
    // Its seal: the digest of its window, or of the late horizon after it, that names it.
    const created = windowOf(Date.parse(found.createdAt), interval).start;
    for (let k = 0; k <= lateWindows(interval) && !Number.isNaN(created); k++) {
      const windowStart = iso(created + k * interval);
      if (files[auditObjects.digest(windowStart)] === undefined) {
        const digest = await store.getObject(auditObjects.digest(windowStart));
        if (!digest) break;
        await put(auditObjects.digest(windowStart), digest);
        const signature = await store.getObject(auditObjects.signature(windowStart));
        if (signature) await put(auditObjects.signature(windowStart), signature);
        const manifest = await store.getObject(auditObjects.manifest(windowStart));
        if (manifest) await put(auditObjects.manifest(windowStart), manifest);
      }
      const manifest = await readFile(join(dir, auditObjects.manifest(windowStart))).catch(() => undefined);
      if (manifest && manifestEntries(manifest).some((e) => e.kind === 'policy' && e.id === found.id)) break;
    }
  }
  for (const kind of RECORD_KINDS) files[RECORD_FILES[kind]] = await out[kind].close();
  files[INDEX_PROBLEMS_FILE] = await problems.close();

  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    from: options.from,
    to: options.to,
    functionName,
    intervalMinutes: interval / 60_000,
    exportedAt,
    source: client.endpoint,
    keyFingerprint: keyFingerprint(createPublicKey(pem)),
    counts: {
      digests: Object.keys(files).filter((f) => f.startsWith('digests/') && f.endsWith('.json')).length,
      records: counts.snapshot + counts.replay + counts.validation + counts['batch-result'],
      snapshots: counts.snapshot,
      replays: counts.replay,
      validations: counts.validation,
      batchResults: counts['batch-result'],
      policies: counts.policy,
    },
    files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  await writeFile(join(dir, 'bundle.json'), bundleJsonText(manifest), { flag: 'wx' });
  await writeFile(join(dir, 'README.md'), bundleReadme(manifest), { flag: 'wx' });
  return manifest;
}

/**
 * Where the audit index lists a record whose index sort key no longer matches its content: the
 * createdAt its `auditsk` names, read from the index problem that says so (core/audit's wording).
 */
function listedCreatedAt(problems: readonly string[]): string | undefined {
  for (const p of problems) {
    const m = /^index key auditsk is '([^#']+)#/.exec(p);
    if (m) return Number.isNaN(Date.parse(m[1] as string)) ? undefined : m[1];
  }
  return undefined;
}

/** A manifest's entries; none when it does not parse (the verification names that manifest). */
function manifestEntries(bytes: Buffer): ManifestEntry[] {
  try {
    return parseManifest(bytes);
  } catch {
    return [];
  }
}

/** The bundle's README.md: what an export writes for its bundle.json (verify --bundle checks it is that text). */
export function bundleReadme(m: BundleManifest): string {
  return `# Audit bundle: ${m.functionName ?? 'all functions'}, ${m.from} to ${m.to}

Exported ${m.exportedAt} from ${m.source}: ${m.counts.records} records (${m.counts.snapshots} snapshots, ${m.counts.replays} replay results, ${m.counts.validations} validation reports, ${m.counts.batchResults} batch results) sealed by ${m.counts.digests} signed digests of ${m.intervalMinutes}-minute windows.

## Verify it, offline

    npx -p @decision-replay/client decision-replay verify --bundle . --public-key <the key you trust>.pem

This re-hashes every record (RFC 8785 canonical JSON, SHA-256, without its contentHash field), checks
each manifest against its digest (SHA-256, RFC 6962 Merkle root), each digest's ECDSA P-256 signature
and the chain of digests (each names the SHA-256 of the one before), and looks for records that no
digest names. Exit status 0: no finding; 1: findings, each named with its reason; 4: nothing in the
range is sealed; 5: no finding, but the end of the range was not sealed yet at the export.

Get the key you trust from the operator, not from this bundle (it is here for convenience): its
SHA-256 fingerprint (of the DER SPKI) is ${m.keyFingerprint}.
On AWS it is the KMS key's public half: \`aws kms get-public-key --key-id <key> --query PublicKey --output text | base64 -d | sha256sum\`.

## Verify one digest with openssl alone

    openssl dgst -sha256 -verify public-key.pem -signature digests/<window>.sig digests/<window>.json

## Files

- \`bundle.json\`: the range, the window length, the export time and the SHA-256 of every file below.
- \`public-key.pem\`: the signing key's public half.
- \`digests/<window>.json\` and \`.sig\`: each window's digest (exact bytes) and its DER signature.
- \`manifests/<window>.jsonl\`: the (id, kind, contentHash) of every record a digest seals.
- \`records/*.jsonl\`: the records as stored, one JSON object per line, in window order.
- \`records/policies.jsonl\`: the policy versions the records were judged under (each report pins its
  version's contentHash), with the digests that seal them: a record whose pin is not the sealed
  version's was judged under rules that are not the policy's.
- \`records/index-problems.jsonl\`: table index keys that did not match their record at export time.

Index keys are a property of the table, not of the records: the bundle carries what the export saw.
`;
}

// ------------------------------------------------------------------------------------------------
// Reading a bundle

/** A bundle's record files as a record source: each file read once, front to back, window by window. */
class BundleRecordSource implements Pick<AuditRecordSource, 'forEachIn' | 'get'> {
  /** Per record file: where each id was first read (its line), so a second copy is named wherever it is. */
  private readonly readers: Array<{ kind: RecordKind; file: string; lines: AsyncIterator<ExactLine>; line: number; ahead: FoundRecord | undefined; done: boolean; firstLine: Map<string, number> }>;

  /** Records read per kind (each id once): what bundle.json's counts must say. */
  readonly counted: Record<RecordKind, number> = { snapshot: 0, replay: 0, validation: 0, 'batch-result': 0, policy: 0 };

  /** Records of another function than the bundle's (see {@link verifyBundle}). */
  readonly foreign: FoundRecord[] = [];

  constructor(
    private readonly dir: string,
    private readonly indexProblems: ReadonlyMap<string, string[]>,
    private readonly findings: Finding[],
    private readonly functionName: string | undefined,
    /** Records created before this are outside the range asked for (`verify --bundle --from`): passed over. */
    private readonly skipBefore?: string,
  ) {
    this.readers = RECORD_KINDS.map((kind) => ({ kind, file: RECORD_FILES[kind], lines: exactLines(join(dir, RECORD_FILES[kind])), line: 0, ahead: undefined, done: false, firstLine: new Map<string, number>() }));
  }

  async forEachIn(_start: string, end: string, visit: (record: FoundRecord) => void): Promise<number> {
    let count = 0;
    for (const r of this.readers) {
      for (;;) {
        r.ahead ??= await this.next(r);
        if (r.ahead === undefined || r.ahead.createdAt >= end) break;
        if (this.skipBefore !== undefined && r.ahead.createdAt < this.skipBefore) {
          r.ahead = undefined;
          continue;
        }
        visit(r.ahead);
        r.ahead = undefined;
        count += 1;
      }
    }
    return count;
  }

  /** Every record not visited yet: in the bundle, after its sealed range. */
  async rest(visit: (record: FoundRecord) => void): Promise<void> {
    await this.forEachIn('', '\uffff', visit);
  }

  async get(locator: RecordLocator): Promise<FoundRecord | undefined> {
    for await (const line of lineIterator(join(this.dir, RECORD_FILES[locator.kind]))) {
      const record = this.toRecord(locator.kind, line);
      if (record?.id === locator.id) return record;
    }
    return undefined;
  }

  private async next(r: (typeof this.readers)[number]): Promise<FoundRecord | undefined> {
    while (!r.done) {
      const { value, done } = await r.lines.next();
      if (done === true) {
        r.done = true;
        return undefined;
      }
      r.line += 1;
      const where = `${r.file}:${r.line}`;
      const asWritten = (problem: string) => this.findings.push({ id: where, kind: 'bundle-file', reason: `line ${r.line} of ${r.file} ${problem}, where an export writes each record as its RFC 8785 canonical JSON on a line of its own ending in a line feed: the file was edited after the export` });
      if (!value.utf8) asWritten('is not UTF-8');
      else if (!value.terminated) asWritten('does not end in a line feed');
      if (value.text === '') {
        asWritten('is blank');
        continue;
      }
      const record = this.toRecord(r.kind, value.text);
      if (record) {
        // The record's content is verified as it parses; bytes that are not the ones an export
        // writes for it (spaces, key order, escapes, a carriage return, a byte-order mark) are an
        // edit of their own, named even though no value changed.
        if (value.utf8 && canonicalJson(record.content) !== value.text) asWritten(value.text.includes('\r') ? 'ends in a carriage return' : 'is not written as the canonical JSON of the record it holds');
        // A record is exported once. A second line with its id, wherever it is, contradicts the
        // first: both are named, and only the first is verified against the seal.
        const first = r.firstLine.get(record.id);
        if (first === undefined) {
          r.firstLine.set(record.id, r.line);
          this.counted[r.kind] += 1;
          if (this.functionName !== undefined && record.kind !== 'policy' && record.functionName !== undefined && record.functionName !== this.functionName) this.foreign.push(record);
          return record;
        }
        this.findings.push({ id: record.id, kind: r.kind, reason: `listed twice in the bundle: lines ${first} and ${r.line} of ${r.file} both hold this ${r.kind}; a bundle holds each record once, so one of them was added after the export (line ${first} is the one checked against its seal)` });
        continue;
      }
      this.findings.push({ id: `${r.file}:${r.line}`, kind: 'bundle-file', reason: `line ${r.line} of ${r.file} is not a ${r.kind} record (not a JSON object with an id and a createdAt)` });
    }
    return undefined;
  }

  private toRecord(kind: RecordKind, line: string): FoundRecord | undefined {
    let content: unknown;
    try {
      content = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (typeof content !== 'object' || content === null || Array.isArray(content)) return undefined;
    const c = content as Record<string, unknown>;
    const id = recordId(kind, c);
    if (id === '' || id === '/' || typeof c.createdAt !== 'string') return undefined;
    const problems = this.indexProblems.get(`${kind}\u0000${id}`);
    return { kind, id, createdAt: c.createdAt, functionName: recordFunctionName(c), content: c, ...(problems && { indexProblems: problems }) };
  }
}

/**
 * The lines of a text file, streamed; a missing file has none (bundle.json's file list names it),
 * and so has a directory in a file's place (named the same way, rather than crash with EISDIR).
 */
async function* lineIterator(path: string): AsyncGenerator<string> {
  try {
    if (!(await lstat(path)).isFile()) return;
  } catch {
    return;
  }
  yield* createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
}

/** A line of a bundle file as its bytes are: split at line feeds only, decoded as strict UTF-8. */
interface ExactLine {
  text: string;
  /** False for a last line with no line feed after it. */
  terminated: boolean;
  /** False when the line's bytes are not UTF-8 (`text` then holds replacement characters). */
  utf8: boolean;
}

/**
 * The lines of a file exactly as written: split at `\n` alone (a `\r` stays in its line, where
 * readline would take it for a line break and drop it), decoded strictly (an invalid byte or a
 * byte-order mark is seen, not replaced or skipped), streamed one line at a time. None for a
 * missing file or a folder in its place (bundle.json's file list names it).
 */
async function* exactLines(path: string): AsyncGenerator<ExactLine> {
  try {
    if (!(await lstat(path)).isFile()) return;
  } catch {
    return;
  }
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const lineOf = (bytes: Buffer, terminated: boolean): ExactLine => {
    try {
      return { text: decoder.decode(bytes), terminated, utf8: true };
    } catch {
      return { text: bytes.toString('utf8'), terminated, utf8: false };
    }
  };
  let pending: Buffer[] = [];
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk as Buffer;
    let at = 0;
    for (let lf = bytes.indexOf(10, at); lf !== -1; lf = bytes.indexOf(10, at)) {
      pending.push(bytes.subarray(at, lf));
      yield lineOf(Buffer.concat(pending), true);
      pending = [];
      at = lf + 1;
    }
    if (at < bytes.length) pending.push(bytes.subarray(at));
  }
  if (pending.length > 0) yield lineOf(Buffer.concat(pending), false);
}

async function sha256File(path: string): Promise<string | undefined> {
  try {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * Every entry under `dir`, in one walk (links not followed, nothing read): the files, and the
 * entries that are neither regular files nor folders (symbolic links, pipes, sockets, devices).
 */
async function bundleEntries(dir: string, under = '', out: { files: string[]; irregular: Array<{ path: string; type: string }> } = { files: [], irregular: [] }): Promise<{ files: string[]; irregular: Array<{ path: string; type: string }> }> {
  let entries;
  try {
    entries = await readdir(join(dir, under), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const path = under === '' ? e.name : `${under}/${e.name}`;
    if (e.isDirectory()) await bundleEntries(dir, path, out);
    else if (e.isFile()) out.files.push(path);
    else out.irregular.push({ path, type: e.isSymbolicLink() ? 'a symbolic link' : e.isFIFO() ? 'a named pipe' : e.isSocket() ? 'a socket' : 'a device' });
  }
  return out;
}

export interface BundleVerification {
  report: VerificationReport;
  bundle: BundleManifest;
  /** The fingerprint of the key the digests were verified with. */
  keyFingerprint: string;
}

/** A bundle that cannot be read at all (no bundle.json, or not one): a usage error for the CLI. */
export class BundleFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleFormatError';
  }
}

/**
 * Verifies a bundle offline: the service's verification over the bundle's files, plus the bundle's
 * own file list (every file listed, none changed, none added). With `trustedKeyPem`, the digests
 * must verify with that key, not only with the one the bundle carries.
 */
export async function verifyBundle(dir: string, options: { trustedKeyPem?: string; from?: string; to?: string } = {}): Promise<BundleVerification> {
  // An export writes regular files and folders only. A symbolic link or a device or pipe (say
  // records/snapshots.jsonl -> /dev/zero, easily carried in a tar or zip) would be followed and
  // read without end: such a bundle is refused before anything is read, naming each entry.
  const { files, irregular } = await bundleEntries(dir);
  if (irregular.length > 0) {
    throw new BundleFormatError(`${irregular.map((e) => `${e.path} is ${e.type}`).join('; ')}: an audit bundle holds regular files and folders only, so ${irregular.length === 1 ? 'it is' : 'they are'} not read (replace ${irregular.length === 1 ? 'it' : 'them'} with the exported file${irregular.length === 1 ? '' : 's'})`);
  }
  let bundle: BundleManifest;
  let manifestBytes: Buffer;
  try {
    manifestBytes = await readFile(join(dir, 'bundle.json'));
    const parsed = BundleManifestSchema.safeParse(JSON.parse(manifestBytes.toString('utf8')));
    if (!parsed.success) throw new BundleFormatError(`${join(dir, 'bundle.json')} is not an audit bundle manifest: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`);
    bundle = parsed.data;
  } catch (err) {
    if (err instanceof BundleFormatError) throw err;
    throw new BundleFormatError(`cannot read ${join(dir, 'bundle.json')}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (is this an audit bundle directory?)' : (err as Error).message}`);
  }
  const fileFindings: Finding[] = [];
  const bundleFile = (id: string, reason: string) => fileFindings.push({ id, kind: 'bundle-file', reason });

  // bundle.json and README.md are not in bundle.json's file list, and bundle.json is not signed:
  // each is checked against the text an export writes for what bundle.json says. An edit that
  // changes no value (spaces, key order) is named as well, and the README an auditor reads cannot
  // say other than what the export said (which key to trust, how to verify).
  if (!manifestBytes.equals(Buffer.from(bundleJsonText(bundle), 'utf8'))) {
    bundleFile('bundle.json', 'its bytes are not those an export writes for the values it holds (fields in their order, files sorted by path, two-space indentation, a final line feed): bundle.json was edited after the export');
  }
  const readmeBytes = files.includes('README.md') ? await readFile(join(dir, 'README.md')).catch(() => undefined) : undefined;
  if (readmeBytes === undefined) bundleFile('README.md', 'missing from the bundle: every export writes it');
  else if (!readmeBytes.equals(Buffer.from(bundleReadme(bundle), 'utf8'))) bundleFile('README.md', 'not the text an export writes for this bundle.json: README.md was edited after the export (it is a description, not evidence: the records are verified regardless)');

  // The file list: what was exported is what is here.
  const present = new Set(files.filter((f) => f !== 'bundle.json' && f !== 'README.md'));
  for (const [file, hash] of Object.entries(bundle.files)) {
    const actual = present.has(file) ? await sha256File(join(dir, file)) : undefined;
    present.delete(file);
    if (actual === undefined) bundleFile(file, 'listed in bundle.json but missing from the bundle');
    else if (actual !== hash) bundleFile(file, `its SHA-256 is ${actual}, bundle.json lists ${hash}: the file was changed after the export`);
    // Listed with its right hash, but no export writes it: added after the export with bundle.json
    // edited to list it (bundle.json is not signed), and nothing checks what it says.
    else if (!isBundleLayoutFile(file)) bundleFile(file, `listed in bundle.json, but not a file an export writes (${BUNDLE_FORMAT}): nothing verifies what it says, and it was added after the export with bundle.json edited to list it (bundle.json is not signed)`);
  }
  for (const file of present) bundleFile(file, 'in the bundle but not listed in bundle.json: added after the export');

  // The key: the bundle's, unless the auditor brought the one they trust.
  let pem: string;
  try {
    pem = await readFile(join(dir, 'public-key.pem'), 'utf8');
  } catch {
    pem = '';
  }
  const fingerprintOf = (key: string) => {
    try {
      return keyFingerprint(createPublicKey(key));
    } catch {
      return undefined;
    }
  };
  const keyUsed = options.trustedKeyPem ?? pem;
  const trusted = fingerprintOf(keyUsed) ?? 'not a public key';
  const extraSignatureFindings: Finding[] = [];
  if (options.trustedKeyPem !== undefined && fingerprintOf(pem) !== trusted) {
    extraSignatureFindings.push({ id: 'public-key.pem', kind: 'bundle-file', reason: `the bundle's public key (fingerprint ${fingerprintOf(pem) ?? 'unreadable'}) is not the trusted key (${trusted}): digests were verified with the trusted key` });
  }
  if (fingerprintOf(pem) !== undefined && canonicalPem(pem) !== pem) {
    bundleFile('public-key.pem', 'not written as an export writes the key (SPKI PEM as node:crypto writes it: 64-character lines, a final line feed): the file was edited after the export (the key in it is the same)');
  }
  if (fingerprintOf(pem) !== bundle.keyFingerprint) {
    extraSignatureFindings.push({ id: 'public-key.pem', kind: 'bundle-file', reason: `the bundle's public key has fingerprint ${fingerprintOf(pem) ?? '(unreadable)'}, bundle.json names ${bundle.keyFingerprint}` });
  }

  const problems = new Map<string, string[]>();
  let problemLine = 0;
  for await (const line of exactLines(join(dir, INDEX_PROBLEMS_FILE))) {
    problemLine += 1;
    const asWritten = (problem: string) => bundleFile(`${INDEX_PROBLEMS_FILE}:${problemLine}`, `line ${problemLine} of ${INDEX_PROBLEMS_FILE} ${problem}, where an export writes each index problem as canonical JSON ({kind, id, problems}) on a line of its own ending in a line feed: the file was edited after the export`);
    if (!line.utf8) asWritten('is not UTF-8');
    else if (!line.terminated) asWritten('does not end in a line feed');
    let p: { kind?: unknown; id?: unknown; problems?: unknown } | undefined;
    try {
      p = JSON.parse(line.text) as typeof p;
    } catch {
      asWritten(line.text === '' ? 'is blank' : 'is not JSON');
      continue;
    }
    if (p === null || typeof p !== 'object' || !isRecordKind(p.kind) || typeof p.id !== 'string' || !Array.isArray(p.problems)) {
      asWritten('is not an index problem');
      continue;
    }
    if (line.utf8 && canonicalJson(p) !== line.text) asWritten('is not written as canonical JSON');
    problems.set(`${p.kind}\u0000${p.id}`, p.problems.map(String));
  }
  const recordFindings: Finding[] = [];
  // Verifying part of the bundle (--from/--to): its records outside that part are not checked,
  // and not "unexpected" either (a digest of the bundle names them).
  const part = options.from !== undefined || options.to !== undefined ? { from: options.from ?? bundle.from, to: options.to ?? bundle.to } : undefined;
  const records = new BundleRecordSource(dir, problems, recordFindings, bundle.functionName, part === undefined ? undefined : iso(windowOf(Date.parse(part.from), bundle.intervalMinutes * 60_000).start));
  // bundle.json is not signed, the digests are: what it says of the windows must agree with them.
  // Its window length is checked against every digest's window, and the export time cannot make a
  // window that has a digest in the bundle read as "not sealed yet" (an export time moved back would
  // otherwise leave an edited record unchecked): the verification's "now" is at least the end of
  // the newest window sealed, plus the digester's settling time.
  // When bundle.json's length is not the digests' one (all alike), the records are verified on the
  // digests' windows, so what the edit would hide is named as well.
  const { newestSealedEnd, lengths, findings: windowFindings } = await digestWindows(dir, bundle.intervalMinutes * 60_000);
  for (const reason of windowFindings) bundleFile('bundle.json', reason);
  const interval = lengths.size === 1 ? ([...lengths][0] as number) : bundle.intervalMinutes * 60_000;
  const exportedAt = Math.max(Date.parse(bundle.exportedAt), newestSealedEnd + DEFAULT_SETTLE_MS);
  const read = new Set<string>();
  const report = await verifyRange(
    { records, store: bundleStore(dir, read), signer: { publicKeyPem: async () => keyUsed }, clock: { now: () => exportedAt }, intervalMs: interval, recordsLabel: 'in the bundle', offline: true, policyLocator: policyVersionLocator },
    { from: options.from ?? bundle.from, to: options.to ?? bundle.to, functionName: bundle.functionName },
  );
  for (const finding of await unreadWindowFiles(dir, files, read, keyUsed)) fileFindings.push(finding);
  const outside: Finding[] = [];
  const unsealed = report.unsealed;
  const bundleWindows = { from: iso(windowOf(Date.parse(bundle.from), interval).start), to: iso(windowOf(Date.parse(bundle.to) - 1, interval).start + interval) };
  await records.rest((r) => {
    if (part !== undefined && r.createdAt >= bundleWindows.from && r.createdAt < bundleWindows.to) return;
    // Created in the end of the range that was not sealed yet at the export: that part is reported as not verified (unsealed), not as records no digest vouches for.
    if (unsealed !== null && r.createdAt >= unsealed.from && r.createdAt < unsealed.to) return;
    if (bundle.functionName === undefined || r.functionName === bundle.functionName) outside.push({ id: r.id, kind: r.kind, reason: `in the bundle, created at ${r.createdAt}, outside the windows it seals: no digest of the bundle names it` });
  });
  // bundle.json's counts are what the export wrote: each record file holds that many records.
  const held = records.counted;
  const digestsHeld = files.filter((f) => /^digests\/[^/]+\.json$/.test(f)).length;
  const said = bundle.counts;
  const countsFound: string[] = [];
  const compare = (label: string, listed: number | undefined, actual: number) => {
    if (listed !== undefined && listed !== actual) countsFound.push(`${label} ${listed} (the bundle holds ${actual})`);
  };
  compare('records', said.records, held.snapshot + held.replay + held.validation + held['batch-result']);
  compare('snapshots', said.snapshots, held.snapshot);
  compare('replays', said.replays, held.replay);
  compare('validations', said.validations, held.validation);
  compare('batchResults', said.batchResults, held['batch-result']);
  compare('policies', said.policies, held.policy);
  compare('digests', said.digests, digestsHeld);
  if (countsFound.length > 0) bundleFile('bundle.json', `its counts are not what the bundle holds: ${countsFound.join(', ')}; records were added or removed, or bundle.json was edited, after the export`);
  // Another function's record: an export of F writes F's records only (batch results by the
  // function of the snapshot they replayed), and the verification of F's windows passes over the
  // rest. So one here was added, or bundle.json's function was changed to pass over F's own — named
  // unless the verification already named it (a record whose function was rewritten in place).
  const named = new Set([report.altered, report.missing, report.unexpected, report.indexMismatches].flat().map((f) => `${f.kind}\u0000${f.id}`));
  for (const r of records.foreign) {
    if (named.has(`${r.kind}\u0000${r.id}`)) continue;
    outside.push({ id: r.id, kind: r.kind, reason: `in a bundle of function '${bundle.functionName ?? ''}' (bundle.json), but it is a record of '${r.functionName ?? ''}', which an export of '${bundle.functionName ?? ''}' does not hold: the record was added, or bundle.json's function was changed (bundle.json is not signed)` });
  }
  const merged: VerificationReport = {
    ...report,
    altered: [...report.altered, ...fileFindings, ...recordFindings],
    unexpected: [...report.unexpected, ...outside],
    badSignatures: [...report.badSignatures, ...extraSignatureFindings],
  };
  const c = merged.counts;
  merged.counts = { ...c, altered: merged.altered.length, unexpected: merged.unexpected.length, badSignatures: merged.badSignatures.length };
  merged.clean = merged.clean && fileFindings.length + recordFindings.length + outside.length + extraSignatureFindings.length === 0;
  return { report: merged, bundle, keyFingerprint: trusted };
}

/**
 * The bundle's digests, signatures and manifests; a folder in a file's place reads as missing (named
 * by the verification), not as a crash. Each name asked for is added to `read`.
 */
function bundleStore(dir: string, read: Set<string>): Pick<FileAuditStore, 'getObject' | 'listDigests'> {
  const files = new FileAuditStore(dir);
  return {
    listDigests: (from, to) => files.listDigests(from, to),
    getObject: (name) => {
      read.add(name);
      return files.getObject(name).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
        throw err;
      });
    },
  };
}

/**
 * The window files (digest, signature, manifest) the verification did not read — it reads the
 * range's windows, the one before them, the late horizon after them and the seals of pinned policy
 * versions — checked for what every file an export writes is: a digest that states the window it
 * is named after, whose signature verifies with the key and whose manifest is its window's and
 * matches its hash; a signature or a manifest beside its window's digest. A genuine digest of
 * another window passes (it is the service's own); one copied under another name, forged, or a
 * signature or manifest without a digest would otherwise sit in the bundle unverified, looking sealed.
 */
async function unreadWindowFiles(dir: string, files: readonly string[], read: ReadonlySet<string>, publicKey: string): Promise<Finding[]> {
  const present = new Set(files);
  const findings: Finding[] = [];
  const bytesOf = (name: string) => (present.has(name) ? readFile(join(dir, name)).catch(() => undefined) : Promise.resolve(undefined));
  for (const file of [...present].sort()) {
    const m = /^(?:digests|manifests)\/(.+)\.(json|sig|jsonl)$/.exec(file);
    if (m === null || read.has(file) || !WINDOW_FILE.test(file)) continue;
    const window = m[1] as string;
    const name = (problem: string) => findings.push({ id: file, kind: 'bundle-file', reason: `not read by the verification (no window the verification checks is ${window}), and ${problem}: it was added or changed after the export` });
    if (m[2] !== 'json') {
      if (!present.has(auditObjects.digest(window))) name(`there is no digest of its window ${window} in the bundle, so nothing verifies what it says`);
      continue;
    }
    const bytes = await bytesOf(file);
    let digest;
    try {
      digest = bytes && DigestSchema.parse(JSON.parse(bytes.toString('utf8')));
    } catch {
      digest = undefined;
    }
    const signature = await bytesOf(auditObjects.signature(window));
    const manifest = await bytesOf(auditObjects.manifest(window));
    if (bytes === undefined || digest === undefined) name('it is not a digest');
    else if (digest.windowStart !== window) name(`it states window ${digest.windowStart} (another window's digest under this name)`);
    else if (signature === undefined || !verifyDigestSignature(bytes, signature, publicKey)) name(`its signature ${signature === undefined ? 'is missing' : 'does not verify with the public key'}`);
    else if (digest.manifestObject !== auditObjects.manifest(window) || manifest === undefined || sha256(manifest).toString('hex') !== digest.manifestHash) name(`its manifest ${digest.manifestObject} is not its window's, or not the one it signed`);
  }
  return findings;
}

/**
 * The windows of the bundle's digests against bundle.json's window length: a finding for each
 * digest whose window is not that long, the window lengths the digests seal, and the end of the
 * newest window a digest seals (-Infinity when none). A digest that cannot be read or parsed is left to the verification, which names it.
 */
async function digestWindows(dir: string, intervalMs: number): Promise<{ newestSealedEnd: number; lengths: Set<number>; findings: string[] }> {
  const findings: string[] = [];
  const lengths = new Set<number>();
  let newestSealedEnd = -Infinity;
  let names: string[];
  try {
    names = (await readdir(join(dir, 'digests'), { withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith('.json')).map((e) => e.name);
  } catch {
    return { newestSealedEnd, lengths, findings };
  }
  for (const name of names.sort()) {
    let digest;
    try {
      digest = DigestSchema.safeParse(JSON.parse(await readFile(join(dir, 'digests', name), 'utf8'))).data;
    } catch {
      continue;
    }
    if (digest === undefined) continue;
    const start = Date.parse(digest.windowStart);
    const end = Date.parse(digest.windowEnd);
    if (Number.isNaN(start) || Number.isNaN(end) || !Number.isInteger((end - start) / 60_000) || end <= start) continue;
    lengths.add(end - start);
    if (end - start !== intervalMs) {
      findings.push(`bundle.json says the windows are ${intervalMs / 60_000} minutes long, but the digest of ${digest.windowStart} seals a window of ${(end - start) / 60_000} minutes: bundle.json was changed after the export (it is not signed; the digests are)`);
    }
    newestSealedEnd = Math.max(newestSealedEnd, end);
  }
  return { newestSealedEnd, lengths, findings };
}

/** True when `dir` does not exist or is an empty directory. */
export async function isFreshDirectory(dir: string): Promise<boolean> {
  try {
    const s = await stat(dir);
    return s.isDirectory() && (await readdir(dir)).length === 0;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

