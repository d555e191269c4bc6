/**
 * `executor put|get`: how a function's decisions are re-executed.
 */
import type { ExecutorConfig, StoredExecutorConfig } from '../../schemas.js';
import { asUsage, functionNameValue, readJsonArg, type CommandGroup } from '../framework.js';
import { keyValues } from '../table.js';

function executorTable(e: StoredExecutorConfig): string {
  return keyValues(Object.entries(e));
}

export const executorCommands: CommandGroup = {
  name: 'executor',
  summary: "Register and read a function's executor.",
  commands: [
    {
      name: ['executor', 'put'],
      summary: 'register how to re-execute a function, from a JSON file (- for stdin)',
      args: '<functionName> <file|->',
      positionals: { min: 2, max: 2 },
      details:
        'The file holds one of {type:"http", url, timeoutMs?, headers?, secretHeaders?}, {type:"lambda", functionArn}, {type:"bedrock", modelId?}, ' +
        '{type:"openai", baseUrl, model?, headers?, secretHeaders?}. secretHeaders maps a header to where its value lives: a Secrets Manager ' +
        'secret ARN on AWS, env:NAME on the local host. Plain header values read back as ***.',
      async run(ctx, { positionals }) {
        const [name, file] = positionals as [string, string];
        const functionName = functionNameValue('<functionName>', name);
        const config = await readJsonArg(ctx.io, 'executor file', file);
        const stored = await asUsage(() => ctx.client.putExecutor(functionName, config as ExecutorConfig));
        ctx.out.result(stored, executorTable);
      },
    },
    {
      name: ['executor', 'get'],
      summary: "show a function's executor",
      args: '<functionName>',
      positionals: { min: 1, max: 1 },
      async run(ctx, { positionals }) {
        ctx.out.result(await ctx.client.getExecutor(functionNameValue('<functionName>', positionals[0] as string)), executorTable);
      },
    },
  ],
};
