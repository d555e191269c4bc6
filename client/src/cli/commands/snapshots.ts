/**
 * Snapshot commands: `record`, `get`, `list`, `diff`.
 */
import type { Snapshot, SnapshotDiff, SnapshotListPage } from '../../schemas.js';
import { asUsage, EXIT, functionNameValue, instantFlag, intFlag, readJsonArg, requiredFlag, str, UsageError, type CommandGroup } from '../framework.js';
import { cell, columns, keyValues, valueCell } from '../table.js';
import type { RecordSnapshot } from '../../schemas.js';
import { DecisionReplayError } from '../../errors.js';

/**
 * `name value` rows of a snapshot's inputs or outputs. A tampered snapshot is shown as stored, and
 * what is stored may not have the shape of one (a list gone or replaced, an entry without a name):
 * whatever is there is printed, never dereferenced blindly.
 */
function namedRows(kind: string, values: unknown): unknown[][] {
  if (values === undefined) return [[kind, '(missing)', undefined]];
  if (!Array.isArray(values)) return [[kind, '(not a list)', values]];
  return values.map((v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as { name?: unknown }).name === 'string' ? [kind, (v as { name: string }).name, (v as { value?: unknown }).value] : [kind, '(malformed)', v]));
}

function modelLabel(mp: unknown): string | undefined {
  if (mp === undefined || mp === null) return undefined;
  if (typeof mp !== 'object' || Array.isArray(mp)) return cell(mp);
  const { modelName, modelVersion } = mp as { modelName?: unknown; modelVersion?: unknown };
  return `${cell(modelName)}${modelVersion !== undefined ? ` ${cell(modelVersion)}` : ''}`;
}

/** `name=value …` of a listed snapshot's outputs, at most 60 characters. */
function outputsSummary(outputs: unknown): string {
  return namedRows('', outputs)
    .map(([, name, value]) => `${cell(name)}=${cell(value)}`)
    .join(' ')
    .slice(0, 60);
}

function snapshotTable(s: Snapshot): string {
  return (
    keyValues([
      ['snapshotId', s.snapshotId],
      ['functionName', s.functionName],
      ['createdAt', s.createdAt],
      ['model', modelLabel(s.modelParameters)],
      ['executionTimeMs', s.executionTimeMs],
      ['contentHash', s.contentHash],
    ]) +
    '\n' +
    columns(['', 'name', 'value'], [...namedRows('input', s.inputs), ...namedRows('output', s.outputs)])
  );
}

function diffTable(d: SnapshotDiff): string {
  const head = keyValues([
    ['inputsChanged', d.inputsChanged],
    ['outputsChanged', d.outputsChanged],
    ['modelParamsChanged', d.modelParamsChanged],
    ['executionTimeDeltaMs', d.executionTimeDeltaMs],
  ]);
  return `${head}\n${columns(['path', 'change', 'old', 'new'], d.changes.map((c) => [c.path, c.changeType, valueCell(c.oldValue), valueCell(c.newValue)]))}`;
}

