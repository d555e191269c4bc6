/**
 * `batch run|get|list|cancel|compare` (compare: ./batch-compare.ts). `batch run` starts a batch replay, follows it (a live bar on a
 * terminal, a plain line at most once a second otherwise), prints the summary and applies the
 * gates: exit 1 when the batch ends FAILED or CANCELLED, or misses --min-match-rate or
 * --max-error-rate.
 */
import { parseIdManifestText, REPLAY_MODES, ValidationError, type Batch, type BatchRequest } from '../../schemas.js';
import { asUsage, choiceFlag, durationHoursFlag, EXIT, functionFlag, instantFlag, intFlag, numberFlag, rateFlag, readTextArg, scheduleFlag, str, UsageError, type CommandContext, type CommandGroup } from '../framework.js';
import { cell, columns, keyValues, percent, terminalSafe } from '../table.js';
import { batchCompareCommand } from './batch-compare.js';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
const TERMINAL: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
/** How many mismatching fields the summary shows. */
const TOP_FIELDS = 5;

/** A batch as the service reports it (with `progress` while it runs). */
type BatchView = Batch;

/** The gates of `batch run`, and whether the finished batch passes them. */
interface Gate {
  name: 'status' | 'min-match-rate' | 'max-error-rate';
  threshold?: number;
  actual: number | string;
  passed: boolean;
}

/**
 * The match rate a batch measured: none when no replay ran (nothing selected, or every one an
 * error), where the stats' 0 would read as "nothing matched".
 */
function measuredMatchRate(stats: BatchView['stats']): number | undefined {
  return stats !== undefined && stats.successfulReplays > 0 ? stats.matchRate : undefined;
}

/** {@link measuredMatchRate} as a table shows it: a percentage, or `none` when none was measured. */
function matchRateText(stats: NonNullable<BatchView['stats']>, none: string): string {
  const rate = measuredMatchRate(stats);
  return rate === undefined ? none : percent(rate);
}

const NO_MATCH_RATE = 'n/a (no successful replay)';
const NO_REPLAY = 'n/a (no replay ran)';

export function evaluateGates(batch: BatchView, minMatchRate: number | undefined, maxErrorRate: number | undefined): Gate[] {
  const gates: Gate[] = [{ name: 'status', actual: batch.status, passed: batch.status === 'SUCCEEDED' }];
  const stats = batch.stats;
  if (minMatchRate !== undefined) {
    // No rate measured fails the gate: nothing showed the candidate matches.
    const actual = measuredMatchRate(stats);
    gates.push({ name: 'min-match-rate', threshold: minMatchRate, actual: actual ?? NO_MATCH_RATE, passed: actual !== undefined && actual >= minMatchRate });
  }
  if (maxErrorRate !== undefined) {
    // Nor does a batch in which nothing ran pass it: no replay showed the candidate runs cleanly
    // (an empty selection in a CI gate is a mistake to show, as --min-match-rate shows it).
    const actual = stats !== undefined && stats.totalReplays > 0 ? stats.failedReplays / stats.totalReplays : undefined;
    gates.push({ name: 'max-error-rate', threshold: maxErrorRate, actual: actual ?? NO_REPLAY, passed: actual !== undefined && actual <= maxErrorRate });
  }
  return gates;
}

/** The summary: counts (tampered snapshots among the mismatches, and on a row of their own), match rate, latency quantiles, the top mismatching fields, the gates. */
export function summaryTable(batch: BatchView, gates: readonly Gate[] = []): string {
  const s = batch.stats;
  const rows: [string, unknown][] = [
    ['batchId', batch.batchId],
    ['status', batch.status],
    ['total', batch.total],
    ['completed', batch.completed],
  ];
  if (batch.failureReason !== undefined) rows.push(['failureReason', batch.failureReason]);
  if (s) {
    rows.push(
      ['successful', s.successfulReplays],
      ['errors', s.failedReplays],
      ['matches', s.matches],
      ['mismatches', s.mismatches],
      // Snapshots that failed their integrity check were not replayed: neither a match nor a mismatch.
      ['tampered', s.tampered],
      // No replay ran (nothing selected, or every one an error): no rate or time was measured, and
      // the stats' 0 would read as "nothing matched" and "instant".
      ['match rate', matchRateText(s, NO_MATCH_RATE)],
      ['p50 / p95 / p99 ms', s.successfulReplays > 0 ? `${cell(s.p50ExecutionTimeMs)} / ${cell(s.p95ExecutionTimeMs)} / ${cell(s.p99ExecutionTimeMs)}` : 'n/a'],
    );
  }
  let text = keyValues(rows);
  if (s) {
    const top = Object.entries(s.fieldMismatches)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, TOP_FIELDS);
    text += `\ntop mismatching fields:\n${columns(['field', 'mismatches'], top)}`;
  }
  if (gates.length > 0) {
    text += `\ngates:\n${columns(['gate', 'threshold', 'actual', 'result'], gates.map((g) => [g.name, g.threshold === undefined ? undefined : percent(g.threshold), typeof g.actual === 'number' ? percent(g.actual) : g.actual, g.passed ? 'pass' : 'FAIL']))}`;
  }
  return text;
}

