/**
 * Snapshot-id manifests: a batch's explicit ids given as an object in S3 (`snapshotManifest`)
 * rather than in the request body, and the same text formats the CLI's `--ids-file` reads.
 *
 * Formats, told apart by the first non-blank line (a UTF-8 byte-order mark is ignored, CRLF is
 * accepted):
 * - **JSON Lines**: the first line starts with `{`; every line is an object with a string
 *   `snapshotId` (other fields are ignored) — the shape ItemReader's JSONL reads;
 * - **CSV with a header**: a field of the first line is `snapshotId`; that column of every
 *   following row is the id (other columns are ignored; fields may be double-quoted);
 * - **plain**: one id a line (a headerless one-column CSV is the same thing).
 *
 * Blank lines are skipped. Every id must be a ULID; an id listed twice is refused, naming both
 * lines (as `snapshotIds` in a body is); more than {@link MAX_LISTED_SNAPSHOTS} ids is
 * BATCH_TOO_LARGE. Parsing is pure: the lines come from the caller (S3 ranged GETs, a local file).
 */
import * as z from 'zod/mini';
import { ValidationError, type FieldIssue } from './errors.js';
import { ULID_ANY_CASE } from './ulid.js';
import { withoutByteOrderMark } from './byte-order-mark.js';

/** Most snapshot ids one batch request lists explicitly (in the body or as a manifest). */
export const MAX_LISTED_SNAPSHOTS = 100_000;
/** The header (CSV) or field (JSONL) that holds the id. */
export const ID_FIELD = 'snapshotId';
/** Problems reported at most before parsing stops (a wrong file would otherwise list 100,000). */
export const MAX_REPORTED_ISSUES = 10;

/**
 * The largest manifest object read: 100,000 ids with room for other CSV columns or JSON fields.
 * (100,000 bare ids are 2.7 MB.) A larger object is refused before it is read.
 */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** An S3 location: a bucket and an object key. */
export interface S3Location {
  bucket: string;
  key: string;
}

/** Bucket names as S3 allows them for new buckets (3–63 lowercase letters, digits, dots, hyphens). */
export const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const S3_URI = /^s3:\/\/([^/]+)\/(.+)$/;

const KeySchema = z.string().check(
  z.minLength(1, 'key must not be empty'),
  z.maxLength(1024, 'key is at most 1024 bytes'),
  z.refine((k) => !k.split('/').some((seg) => seg === '.' || seg === '..'), 'key must not hold "." or ".." segments'),
);

/** `snapshotManifest` of `POST /batches`: an `s3://bucket/key` URI, or `{bucket, key}`. */
export const SnapshotManifestSchema = z.union([
  z.string().check(z.regex(S3_URI, 'an s3://bucket/key URI'), z.refine((v) => S3_BUCKET_NAME.test(S3_URI.exec(v)?.[1] ?? '') && KeySchema.safeParse(S3_URI.exec(v)?.[2]).success, 'an s3://bucket/key URI with a valid bucket name and key')),
  z.strictObject({ bucket: z.string().check(z.regex(S3_BUCKET_NAME, 'an S3 bucket name')), key: KeySchema }),
]);
export type SnapshotManifest = z.infer<typeof SnapshotManifestSchema>;

/** The location a (schema-valid) `snapshotManifest` names. */
export function manifestLocation(manifest: SnapshotManifest): S3Location {
  if (typeof manifest !== 'string') return { bucket: manifest.bucket, key: manifest.key };
  const [, bucket, key] = S3_URI.exec(manifest) as RegExpExecArray;
  return { bucket: bucket as string, key: key as string };
}

/** `s3://bucket/key`. */
export const s3Uri = (loc: S3Location): string => `s3://${loc.bucket}/${loc.key}`;

/** Where manifests may be read from: a bucket, and the key prefix within it ('' for the whole bucket). */
export interface ManifestSource {
  bucket: string;
  prefix: string;
}

/** Where, in the stack's own manifest bucket, users put id manifests (batch manifests live under `batches/`). */
export const UPLOADS_PREFIX = 'uploads/';

/** The allowed sources of a deployment: `uploads/` of its manifest bucket, and the whole of each configured bucket. */
export function manifestSources(manifestBucket: string, extraBuckets: readonly string[]): ManifestSource[] {
  return [{ bucket: manifestBucket, prefix: UPLOADS_PREFIX }, ...extraBuckets.map((bucket) => ({ bucket, prefix: '' }))];
}

/**
 * Refuses a location outside the allowed sources (400 MANIFEST_NOT_ALLOWED, naming them): the
 * service reads only what the deployment granted it, and says so before asking S3.
 */
export function assertAllowedManifest(loc: S3Location, sources: readonly ManifestSource[]): void {
  if (sources.some((s) => s.bucket === loc.bucket && loc.key.startsWith(s.prefix) && loc.key.length > s.prefix.length)) return;
  const allowed = sources.map((s) => `s3://${s.bucket}/${s.prefix}`);
  throw new ValidationError(`snapshotManifest ${s3Uri(loc)} is not in a location this deployment reads manifests from (${allowed.length > 0 ? allowed.join(', ') : 'none'}; cdk.json "idManifestBuckets" adds buckets)`, {
    code: 'MANIFEST_NOT_ALLOWED',
    details: { issues: [{ path: 'snapshotManifest', message: 'not an allowed location' }], allowed },
  });
}

