/**
 * The audit seal from a terminal: `verify` (a time range, through the API, or a bundle, offline)
 * and `export` (an audit bundle for an auditor). Verification is not delegated to the service: the
 * CLI re-reads the digests, manifests and records and runs the service's own pure verification
 * code (functions/core/audit) on them, page by page, so it has no size limit and needs to trust
 * the service only for the key — and not even that with `--public-key`.
 */
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { keyFingerprint, windowOf } from '../../../../functions/core/audit/digest.js';
import { verifyRange } from '../../../../functions/core/audit/verify-range.js';
import { policyVersionLocator } from '../../../../functions/adapters/dynamodb/keys.js';
import type { Finding, VerificationReport } from '../../../../functions/core/audit/verify.js';
import { BundleFormatError, exportBundle, isFreshDirectory, verifyBundle } from '../../audit/bundle.js';
import { makeDirectory } from '../../../../functions/adapters/make-directory.js';
import { auditChainInfo, auditIntervalMs, HttpAuditStore, HttpRecordSource } from '../../audit/http-sources.js';
import { EXIT, functionFlag, functionNameValue, instantFlag, requiredFlag, str, UsageError, type CommandContext, type CommandGroup, type ExitCode } from '../framework.js';
import { columns, keyValues } from '../table.js';

const CATEGORIES = ['altered', 'missing', 'unexpected', 'chainBreaks', 'badSignatures', 'indexMismatches'] as const;

function path(ctx: CommandContext, p: string): string {
  return isAbsolute(p) ? p : resolve(ctx.io.cwd, p);
}