/**
 * Reads `--ids-file FILE` (the ids are sent in the request body): a JSON array of ids, or what a
 * `snapshotManifest` may hold — one id a line, a CSV with a `snapshotId` header, JSON Lines of
 * `{"snapshotId": …}` — checked here the same way the service checks a manifest (line numbers,
 * duplicates, at most 100,000), so a bad file is exit 2 naming the line before anything starts.
 */
async function readIds(ctx: CommandContext, flag: string, file: string): Promise<string[]> {
  const what = `${flag} ${file === '-' ? '(stdin)' : `'${file}'`}`;
  const text = await readTextArg(ctx.io, `${flag} file`, file);
  if (text.trim().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new UsageError(`${what} must be a JSON array of snapshot ids`);
    return parsed as string[];
  }
  try {
    return parseIdManifestText(text, what);
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(err.message);
    throw err;
  }
}

/** How many snapshots a started batch replays; null while the workflow plans a large selection. */
export function startedCount(total: number | null): string {
  return total === null ? 'its snapshots are being planned by the workflow (the count follows)' : `${total} snapshot${total === 1 ? '' : 's'}`;
}

/** Formats seconds as `1m05s` / `12s`. */
function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * Progress of a running batch: a bar redrawn in place on a terminal, else a plain line at most
 * once per `lineIntervalMs` (and once at the end).
 */
export class ProgressReporter {
  private lastLineAt = -Infinity;
  private drawn = false;
  constructor(
    private readonly stream: CommandContext['io']['stderr'],
    private readonly startedAt: number,
    private readonly now: () => number = Date.now,
    private readonly lineIntervalMs = 1000,
  ) {}