export const snapshotCommands: CommandGroup = {
  name: '',
  summary: 'Record, read, list and diff decision snapshots.',
  commands: [
    {
      name: ['record'],
      summary: 'record a decision from a JSON file (- for stdin)',
      args: '<file|->',
      positionals: { min: 1, max: 1 },
      options: { 'idempotency-key': { type: 'string', value: 'KEY', description: 'makes a retried record return the first snapshot' } },
      details: 'The file holds the POST /snapshots body: {functionName, inputs, outputs, modelParameters?, context?, executionTimeMs?, tags?}.',
      async run(ctx, { positionals, values }) {
        const body = await readJsonArg(ctx.io, 'snapshot file', positionals[0] as string);
        const key = str(values, 'idempotency-key');
        const snapshot = await asUsage(() => ctx.client.recordSnapshot(body as RecordSnapshot, key !== undefined ? { idempotencyKey: key } : undefined));
        ctx.out.result(snapshot, snapshotTable, snapshot.snapshotId);
      },
    },
    {
      name: ['get'],
      summary: 'show a snapshot',
      args: '<snapshotId>',
      positionals: { min: 1, max: 1 },
      details: 'A snapshot whose stored content no longer matches its contentHash (the service answers content-integrity: tampered) is printed as stored, with a TAMPERED warning on stderr, and exits 1.',
      async run(ctx, { positionals }) {
        const id = positionals[0] as string;
        const { snapshot, integrity } = await ctx.client.getSnapshotWithIntegrity(id);
        // The service answers every read with its content-integrity verdict; an answer with neither
        // that nor the snapshot asked for came from something else (a wrong endpoint), and is not
        // printed as a snapshot with exit 0.
        if (integrity === 'unknown' && (snapshot as { snapshotId?: unknown }).snapshotId !== id) {
          throw new DecisionReplayError(200, 'INVALID_RESPONSE', `GET /snapshots/${id} answered something that is not snapshot '${id}' (no such snapshotId, no content-integrity header): is ${ctx.client.endpoint} a decision-replay service?`);
        }
        ctx.out.result(snapshot, snapshotTable, cell(snapshot.snapshotId ?? id));
        if (integrity !== 'tampered') return EXIT.OK;
        ctx.out.warn(`TAMPERED: snapshot ${id} no longer matches its contentHash (content-integrity: tampered); what is shown is what is stored now, not what was recorded`);
        return EXIT.GATED;
      },
    },
    {
      name: ['list'],
      summary: "list a function's snapshots by time",
      positionals: { min: 0, max: 0 },
      options: {
        function: { type: 'string', short: 'f', value: 'NAME', description: 'the function (required)' },
        from: { type: 'string', value: 'TIME', description: 'ISO-8601 start (inclusive)' },
        to: { type: 'string', value: 'TIME', description: 'ISO-8601 end (inclusive)' },
        limit: { type: 'string', value: 'N', description: 'page size, 1..1000 (default 50)' },
        cursor: { type: 'string', value: 'CURSOR', description: 'continue after a previous page' },
        all: { type: 'boolean', description: 'follow every page (from --cursor, when given)' },
        newest: { type: 'boolean', description: 'newest first' },
      },
      details: 'Snapshots are listed as stored. Each one that no longer matches its contentHash (the service names it in the page\'s `tampered`) gets a TAMPERED warning on stderr, and the command exits 1.',
      async run(ctx, { values }) {
        const functionName = functionNameValue('--function', requiredFlag('function', values.function));
        const from = instantFlag('from', str(values, 'from'));
        const to = instantFlag('to', str(values, 'to'));
        // Both ends are inclusive: one instant is a range, a start after the end is a mistake,
        // named here as `batch run`, `verify` and `export` name it (the service would answer 400).
        if (from !== undefined && to !== undefined && from > to) throw new UsageError(`--from (${from}) must not be after --to (${to})`);
        const limit = intFlag('limit', str(values, 'limit'), 1, 1000);
        const query = { functionName, ...(from !== undefined && { from }), ...(to !== undefined && { to }), ...(limit !== undefined && { limit }), ...(values.newest === true && { order: 'desc' as const }) };
        const rows = (items: Snapshot[]) => columns(['snapshotId', 'createdAt', 'model', 'outputs'], items.map((s) => [s.snapshotId, s.createdAt, s.modelParameters ? `${cell(s.modelParameters.modelName)} ${cell(s.modelParameters.modelVersion)}` : '-', outputsSummary(s.outputs)]));
        const cursor = str(values, 'cursor');
        // The service lists what is stored and names the snapshots that no longer match their
        // contentHash; as `get` does for one, `list` warns of each and exits 1.
        const tampered: string[] = [];
        const noteTampered = (page: SnapshotListPage, pageNumber: number) => {
          for (const t of page.tampered ?? []) tampered.push(t.snapshotId ?? `item ${t.index} of page ${pageNumber} (its snapshotId is gone)`);
          return page;
        };
        if (values.all === true) {
          // Every page: printed as it arrives, not gathered first (a function's whole history can
          // be far more than one string or the heap holds). With --cursor, every page after it:
          // the rest of a listing, not the whole of it again.
          let pageNumber = 0;
          const pages = ctx.client.iterate(async (next) => noteTampered(await ctx.client.listSnapshots({ ...query, ...((next ?? cursor) !== undefined && { cursor: next ?? cursor }) }), (pageNumber += 1)));
          await ctx.out.list(pages, rows, (s) => s.snapshotId);
        } else {
          const page = noteTampered(await ctx.client.listSnapshots({ ...query, ...(cursor !== undefined && { cursor }) }), 1);
          ctx.out.result(page, (p) => rows(p.items) + (p.nextCursor !== undefined ? `next page: --cursor ${p.nextCursor}\n` : ''), page.items.map((s) => s.snapshotId));
        }
        if (tampered.length === 0) return EXIT.OK;
        for (const id of tampered) ctx.out.warn(`TAMPERED: snapshot ${id} no longer matches its contentHash; what is listed is what is stored now, not what was recorded`);
        return EXIT.GATED;
      },
    },
    {
      name: ['diff'],
      summary: 'what changed from snapshot <a> (the original) to <b>',
      args: '<a> <b>',
      positionals: { min: 2, max: 2 },
      details: 'When either snapshot no longer matches its contentHash, the diff (of what is stored now) is printed with a TAMPERED warning on stderr naming it, and the command exits 1.',
      async run(ctx, { positionals }) {
        const [a, b] = positionals as [string, string];
        const diff = await ctx.client.diffSnapshots(a, b);
        ctx.out.result(diff, diffTable);
        const tampered = [diff.integrity.original === 'tampered' && a, diff.integrity.updated === 'tampered' && b].filter((id): id is string => id !== false);
        if (tampered.length === 0) return EXIT.OK;
        ctx.out.warn(`TAMPERED: snapshot ${tampered.join(' and snapshot ')} no longer ${tampered.length > 1 ? 'match their' : 'matches its'} contentHash; the diff shows what is stored now, not what was recorded`);
        return EXIT.GATED;
      },
    },
  ],
};
