/**
 * Every command group of the CLI, one module each in `commands/`.
 *
 * To add a command group:
 *   1. Create `commands/<group>.ts` exporting a `CommandGroup` (see framework.ts): its `name`
 *      (e.g. `report`; '' for top-level commands), a one-line `summary`, and its `commands`, each
 *      with its words (`['report', 'batch']`), `positionals`, `options` and `run(ctx, input)`
 *      returning an exit code from `EXIT`. Global flags (--endpoint, --region, --output, --quiet,
 *      --help) are parsed for you; `ctx.client` is ready, `ctx.out.result(value, toTable, id)`
 *      prints JSON or a table, and a thrown `UsageError` exits 2, a `DecisionReplayError` 3.
 *   2. Add ONE line to COMMAND_GROUPS below.
 *   3. Add an e2e test against the local host (see test/e2e/cli-*.e2e.test.ts).
 * `--help` for the group and each command is generated from these declarations.
 */
import type { CommandGroup } from './framework.js';
import { snapshotCommands } from './commands/snapshots.js';
import { validationCommands } from './commands/validation.js';
import { replayCommands } from './commands/replay.js';
import { policyCommands } from './commands/policy.js';
import { executorCommands } from './commands/executor.js';
import { batchCommands } from './commands/batch.js';
import { reportCommands } from './commands/report.js';
import { noiseCommands } from './commands/noise.js';
import { auditCommands } from './commands/audit.js';

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  snapshotCommands,
  validationCommands,
  replayCommands,
  policyCommands,
  executorCommands,
  batchCommands,
  reportCommands,
  noiseCommands,
  auditCommands,
];
