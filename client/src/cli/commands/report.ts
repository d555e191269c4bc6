/**
 * `report batch|diff|replay|compare`: writes a self-contained HTML report (no network access at view time)
 * rendered by the service's report renderer — the same one `GET …/report` answers with — to a
 * file (`-o FILE`) or to stdout.
 */
import { writeFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { asUsage, EXIT, str, UsageError, type CommandContext, type CommandGroup, type OptionSpec } from '../framework.js';
import { DecisionReplayError } from '../../errors.js';
import { terminalSafeLines } from '../table.js';

const OUT: OptionSpec = { type: 'string', short: 'o', value: 'FILE', description: "write the HTML to FILE (default: stdout; '-' is stdout too). Here -o names the file: the global --output has no use for HTML" };

/** Writes the document where `-o` says; tells on stderr where it went. */
async function deliver(ctx: CommandContext, out: string | undefined, document: string, what: string): Promise<typeof EXIT.OK> {
  if (out === undefined || out === '-') {
    // Piped or redirected, the bytes are the route's own. On a terminal the document is only read:
    // a stored value's escape sequences in it are shown escaped, not obeyed.
    ctx.io.stdout.write(ctx.io.stdout.isTTY === true ? terminalSafeLines(document) : document);
    return EXIT.OK;
  }
  const path = isAbsolute(out) ? out : resolve(ctx.io.cwd, out);
  try {
    await writeFile(path, document);
  } catch (err) {
    throw new UsageError(`-o ${out}: cannot write the report: ${(err as Error).message}`);
  }
  ctx.out.info(`wrote ${what} to ${out} (${Buffer.byteLength(document).toLocaleString('en-US')} bytes)`);
  if (ctx.globals.quiet) ctx.io.stdout.write(`${out}\n`);
  return EXIT.OK;
}

export const reportCommands: CommandGroup = {
  name: 'report',
  summary: 'Self-contained HTML reports of batches, diffs, replays and comparisons: open the file in any browser, offline.',
  commands: [
    {
      name: ['report', 'batch'],
      summary: 'the batch report: counts and match rate, latency original vs replay, mismatched fields, mismatches, violations, errors',
      args: '<batchId>',
      positionals: { min: 1, max: 1 },
      options: { out: OUT },
      async run(ctx, { positionals, values }) {
        const id = positionals[0] as string;
        return deliver(ctx, str(values, 'out'), await asUsage(() => ctx.client.getBatchReport(id)), `the report of batch ${id}`);
      },
    },
    {
      name: ['report', 'diff'],
      summary: 'the diff view of two snapshots side by side (<a> the original, <b> the new)',
      args: '<a> <b>',
      positionals: { min: 2, max: 2 },
      options: { out: OUT },
      async run(ctx, { positionals, values }) {
        const [a, b] = positionals as [string, string];
        return deliver(ctx, str(values, 'out'), await asUsage(() => ctx.client.getDiffReport(a, b)), `the diff of ${a} and ${b}`);
      },
    },
    {
      name: ['report', 'replay'],
      summary: "the replay view: original vs replayed outputs, field by field (a snapshot's latest replay, or --snapshot S with a replay id)",
      args: '<snapshotId|replayId>',
      positionals: { min: 1, max: 1 },
      options: {
        out: OUT,
        snapshot: { type: 'string', value: 'ID', description: 'the snapshot the replay belongs to: the argument is then a replay id (a replay is stored under its snapshot)' },
      },
      details: "Examples:\n  decision-replay report replay <snapshotId> -o replay.html                # its latest replay\n  decision-replay report replay <replayId> --snapshot <snapshotId> -o r.html  # one replay",
      async run(ctx, { positionals, values }) {
        const id = positionals[0] as string;
        const snapshot = str(values, 'snapshot');
        const document = await asUsage(() => (snapshot === undefined ? ctx.client.getReplayReport(id) : ctx.client.getReplayReport(snapshot, id))).catch((err: unknown) => {
          // A replay id given alone reads as a snapshot id that does not exist: say what was meant.
          if (snapshot === undefined && err instanceof DecisionReplayError && err.code === 'SNAPSHOT_NOT_FOUND') {
            throw new DecisionReplayError(err.status, err.code, `${err.message}; if ${id} is a replay id, name its snapshot too: report replay ${id} --snapshot <snapshotId>`, err.details, { cause: err });
          }
          throw err;
        });
        return deliver(ctx, str(values, 'out'), document, snapshot === undefined ? `the latest replay of ${id}` : `replay ${id}`);
      },
    },
    {
      name: ['report', 'compare'],
      summary: 'the comparison view of an A/B comparison (batch compare prints its id): verdict, paired tests, fields, latency',
      args: '<comparisonId>',
      positionals: { min: 1, max: 1 },
      options: { out: OUT },
      async run(ctx, { positionals, values }) {
        const id = positionals[0] as string;
        return deliver(ctx, str(values, 'out'), await asUsage(() => ctx.client.getComparisonReport(id)), `the comparison ${id}`);
      },
    },
  ],
};
