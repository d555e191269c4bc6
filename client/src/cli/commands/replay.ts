/**
 * `replay <snapshotId>`: re-executes a decision; exit 1 unless the replay is `Success`.
 */
import { REPLAY_MODES, type ReplayRequest, type ReplayResult } from '../../schemas.js';
import { asUsage, choiceFlag, EXIT, intFlag, numberFlag, str, UsageError, type CommandGroup } from '../framework.js';
import { columns, keyValues, valueCell } from '../table.js';

function replayTable(r: ReplayResult): string {
  return (
    keyValues([
      ['replayId', r.replayId],
      ['snapshotId', r.snapshotId],
      ['mode', r.mode],
      ['status', r.status],
      ['outputsMatch', r.outputsMatch],
      ['integrity', r.integrity],
      ['executor', r.executor],
      ['executionTimeMs', r.executionTimeMs],
      ...(r.error ? ([['error', `${r.error.code}: ${r.error.message}`]] as const) : []),
    ]) +
    '\n' +
    columns(['path', 'comparator', 'score', 'match', 'original', 'replayed'], r.fieldComparisons.map((c) => [c.path, c.comparator, c.score, c.match, valueCell(c.original), valueCell(c.replayed)])) +
    (r.policyViolations.length > 0 ? `\npolicy violations:\n${columns(['rule', 'field', 'message'], r.policyViolations.map((v) => [v.ruleName, v.field, v.message]))}` : '')
  );
}

export const replayCommands: CommandGroup = {
  name: '',
  summary: 'Replay snapshots.',
  commands: [
    {
      name: ['replay'],
      summary: 'replay a decision on its registered executor (exit 1 unless Success)',
      args: '<snapshotId>',
      positionals: { min: 1, max: 1 },
      options: {
        mode: { type: 'string', value: 'MODE', description: `${REPLAY_MODES.join(' | ')} (default Tolerant)` },
        tolerance: { type: 'string', value: 'X', description: 'Tolerant mode: minimum score per output, 0..1 (default 0.8)' },
        'model-version': { type: 'string', value: 'V', description: 'replay on this model version (overrides modelParameters.modelVersion)' },
        policy: { type: 'string', value: 'NAME', description: 'also evaluate this stored policy, the original as baseline' },
        'noise-profile': { type: 'string', value: 'latest|N|none', description: "Tolerant mode: compare with the function's noise profile (default none)" },
        'dependency-mode': { type: 'string', value: 'recorded|live', description: 'serve recorded dependency calls from the recording (default when recorded) or live' },
      },
      async run(ctx, { positionals, values }) {
        const mode = choiceFlag('mode', str(values, 'mode'), REPLAY_MODES);
        const tolerance = numberFlag('tolerance', str(values, 'tolerance'), 0, 1);
        if (tolerance !== undefined && mode !== undefined && mode !== 'Tolerant') throw new UsageError(`--tolerance applies to --mode Tolerant only, not ${mode}`);
        const modelVersion = str(values, 'model-version');
        const policyName = str(values, 'policy');
        const noise = str(values, 'noise-profile');
        const noiseProfile = noise === undefined || noise === 'latest' || noise === 'none' ? noise : intFlag('noise-profile', noise, 1, 1_000_000_000);
        const dependencyMode = choiceFlag('dependency-mode', str(values, 'dependency-mode'), ['recorded', 'live'] as const);
        const request: ReplayRequest = {
          ...(noiseProfile !== undefined && { noiseProfile }),
          ...(dependencyMode !== undefined && { dependencyMode }),
          ...(mode !== undefined && { mode }),
          ...(tolerance !== undefined && { tolerance }),
          ...(modelVersion !== undefined && { overrides: { modelParameters: { modelVersion } } }),
          ...(policyName !== undefined && { policyName }),
        };
        const result = await asUsage(() => ctx.client.replaySnapshot(positionals[0] as string, request));
        ctx.out.result(result, replayTable, result.status);
        return result.status === 'Success' ? EXIT.OK : EXIT.GATED;
      },
    },
  ],
};
