/**
 * Snapshot commands: `record`, `get`, `list`, `diff`.
 */
import type { Snapshot, SnapshotDiff } from '../../schemas.js';
import { asUsage, instantFlag, intFlag, readJsonArg, requiredFlag, str, type CommandGroup } from '../framework.js';
import { cell, columns, keyValues } from '../table.js';
import type { RecordSnapshot } from '../../schemas.js';

function snapshotTable(s: Snapshot): string {
  return (
    keyValues([
      ['snapshotId', s.snapshotId],
      ['functionName', s.functionName],
      ['createdAt', s.createdAt],
      ['model', s.modelParameters ? `${s.modelParameters.modelName}${s.modelParameters.modelVersion !== undefined ? ` ${s.modelParameters.modelVersion}` : ''}` : undefined],
      ['executionTimeMs', s.executionTimeMs],
      ['contentHash', s.contentHash],
    ]) +
    '\n' +
    columns(
      ['', 'name', 'value'],
      [...s.inputs.map((i) => ['input', i.name, i.value]), ...s.outputs.map((o) => ['output', o.name, o.value])],
    )
  );
}

function diffTable(d: SnapshotDiff): string {
  const head = keyValues([
    ['inputsChanged', d.inputsChanged],
    ['outputsChanged', d.outputsChanged],
    ['modelParamsChanged', d.modelParamsChanged],
    ['executionTimeDeltaMs', d.executionTimeDeltaMs],
  ]);
  return `${head}\n${columns(['path', 'change', 'old', 'new'], d.changes.map((c) => [c.path, c.changeType, c.oldValue, c.newValue]))}`;
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
      async run(ctx, { positionals }) {
        const snapshot = await ctx.client.getSnapshot(positionals[0] as string);
        ctx.out.result(snapshot, snapshotTable, snapshot.snapshotId);
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
        all: { type: 'boolean', description: 'follow every page' },
        newest: { type: 'boolean', description: 'newest first' },
      },
      async run(ctx, { values }) {
        const functionName = requiredFlag('function', values.function);
        const from = instantFlag('from', str(values, 'from'));
        const to = instantFlag('to', str(values, 'to'));
        const limit = intFlag('limit', str(values, 'limit'), 1, 1000);
        const query = { functionName, ...(from !== undefined && { from }), ...(to !== undefined && { to }), ...(limit !== undefined && { limit }), ...(values.newest === true && { order: 'desc' as const }) };
        let page: { items: Snapshot[]; nextCursor?: string };
        if (values.all === true) {
          const items: Snapshot[] = [];
          for await (const s of ctx.client.iterateSnapshots(query)) items.push(s);
          page = { items };
        } else {
          const cursor = str(values, 'cursor');
          page = await ctx.client.listSnapshots({ ...query, ...(cursor !== undefined && { cursor }) });
        }
        ctx.out.result(
          page,
          (p) => columns(['snapshotId', 'createdAt', 'model', 'outputs'], p.items.map((s) => [s.snapshotId, s.createdAt, s.modelParameters ? `${s.modelParameters.modelName} ${cell(s.modelParameters.modelVersion)}` : '-', s.outputs.map((o) => `${o.name}=${cell(o.value)}`).join(' ').slice(0, 60)])) + (p.nextCursor !== undefined ? `next page: --cursor ${p.nextCursor}\n` : ''),
          page.items.map((s) => s.snapshotId).join('\n'),
        );
      },
    },
    {
      name: ['diff'],
      summary: 'what changed from snapshot <a> (the original) to <b>',
      args: '<a> <b>',
      positionals: { min: 2, max: 2 },
      async run(ctx, { positionals }) {
        const diff = await ctx.client.diffSnapshots(positionals[0] as string, positionals[1] as string);
        ctx.out.result(diff, diffTable);
      },
    },
  ],
};
