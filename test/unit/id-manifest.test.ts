/**
 * Snapshot-id manifests (`snapshotManifest` of POST /batches, the CLI's --ids-file): formats, the
 * line-numbered refusals, the 100,000 limit, the allowed locations. (startBatch with a manifest:
 * test/unit/batch-core.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/core/errors.js';
import {
  assertAllowedManifest,
  csvFields,
  manifestLocation,
  manifestSources,
  MAX_LISTED_SNAPSHOTS,
  parseIdManifest,
  parseIdManifestText,
  SnapshotManifestSchema,
} from '../../functions/core/id-manifest.js';

const id = (n: number) => `01JB${String(n).padStart(22, '0')}`;
const SRC = 'snapshotManifest s3://ids/uploads/a.csv';

function refusal(text: string): ValidationError {
  try {
    parseIdManifestText(text, SRC);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a refusal');
}

describe('parseIdManifestText', () => {
  it('reads one id a line, skipping blank lines, CRLF and a byte-order mark', () => {
    expect(parseIdManifestText(`\ufeff${id(1)}\r\n\r\n${id(2)}\n  ${id(3)}  \n`, SRC)).toEqual([id(1), id(2), id(3)]);
  });

  it('reads the snapshotId column of a CSV with a header, quoted fields and other columns', () => {
    const csv = `functionName,"snapshotId",note\napprove_loan,${id(1)},"a, quoted ""note"""\napprove_loan,"${id(2)}",\n`;
    expect(parseIdManifestText(csv, SRC)).toEqual([id(1), id(2)]);
  });

  it('reads the snapshotId field of JSON Lines, ignoring other fields', () => {
    expect(parseIdManifestText(`{"snapshotId":"${id(1)}","why":"x"}\n{"snapshotId":"${id(2)}"}\n`, SRC)).toEqual([id(1), id(2)]);
  });

  it('reads a lower-case ULID as the same id in its stored upper case, and refuses it beside its upper-case twin as listed twice', () => {
    const lower = '01jbx5hj6am2yxz7q0fvawq9a0';
    expect(parseIdManifestText(`${lower}\n${id(2)}\n`, SRC)).toEqual([lower.toUpperCase(), id(2)]);
    expect(refusal(`${lower}\n${lower.toUpperCase()}\n`).message).toMatch(/listed twice \(first on line 1\)/);
  });

  it('keeps the manifest order', () => {
    expect(parseIdManifestText([id(3), id(1), id(2)].join('\n'), SRC)).toEqual([id(3), id(1), id(2)]);
  });

  it('refuses a bad id with 400 INVALID_MANIFEST naming the source, the line and the value', () => {
    const err = refusal(`${id(1)}\n\n01JBnot-a-ulid\n`);
    expect(err.code).toBe('INVALID_MANIFEST');
    expect(err.message).toBe(`${SRC} line 3: '01JBnot-a-ulid' is not a snapshot id (a 26-character ULID)`);
    expect(err.details).toEqual({ issues: [{ path: 'line 3', message: "'01JBnot-a-ulid' is not a snapshot id (a 26-character ULID)" }] });
  });

  it('refuses an id listed twice, naming both lines', () => {
    const err = refusal(`snapshotId\n${id(1)}\n${id(2)}\n${id(1)}\n`);
    expect(err.message).toBe(`${SRC} line 4: '${id(1)}' is listed twice (first on line 2); list each snapshot once`);
  });

  it('hints at the missing header when a headerless line has several columns', () => {
    expect(refusal(`approve_loan,${id(1)}\n`).message).toMatch(/line 1: .* a CSV with several columns needs a 'snapshotId' header row/);
  });

  it('refuses a CSV row without the snapshotId column and a JSON line without a string snapshotId', () => {
    expect(refusal(`note,snapshotId\nonly-one-field\n`).message).toMatch(/line 2: the row has 1 field; 'snapshotId' is column 2/);
    expect(refusal(`{"snapshotId":"${id(1)}"}\n{"id":"${id(2)}"}\n`).message).toMatch(/line 2: an object with a string 'snapshotId' is expected/);
    expect(refusal(`{"snapshotId":"${id(1)}"}\nnot json\n`).message).toMatch(/line 2: not a JSON object/);
  });

  it('reports at most 10 problems and stops reading there', () => {
    const err = refusal(Array.from({ length: 50 }, (_, i) => `bad-${i}`).join('\n'));
    expect((err.details as { issues: unknown[] }).issues).toHaveLength(10);
    expect(err.message).toMatch(/line 1: 'bad-0' .* \(and 9 more shown in details; reading stopped at line 10\)/);
  });

  it('refuses a manifest without ids', () => {
    expect(refusal('snapshotId\n\n').message).toBe(`${SRC} lists no snapshot ids`);
  });

  it(`accepts ${MAX_LISTED_SNAPSHOTS} ids and refuses one more with 400 BATCH_TOO_LARGE naming the limit`, () => {
    const ids = Array.from({ length: MAX_LISTED_SNAPSHOTS + 1 }, (_, i) => id(i));
    expect(parseIdManifestText(ids.slice(0, -1).join('\n'), SRC)).toHaveLength(MAX_LISTED_SNAPSHOTS);
    const err = refusal(`snapshotId\n${ids.join('\n')}`);
    expect(err.code).toBe('BATCH_TOO_LARGE');
    expect(err.message).toMatch(/lists more than 100,000 snapshot ids \(line 100002 holds id 100,001\); a batch lists at most 100,000/);
    expect(err.details).toMatchObject({ limit: MAX_LISTED_SNAPSHOTS });
  });

  it('reads pages of lines the same way (the S3 path)', async () => {
    async function* pages() {
      yield ['snapshotId', id(1)];
      yield [id(2)];
    }
    expect(await parseIdManifest(pages(), SRC)).toEqual([id(1), id(2)]);
  });
});

describe('csvFields', () => {
  it('splits on commas outside quotes and unescapes doubled quotes', () => {
    expect(csvFields('a,"b,c","d""e",')).toEqual(['a', 'b,c', 'd"e', '']);
  });
});

describe('snapshotManifest locations', () => {
  it('accepts an s3:// URI or {bucket, key} and names the same location', () => {
    expect(manifestLocation(SnapshotManifestSchema.parse('s3://acme-ids/uploads/q3/ids.csv'))).toEqual({ bucket: 'acme-ids', key: 'uploads/q3/ids.csv' });
    expect(manifestLocation(SnapshotManifestSchema.parse({ bucket: 'acme-ids', key: 'uploads/ids.csv' }))).toEqual({ bucket: 'acme-ids', key: 'uploads/ids.csv' });
  });

  it.each(['https://acme-ids/uploads/x', 's3://acme-ids/', 's3://Acme_Ids/x', 's3://acme-ids/uploads/../batches/x'])('refuses %s', (uri) => {
    expect(SnapshotManifestSchema.safeParse(uri).success).toBe(false);
  });

  it("allows uploads/ of the stack's bucket and the whole of each configured bucket, nothing else", () => {
    const sources = manifestSources('stack-manifests', ['acme-ids']);
    expect(() => assertAllowedManifest({ bucket: 'stack-manifests', key: 'uploads/a.csv' }, sources)).not.toThrow();
    expect(() => assertAllowedManifest({ bucket: 'acme-ids', key: 'any/where.jsonl' }, sources)).not.toThrow();
    for (const loc of [{ bucket: 'stack-manifests', key: 'batches/01JB/snapshot-ids.csv' }, { bucket: 'stack-manifests', key: 'uploads/' }, { bucket: 'other', key: 'uploads/a.csv' }]) {
      let err: unknown;
      try {
        assertAllowedManifest(loc, sources);
      } catch (e) {
        err = e;
      }
      expect(err, loc.key).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).code).toBe('MANIFEST_NOT_ALLOWED');
      expect((err as ValidationError).message).toContain('s3://stack-manifests/uploads/, s3://acme-ids/');
    }
  });
});