async function trustedKey(ctx: CommandContext, file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  let pem: string;
  try {
    pem = await readFile(path(ctx, file), 'utf8');
  } catch (err) {
    throw new UsageError(`--public-key ${file}: cannot read it: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    createPublicKey(pem);
  } catch {
    throw new UsageError(`--public-key ${file}: not a PEM public key`);
  }
  return pem;
}

function fingerprint(pem: string): string {
  try {
    return keyFingerprint(createPublicKey(pem));
  } catch {
    return '(not a public key)';
  }
}

/** The human report: what was verified, each finding with its reason, the late records, the verdict. */
function reportTable(r: VerificationReport & { keyFingerprint: string; source: string }): string {
  const c = r.counts;
  const findings = CATEGORIES.flatMap((category) => r[category].map((f: Finding) => [category, f.kind ?? '-', f.id, f.window ?? '-', f.reason]));
  const findingCount = findings.length;
  return [
    keyValues([
      ['source', r.source],
      ['range', `${r.from} – ${r.to}${r.functionName !== undefined ? ` (function ${r.functionName})` : ''}`],
      ['sealed', r.sealed ? `${r.sealed.from} – ${r.sealed.to}` : 'nothing in this range is sealed'],
      ...(r.unsealed ? [['not sealed yet', `${r.unsealed.from} – ${r.unsealed.to} (not verified)`] as [string, string]] : []),
      ['key', `sha256 ${r.keyFingerprint}`],
      ['digests', c.digests],
      ['records', c.records],
      ['late', c.late],
    ]),
    findingCount > 0 ? `Findings (${findingCount}):\n${columns(['finding', 'kind', 'id', 'window', 'reason'], findings)}` : '',
    r.late.length > 0 ? `Late records (sealed after their window; not findings unless --fail-on-late):\n${columns(['kind', 'id', 'window', 'reason'], r.late.map((f) => [f.kind ?? '-', f.id, f.window ?? '-', f.reason]))}` : '',
    `${findingCount === 0 ? (r.sealed === null ? `NOTHING VERIFIED: ${nothingSealed(r)}` : r.unsealed !== null ? `PARTLY VERIFIED: ${partlySealed(r)}` : 'CLEAN: no findings') : `NOT CLEAN: ${findingCount} finding${findingCount === 1 ? '' : 's'}`} (altered ${c.altered}, missing ${c.missing}, unexpected ${c.unexpected}, chain breaks ${c.chainBreaks}, bad signatures ${c.badSignatures}, index mismatches ${c.indexMismatches})`,
  ]
    .filter((part) => part !== '')
    .join('\n');
}

/** What a range with no sealed window means, naming the range asked. */
function nothingSealed(r: Pick<VerificationReport, 'from' | 'to' | 'functionName'>): string {
  return `no digest window in ${r.from} – ${r.to}${r.functionName !== undefined ? ` (function ${r.functionName})` : ''} is sealed, so no record was checked`;
}

/** What a range sealed only in part means: what was checked, and what was not. */
function partlySealed(r: Pick<VerificationReport, 'sealed' | 'unsealed'>): string {
  return `no findings in the sealed part ${r.sealed?.from ?? ''} – ${r.sealed?.to ?? ''}; ${r.unsealed?.from ?? ''} – ${r.unsealed?.to ?? ''} is not sealed yet, so it was not checked`;
}

/**
 * Findings (and late records with --fail-on-late) → 1; no finding but nothing sealed in the range
 * → 4: a range with nothing to verify is not a pass, or a CI gate would pass vacuously; no finding
 * in the sealed part of a range whose end is not sealed yet → 5, for the same reason.
 */
function verdict(ctx: CommandContext, report: VerificationReport, failOnLate: boolean): ExitCode {
  if (!report.clean || (failOnLate && report.late.length > 0)) return EXIT.GATED;
  if (report.sealed !== null && report.unsealed !== null) {
    if (ctx.out.format === 'json' || ctx.out.quiet) ctx.out.warn(`PARTLY VERIFIED: ${partlySealed(report)}`);
    return EXIT.PARTIAL;
  }
  if (report.sealed !== null) return EXIT.OK;
  // The table says so in its verdict line; JSON and --quiet say it on stderr.
  if (ctx.out.format === 'json' || ctx.out.quiet) ctx.out.warn(`NOTHING VERIFIED: ${nothingSealed(report)}`);
  return EXIT.UNVERIFIED;
}

/** The --quiet word: clean, not clean, or nothing verified. */
function essential(report: VerificationReport): string {
  return !report.clean ? 'not clean' : report.sealed === null ? 'nothing verified' : report.unsealed !== null ? 'partly verified' : 'clean';
}

export const auditCommands: CommandGroup = {
  name: '',
  summary: 'Verify the audit seal of a time range (through the API, or an exported bundle offline) and export audit bundles.',
  commands: [
    {
      name: ['verify'],
      summary: 'verify the sealed records of a time range (or an audit bundle, offline); exit 1 on any finding, 4 when nothing in the range is sealed, 5 when its end is not sealed yet',
      positionals: { min: 0, max: 0 },
      options: {
        from: { type: 'string', value: 'TIME', description: 'ISO-8601 start, inclusive (whole digest windows are verified); required unless --bundle' },
        to: { type: 'string', value: 'TIME', description: 'ISO-8601 end, exclusive; required unless --bundle' },
        function: { type: 'string', short: 'f', value: 'NAME', description: "only this function's records (digests are still checked whole)" },
        bundle: { type: 'string', value: 'DIR', description: 'verify an exported audit bundle offline: no service is contacted' },
        'public-key': { type: 'string', value: 'FILE', description: "the PEM key you trust: digests must verify with it (default: the service's, or the bundle's)" },
        'fail-on-late': { type: 'boolean', description: 'also exit 1 when records were sealed late (after their window)' },
      },
      details: [
        'Checks, window by window: each digest\'s signature and its place in the chain, each manifest against',
        'its digest (SHA-256, Merkle root), every record it names (re-read and re-hashed; index keys), and',
        'every record in the windows that no digest names. Records are paged through the API, never held',
        'all at once: the range has no size limit. Findings: altered, missing, unexpected, chainBreaks,',
        'badSignatures, indexMismatches; late records are listed (not findings unless --fail-on-late).',
        'A range in which no digest window is sealed verifies nothing: NOTHING VERIFIED, exit 4. A range',
        'whose end is not sealed yet (windows still open, or closed moments ago and not yet sealed) with no',
        'finding in its sealed part: PARTLY VERIFIED, exit 5.',
        '',
        'Examples:',
        '  decision-replay verify --from 2026-11-30T00:00Z --to 2026-12-01T00:00Z',
        '  decision-replay verify --from 2026-11-30 --to 2026-12-01 --function approve_loan --public-key trusted.pem',
        '  decision-replay verify --bundle ./audit-2026-11 --public-key trusted.pem',
      ].join('\n'),
      async run(ctx, { values }) {
        const bundleDir = str(values, 'bundle');
        const from = instantFlag('from', str(values, 'from'));
        const to = instantFlag('to', str(values, 'to'));
        const functionName = functionFlag('function', str(values, 'function'));
        const failOnLate = values['fail-on-late'] === true;
        const pinned = await trustedKey(ctx, str(values, 'public-key'));
        if (from !== undefined && to !== undefined && from >= to) throw new UsageError(`--from (${from}) must be before --to (${to})`);

        if (bundleDir !== undefined) {
          if (functionName !== undefined) throw new UsageError('--function does not apply to --bundle: a bundle holds one function, named in its bundle.json');
          let result;
          try {
            result = await verifyBundle(path(ctx, bundleDir), { ...(pinned !== undefined && { trustedKeyPem: pinned }), ...(from !== undefined && { from }), ...(to !== undefined && { to }) });
          } catch (err) {
            if (err instanceof BundleFormatError) throw new UsageError(`--bundle ${bundleDir}: ${err.message}`);
            throw err;
          }
          const shown = { ...result.report, keyFingerprint: result.keyFingerprint, source: `bundle ${bundleDir} (exported ${result.bundle.exportedAt} from ${result.bundle.source})` };
          ctx.out.result(shown, reportTable, essential(result.report));
          return verdict(ctx, result.report, failOnLate);
        }

        if (from === undefined) throw new UsageError('--from is required (or --bundle DIR)');
        if (to === undefined) throw new UsageError('--to is required (or --bundle DIR)');
        const servedKey = await ctx.client.getAuditPublicKey();
        const key = pinned ?? servedKey;
        // The chain head: every window from its start on must have a digest, even if none is left around it.
        const { intervalMs, chainHead } = await auditChainInfo(ctx.client);
        let lastProgress = 0;
        const report = await verifyRange(
          { records: new HttpRecordSource(ctx.client), store: new HttpAuditStore(ctx.client, intervalMs), head: { get: async () => chainHead }, signer: { publicKeyPem: async () => key }, clock: { now: () => Date.now() }, intervalMs, policyLocator: policyVersionLocator },
          {
            from,
            to,
            functionName,
            onWindow: (windowStart, done, total) => {
              if (ctx.io.stderr.isTTY !== true || Date.now() - lastProgress < 1000) return;
              lastProgress = Date.now();
              ctx.out.info(`verified window ${windowStart} (${done}/${total})`);
            },
          },
        );
        if (pinned !== undefined && fingerprint(servedKey) !== fingerprint(pinned)) {
          report.badSignatures.push({ id: 'GET /audit/public-key', reason: `the service's public key (sha256 ${fingerprint(servedKey)}) is not the trusted key (sha256 ${fingerprint(pinned)}); digests were verified with the trusted key` });
          report.counts.badSignatures += 1;
          report.clean = false;
        }
        const shown = { ...report, keyFingerprint: fingerprint(key), source: ctx.globals.endpoint };
        ctx.out.result(shown, reportTable, essential(report));
        return verdict(ctx, report, failOnLate);
      },
    },
    {
      name: ['export'],
      summary: "write an audit bundle of a function's sealed records of a time range, verifiable offline with verify --bundle",
      positionals: { min: 0, max: 0 },
      options: {
        function: { type: 'string', short: 'f', value: 'NAME', description: 'the function (required)' },
        from: { type: 'string', value: 'TIME', description: 'ISO-8601 start, inclusive (required; whole digest windows are exported)' },
        to: { type: 'string', value: 'TIME', description: 'ISO-8601 end, exclusive (required)' },
        out: { type: 'string', short: 'o', value: 'DIR', description: 'the bundle directory, created (it must not exist or be empty). Here -o names the directory' },
      },
      details: [
        'Writes records/{snapshots,replays,validations,batch-results}.jsonl (the records as stored), the',
        'policy versions those records pin (records/policies.jsonl, with the digests that seal them), the',
        'digests with their signatures and manifests, public-key.pem, bundle.json (range, window length,',
        'export time, SHA-256 of every file) and a README for the auditor. Streams: one page at a time.',
        '',
        'Example:',
        '  decision-replay export --function approve_loan --from 2026-11-01 --to 2026-12-01 -o audit-2026-11',
        '  decision-replay verify --bundle audit-2026-11 --public-key trusted.pem',
      ].join('\n'),
      async run(ctx, { values }) {
        const functionName = functionNameValue('--function', requiredFlag('function', values.function));
        const from = instantFlag('from', requiredFlag('from', values.from)) as string;
        const to = instantFlag('to', requiredFlag('to', values.to)) as string;
        const out = requiredFlag('out', values.out);
        if (from >= to) throw new UsageError(`--from (${from}) must be before --to (${to})`);
        const dir = path(ctx, out);
        if (!(await isFreshDirectory(dir))) throw new UsageError(`-o ${out}: the directory exists and is not empty; a bundle is written into a new or empty directory`);
        try {
          await makeDirectory(dir);
        } catch (err) {
          throw new UsageError(`-o ${out}: cannot create the directory: ${(err as Error).message}`);
        }
        const intervalMs = await auditIntervalMs(ctx.client);
        const bundle = await exportBundle(ctx.client, {
          from: new Date(windowOf(Date.parse(from), intervalMs).start).toISOString(),
          to,
          functionName,
          dir,
          intervalMs,
        });
        ctx.out.info(`wrote the audit bundle to ${out}: ${bundle.counts.records} records, ${bundle.counts.digests} digests; verify it with: decision-replay verify --bundle ${out}`);
        ctx.out.result(bundle, (b) => keyValues([['bundle', out], ['function', b.functionName], ['range', `${b.from} – ${b.to}`], ['records', b.counts.records], ['snapshots', b.counts.snapshots], ['replays', b.counts.replays], ['validations', b.counts.validations], ['batch results', b.counts.batchResults], ['policy versions', b.counts.policies ?? 0], ['digests', b.counts.digests], ['key', `sha256 ${b.keyFingerprint}`], ['exported', b.exportedAt]]), out);
        return EXIT.OK;
      },
    },
  ],
};
