/**
 * `policy put|get|list`: versioned policies.
 */
import type { PolicyBody, StoredPolicy } from '../../schemas.js';
import { asUsage, intFlag, readJsonArg, str, type CommandGroup } from '../framework.js';
import { columns, keyValues } from '../table.js';

function policyTable(p: StoredPolicy): string {
  return (
    keyValues([
      ['name', p.name],
      ['version', p.version],
      ['description', p.description],
      ['functionNames', p.functionNames.join(', ')],
      ['createdAt', p.createdAt],
    ]) +
    '\n' +
    columns(['rule', 'field', 'comparator', 'threshold', 'min', 'max'], p.rules.map((r) => [r.name, r.field, r.comparator, r.threshold, r.min, r.max]))
  );
}

export const policyCommands: CommandGroup = {
  name: 'policy',
  summary: 'Store and read versioned policies.',
  commands: [
    {
      name: ['policy', 'put'],
      summary: "store a policy's next version from a JSON file (- for stdin)",
      args: '<name> <file|->',
      positionals: { min: 2, max: 2 },
      async run(ctx, { positionals }) {
        const [name, file] = positionals as [string, string];
        const body = await readJsonArg(ctx.io, 'policy file', file);
        const policy = await asUsage(() => ctx.client.putPolicy(name, body as PolicyBody));
        ctx.out.result(policy, policyTable, `${policy.name} v${policy.version}`);
      },
    },
    {
      name: ['policy', 'get'],
      summary: "show a policy's latest version (or --version N)",
      args: '<name>',
      positionals: { min: 1, max: 1 },
      options: { version: { type: 'string', value: 'N', description: 'a stored version (1, 2, …) instead of the latest' } },
      async run(ctx, { positionals, values }) {
        const version = intFlag('version', str(values, 'version'), 1, Number.MAX_SAFE_INTEGER);
        const policy = await ctx.client.getPolicy(positionals[0] as string, version !== undefined ? { version } : undefined);
        ctx.out.result(policy, policyTable, `${policy.name} v${policy.version}`);
      },
    },
    {
      name: ['policy', 'list'],
      summary: 'list policies',
      positionals: { min: 0, max: 0 },
      options: {
        limit: { type: 'string', value: 'N', description: 'page size, 1..1000' },
        cursor: { type: 'string', value: 'CURSOR', description: 'continue after a previous page' },
      },
      async run(ctx, { values }) {
        const limit = intFlag('limit', str(values, 'limit'), 1, 1000);
        const cursor = str(values, 'cursor');
        const page = await ctx.client.listPolicies({ ...(limit !== undefined && { limit }), ...(cursor !== undefined && { cursor }) });
        ctx.out.result(page, (p) => columns(['name', 'version', 'rules', 'functionNames'], p.items.map((x) => [x.name, x.version, x.rules.length, x.functionNames.join(', ')])), page.items.map((p) => p.name));
      },
    },
  ],
};