  update(batch: BatchView, final = false): void {
    const elapsed = (this.now() - this.startedAt) / 1000;
    const done = batch.completed;
    const rate = elapsed > 0 ? done / elapsed : 0;
    // A large selection has no total until the workflow has planned it.
    const total = batch.total;
    const eta = rate > 0 && total !== null ? (total - done) / rate : Infinity;
    const p = batch.progress;
    const match = batch.stats ? matchRateText(batch.stats, 'n/a') : p && p.successful > 0 ? percent(p.matches / p.successful) : '-';
    // The bar's own control sequences (\r, erase line) are the only ones written: what the service
    // answered is shown escaped.
    const facts = terminalSafe(`${done}/${total ?? '?'}  ${rate.toFixed(1)}/s  ETA ${TERMINAL.has(batch.status) ? '0s' : duration(eta)}  match ${match}`);
    const status = terminalSafe(String(batch.status));
    if (this.stream.isTTY === true) {
      const width = 30;
      const filled = total === null ? 0 : total > 0 ? Math.round((done / total) * width) : width;
      this.stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${facts}  ${status}\x1b[K`);
      this.drawn = true;
      if (final) this.stream.write('\n');
      return;
    }
    const t = this.now();
    if (!final && t - this.lastLineAt < this.lineIntervalMs) return;
    this.lastLineAt = t;
    this.stream.write(`batch ${terminalSafe(String(batch.batchId))} ${status} ${facts}\n`);
  }

  /** Ends the bar's line (when interrupted). */
  end(): void {
    if (this.drawn) this.stream.write('\n');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const batchCommands: CommandGroup = {
  name: 'batch',
  summary: 'Batch replays: start one and gate on it, follow, list, cancel, compare two (A/B).',
  commands: [
    {
      name: ['batch', 'run'],
      summary: 'start a batch replay, follow it, print the summary and apply the gates',
      positionals: { min: 0, max: 0 },
      options: {
        function: { type: 'string', short: 'f', value: 'NAME', description: "replay this function's snapshots (with --last or --from/--to)" },
        last: { type: 'string', value: 'DURATION', description: 'the last 90m / 24h / 7d / 2w (resolved when the batch starts)' },
        from: { type: 'string', value: 'TIME', description: 'ISO-8601 start' },
        to: { type: 'string', value: 'TIME', description: 'ISO-8601 end' },
        limit: { type: 'string', value: 'N', description: 'at most N snapshots of the function (newest first)' },
        'ids-file': { type: 'string', value: 'FILE', description: 'replay the ids of a file, sent in the request (one a line, CSV with a snapshotId header, JSON Lines or a JSON array; - for stdin; at most 100,000)' },
        ids: { type: 'string', value: 'FILE', description: 'the same as --ids-file' },
        'ids-manifest': { type: 'string', value: 'S3URI', description: 'replay the ids of an object in S3 the service reads (s3://bucket/key: uploads/ of its manifest bucket or a bucket in cdk.json idManifestBuckets; at most 100,000)' },
        mode: { type: 'string', value: 'MODE', description: `${REPLAY_MODES.join(' | ')} (default Tolerant)` },
        tolerance: { type: 'string', value: 'X', description: 'Tolerant mode: minimum score per output, 0..1' },
        'max-concurrency': { type: 'string', value: 'N', description: 'replays at once, 1..1000 (default 10)' },
        'model-version': { type: 'string', value: 'V', description: 'replay on this model version' },
        policy: { type: 'string', value: 'NAME', description: 'evaluate this stored policy on each replay' },
        'min-match-rate': { type: 'string', value: 'R', description: 'gate: exit 1 when the match rate is below R (0..1 or 95%)' },
        'max-error-rate': { type: 'string', value: 'R', description: 'gate: exit 1 when errors / total exceed R (0..1 or 5%)' },
        'no-wait': { type: 'boolean', description: 'print the batch id and return at once (no gates)' },
        'poll-interval': { type: 'string', value: 'MS', description: 'how often to read progress (default 500)' },
      },
      details: 'Progress goes to stderr (a bar on a terminal, a line at most once a second otherwise); the result to stdout.',
      async run(ctx, { values }) {
        const functionName = functionFlag('function', str(values, 'function'));
        if (str(values, 'ids') !== undefined && str(values, 'ids-file') !== undefined) throw new UsageError('give --ids-file or --ids (the same flag), not both');
        const idsFlag = str(values, 'ids-file') !== undefined ? '--ids-file' : '--ids';
        const idsFile = str(values, 'ids-file') ?? str(values, 'ids');
        const idsManifest = str(values, 'ids-manifest');
        if ([functionName, idsFile, idsManifest].filter((v) => v !== undefined).length !== 1) throw new UsageError('give exactly one of --function, --ids-file and --ids-manifest');
        if (idsManifest !== undefined && !/^s3:\/\/[^/]+\/.+$/.test(idsManifest)) throw new UsageError(`--ids-manifest must be an s3://bucket/key URI, got '${idsManifest}'`);
        const lastHours = durationHoursFlag('last', str(values, 'last'));
        const from = instantFlag('from', str(values, 'from'));
        const to = instantFlag('to', str(values, 'to'));
        const limit = intFlag('limit', str(values, 'limit'), 1, 1_000_000);
        if (functionName === undefined && (lastHours !== undefined || from !== undefined || to !== undefined || limit !== undefined)) throw new UsageError(`--last, --from, --to and --limit select by function: not with ${idsManifest !== undefined ? '--ids-manifest' : idsFlag}`);
        if (lastHours !== undefined && (from !== undefined || to !== undefined)) throw new UsageError('give --last or --from/--to, not both');
        const mode = choiceFlag('mode', str(values, 'mode'), REPLAY_MODES);
        const tolerance = numberFlag('tolerance', str(values, 'tolerance'), 0, 1);
        const maxConcurrency = intFlag('max-concurrency', str(values, 'max-concurrency'), 1, 1000);
        const modelVersion = str(values, 'model-version');
        const policyName = str(values, 'policy');
        const minMatchRate = rateFlag('min-match-rate', str(values, 'min-match-rate'));
        const maxErrorRate = rateFlag('max-error-rate', str(values, 'max-error-rate'));
        const pollMs = intFlag('poll-interval', str(values, 'poll-interval'), 10, 60_000) ?? 500;
        const noWait = values['no-wait'] === true;
        if (noWait && (minMatchRate !== undefined || maxErrorRate !== undefined)) throw new UsageError('--no-wait cannot apply --min-match-rate or --max-error-rate: they need the finished batch');

        const request: BatchRequest = {
          ...(idsFile !== undefined
            ? { snapshotIds: await readIds(ctx, idsFlag, idsFile) }
            : idsManifest !== undefined
              ? { snapshotManifest: idsManifest }
              : { selector: { functionName: functionName as string, ...(lastHours !== undefined && { lastHours }), ...(from !== undefined && { from }), ...(to !== undefined && { to }), ...(limit !== undefined && { limit }) } }),
          ...(mode !== undefined && { mode }),
          ...(tolerance !== undefined && { tolerance }),
          ...(maxConcurrency !== undefined && { maxConcurrency }),
          ...(modelVersion !== undefined && { overrides: { modelParameters: { modelVersion } } }),
          ...(policyName !== undefined && { policyName }),
        };
        const started = await asUsage(() => ctx.client.startBatch(request));
        if (noWait) {
          ctx.out.result(started, (b) => keyValues(Object.entries(b)), started.batchId);
          return EXIT.OK;
        }
        ctx.out.info(`batch ${started.batchId} started: ${startedCount(started.total)}`);
        const final = await follow(ctx, started.batchId, pollMs);
        const gates = evaluateGates(final, minMatchRate, maxErrorRate);
        ctx.out.result({ ...final, gates }, (b) => summaryTable(b, gates), final.batchId);
        return gates.every((g) => g.passed) ? EXIT.OK : EXIT.GATED;
      },
    },
    {
      name: ['batch', 'get'],
      summary: "show a batch's status, progress and statistics",
      args: '<batchId>',
      positionals: { min: 1, max: 1 },
      async run(ctx, { positionals }) {
        const batch = (await ctx.client.getBatch(positionals[0] as string)) as BatchView;
        ctx.out.result(batch, (b) => summaryTable(b), batch.status);
      },
    },
    {
      name: ['batch', 'list'],
      summary: 'list batches, newest first',
      positionals: { min: 0, max: 0 },
      options: {
        function: { type: 'string', short: 'f', value: 'NAME', description: 'batches that selected this function' },
        status: { type: 'string', value: 'STATUS', description: STATUSES.join(' | ') },
        schedule: { type: 'string', value: 'NAME', description: "the runs of this schedule (the CDK context's schedules[].name)" },
        limit: { type: 'string', value: 'N', description: 'page size, 1..1000 (default 50)' },
        cursor: { type: 'string', value: 'CURSOR', description: 'continue after a previous page' },
      },
      async run(ctx, { values }) {
        const status = choiceFlag('status', str(values, 'status'), STATUSES);
        const limit = intFlag('limit', str(values, 'limit'), 1, 1000);
        const functionName = functionFlag('function', str(values, 'function'));
        const scheduleName = scheduleFlag('schedule', str(values, 'schedule'));
        const cursor = str(values, 'cursor');
        const page = await ctx.client.listBatches({ ...(functionName !== undefined && { functionName }), ...(status !== undefined && { status }), ...(scheduleName !== undefined && { scheduleName }), ...(limit !== undefined && { limit }), ...(cursor !== undefined && { cursor }) });
        ctx.out.result(
          page,
          (p) =>
            columns(
              ['batchId', 'status', 'trigger', 'total', 'completed', 'match rate', 'createdAt'],
              p.items.map((b) => [b.batchId, b.status, triggerOf(b), b.total, b.completed, b.stats ? matchRateText(b.stats, 'n/a') : '-', b.createdAt]),
            ) +
            (p.nextCursor !== undefined ? `next page: --cursor ${p.nextCursor}\n` : ''),
          page.items.map((b) => b.batchId),
        );
      },
    },
    {
      name: ['batch', 'cancel'],
      summary: 'stop a running batch (it ends CANCELLED with the results so far)',
      args: '<batchId>',
      positionals: { min: 1, max: 1 },
      async run(ctx, { positionals }) {
        const batch = (await ctx.client.cancelBatch(positionals[0] as string)) as BatchView;
        ctx.out.result(batch, (b) => summaryTable(b), batch.status);
      },
    },
    batchCompareCommand,
  ],
};

/** What started a batch, for a table: `api`, or `schedule <name>`. */
function triggerOf(batch: Batch): string {
  return batch.trigger === 'schedule' ? `schedule ${batch.scheduleName ?? '?'}` : batch.trigger;
}

/** Polls the batch until it ends, reporting progress on stderr; returns the final batch. */
async function follow(ctx: CommandContext, batchId: string, pollMs: number): Promise<BatchView> {
  const progress = ctx.out.quiet ? undefined : new ProgressReporter(ctx.io.stderr, Date.now());
  try {
    for (;;) {
      const batch = (await ctx.client.getBatch(batchId)) as BatchView;
      const done = TERMINAL.has(batch.status);
      progress?.update(batch, done);
      if (done) return batch;
      await sleep(pollMs);
    }
  } catch (err) {
    progress?.end();
    throw err;
  }
}