/** Splits one CSV line into fields (RFC 4180 quoting within the line). */
export function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

type Format = { kind: 'jsonl' } | { kind: 'csv'; column: number } | { kind: 'plain' };

/**
 * Reads a manifest line by line, keeping every id once (≤ {@link MAX_LISTED_SNAPSHOTS}, so memory
 * is bounded by the limit). `push` each line (without its `\n`), then `finish` for the ids in order.
 * Throws a 400 naming the line and what is wrong.
 */
export class IdManifestParser {
  private format: Format | undefined;
  private lineNo = 0;
  private readonly firstLine = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly issues: FieldIssue[] = [];

  /** `source` names the manifest in messages (`s3://bucket/key`, `--ids-file ids.csv`). */
  constructor(private readonly source: string) {}

  push(raw: string): void {
    this.lineNo += 1;
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (this.lineNo === 1) line = withoutByteOrderMark(line);
    if (line.trim() === '') return;
    if (this.format === undefined) {
      this.format = detect(line);
      if (this.format.kind === 'csv') return; // the header row
    }
    const listed = this.idOf(line);
    if (listed === undefined) return;
    if (!ULID_ANY_CASE.test(listed)) return this.issue(`'${clip(listed)}' is not a snapshot id (a 26-character ULID)${this.format.kind === 'plain' && listed.includes(',') ? `; a CSV with several columns needs a '${ID_FIELD}' header row` : ''}`);
    // Either case names the same id (Crockford base 32); it is kept as stored, upper case.
    const id = listed.toUpperCase();
    const seen = this.firstLine.get(id);
    if (seen !== undefined) return this.issue(`'${id}' is listed twice (first on line ${seen}); list each snapshot once`);
    if (this.ids.length === MAX_LISTED_SNAPSHOTS) {
      throw new ValidationError(
        `${this.source} lists more than ${MAX_LISTED_SNAPSHOTS.toLocaleString('en')} snapshot ids (line ${this.lineNo} holds id ${(MAX_LISTED_SNAPSHOTS + 1).toLocaleString('en')}); a batch lists at most ${MAX_LISTED_SNAPSHOTS.toLocaleString('en')} — select by function and time window (up to 1,000,000) or split it into several batches`,
        { code: 'BATCH_TOO_LARGE', details: { limit: MAX_LISTED_SNAPSHOTS, issues: [{ path: `line ${this.lineNo}`, message: `more than ${MAX_LISTED_SNAPSHOTS.toLocaleString('en')} ids` }] } },
      );
    }
    this.firstLine.set(id, this.lineNo);
    this.ids.push(id);
  }

  /** The ids, in manifest order; throws the problems found, or if there is no id at all. */
  finish(): string[] {
    this.throwIssues();
    if (this.ids.length === 0) {
      throw new ValidationError(`${this.source} lists no snapshot ids`, { code: 'INVALID_MANIFEST', details: { issues: [{ path: '(manifest)', message: 'no snapshot ids' }] } });
    }
    return this.ids;
  }

  private idOf(line: string): string | undefined {
    const format = this.format as Format;
    if (format.kind === 'plain') return line.trim();
    if (format.kind === 'csv') {
      const fields = csvFields(line);
      const id = fields[format.column];
      if (id === undefined) return void this.issue(`the row has ${fields.length} field${fields.length === 1 ? '' : 's'}; '${ID_FIELD}' is column ${format.column + 1}`);
      return id.trim();
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return void this.issue('not a JSON object (JSON Lines: one object a line)');
    }
    const id = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>)[ID_FIELD] : undefined;
    if (typeof id !== 'string') return void this.issue(`an object with a string '${ID_FIELD}' is expected`);
    return id;
  }

  private issue(message: string): void {
    this.issues.push({ path: `line ${this.lineNo}`, message });
    if (this.issues.length >= MAX_REPORTED_ISSUES) this.throwIssues();
  }

  private throwIssues(): void {
    const first = this.issues[0];
    if (first === undefined) return;
    const more = this.issues.length >= MAX_REPORTED_ISSUES ? ` (and ${this.issues.length - 1} more shown in details; reading stopped at line ${this.lineNo})` : this.issues.length > 1 ? ` (and ${this.issues.length - 1} more in details)` : '';
    throw new ValidationError(`${this.source} ${first.path}: ${first.message}${more}`, { code: 'INVALID_MANIFEST', details: { issues: this.issues } });
  }
}

function detect(line: string): Format {
  if (line.trimStart().startsWith('{')) return { kind: 'jsonl' };
  const column = csvFields(line).findIndex((f) => f.trim() === ID_FIELD);
  return column >= 0 ? { kind: 'csv', column } : { kind: 'plain' };
}

const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

/** Parses a whole manifest held as text (the CLI's `--ids-file`). */
export function parseIdManifestText(text: string, source: string): string[] {
  const parser = new IdManifestParser(source);
  for (const line of text.split('\n')) parser.push(line);
  return parser.finish();
}

/** Parses a manifest arriving as pages of lines (S3 ranged GETs): memory holds the ids and one page. */
export async function parseIdManifest(pages: AsyncIterable<readonly string[]>, source: string): Promise<string[]> {
  const parser = new IdManifestParser(source);
  for await (const lines of pages) for (const line of lines) parser.push(line);
  return parser.finish();
}
