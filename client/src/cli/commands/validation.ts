/**
 * `validate <snapshotId> (--policy NAME | --policy-file F)`: exit 1 when the report is violated.
 */
import type { ValidateRequest, ValidationReport } from '../../schemas.js';
import { asUsage, EXIT, readJsonArg, str, UsageError, type CommandGroup } from '../framework.js';
import { columns, keyValues } from '../table.js';

export function reportTable(r: ValidationReport): string {
  return (
    keyValues([
      ['reportId', r.reportId],
      ['snapshotId', r.snapshotId],
      ['policy', `${r.policy.name}${r.policy.version !== null ? ` v${r.policy.version}` : ' (inline)'}`],
      ['baselineId', r.baselineId],
      ['status', r.status],
      ['integrity', r.integrity],
      ...(r.baselineIntegrity !== undefined ? [['baselineIntegrity', r.baselineIntegrity] as [string, string]] : []),
    ]) +
    '\n' +
    columns(['rule', 'field', 'comparator', 'status', 'score', 'reason'], r.rules.map((x) => [x.ruleName, x.field, x.comparator, x.status, x.score, x.reason])) +
    (r.violations.length > 0 ? `\nviolations:\n${columns(['rule', 'field', 'expected', 'actual', 'message'], r.violations.map((v) => [v.ruleName, v.field, v.expected, v.actual, v.message]))}` : '')
  );
}

export const validationCommands: CommandGroup = {
  name: '',
  summary: 'Validate snapshots against policies.',
  commands: [
    {
      name: ['validate'],
      summary: 'validate a snapshot against a stored or inline policy (exit 1 when violated)',
      args: '<snapshotId>',
      positionals: { min: 1, max: 1 },
      options: {
        policy: { type: 'string', value: 'NAME', description: 'a stored policy' },
        'policy-file': { type: 'string', value: 'FILE', description: 'an inline policy from a JSON file (- for stdin)' },
        baseline: { type: 'string', value: 'SNAPSHOT_ID', description: 'baseline for relative rules (default: the previous snapshot with the same inputs)' },
      },
      async run(ctx, { positionals, values }) {
        const policyName = str(values, 'policy');
        const policyFile = str(values, 'policy-file');
        if ((policyName === undefined) === (policyFile === undefined)) throw new UsageError('give exactly one of --policy and --policy-file');
        const baselineId = str(values, 'baseline');
        const request: ValidateRequest = {
          ...(policyName !== undefined ? { policyName } : { policy: await readJsonArg(ctx.io, '--policy-file', policyFile as string) }),
          ...(baselineId !== undefined && { baselineId }),
        };
        const report = await asUsage(() => ctx.client.validateSnapshot(positionals[0] as string, request));
        ctx.out.result(report, reportTable, report.status);
        return report.status === 'passed' ? EXIT.OK : EXIT.GATED;
      },
    },
  ],
};
