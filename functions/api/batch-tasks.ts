/**
 * The edge of the three batch Lambdas: what the state machine sends each task (its `Payload`),
 * parsed once here into the typed commands of the core. Step Functions' vocabulary stays here —
 * the execution name and start time, the Catch's `{Error, Cause}` and the JSON that Lambda puts in
 * a function error's `Cause` — so the core never sees it.
 */
import * as z from 'zod/mini';
import { batchIdForExecution } from '../adapters/batch-ids.js';
import type { PlanCommand } from '../core/batch.js';
import type { ReplayChunkCommand, ReplayItemCommand } from '../core/batch-replay.js';
import type { StatsCommand } from '../core/batch-stats.js';
import type { ReplayMode } from '../core/replay-request.js';
import { DomainError } from '../core/errors.js';
import { namedFailure, type CodedFailure } from './error-codes.js';
import { ULID } from '../core/ulid.js';

/** The task payload is not what the state machine sends: thrown (by name) for the workflow to fail on. */
export class BatchPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchPayloadError';
  }
}

/** A Catch's error output: `Error` is the error's name, `Cause` its description. */
const CaughtErrorSchema = z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) });
type CaughtError = z.infer<typeof CaughtErrorSchema>;

/** One scheduled regression replay, as configured in the CDK context (`schedules`). */
export interface ScheduleSpec {
  name: string;
  selector: { functionName: string; lastHours: number };
  mode?: ReplayMode | undefined;
  maxConcurrency?: number | undefined;
  policyName?: string | undefined;
  tolerance?: number | undefined;
}

/** The input a schedule starts the batch state machine with (the deployed rule's and the local cron's). */
export interface ScheduledExecutionInput {
  trigger: 'schedule';
  scheduleName: string;
  request: { selector: { functionName: string; lastHours: number }; mode?: ReplayMode; maxConcurrency?: number; policyName?: string; tolerance?: number };
}

/**
 * The execution input of one schedule: what Plan receives as `input` and turns into a batch.
 * Absent options stay absent (Plan applies the defaults when the schedule fires).
 */
export function scheduledExecutionInput(schedule: ScheduleSpec): ScheduledExecutionInput {
  const request: ScheduledExecutionInput['request'] = { selector: { functionName: schedule.selector.functionName, lastHours: schedule.selector.lastHours } };
  if (schedule.mode !== undefined) request.mode = schedule.mode;
  if (schedule.maxConcurrency !== undefined) request.maxConcurrency = schedule.maxConcurrency;
  if (schedule.policyName !== undefined) request.policyName = schedule.policyName;
  if (schedule.tolerance !== undefined) request.tolerance = schedule.tolerance;
  return { trigger: 'schedule', scheduleName: schedule.name, request };
}

/** Plan's payload: the execution input, and the execution's name and start time (from the context object). */
export const PlanPayloadSchema = z.object({
  input: z.union([
    z.object({ batchId: z.string().check(z.regex(ULID)) }),
    z.object({ trigger: z.literal('schedule'), scheduleName: z.string(), request: z.unknown() }),
  ]),
  executionName: z.string(),
  executionStartTime: z.string(),
});

/** One Map item's payload; with `recordError`, the Catch's error for the item. */
export const ReplayItemPayloadSchema = z.object({
  batchId: z.string(),
  snapshotId: z.string(),
  recordError: z.optional(z.boolean()),
  error: z.optional(CaughtErrorSchema),
});

/** One chunk's payload (ItemBatcher's `Items`, CSV rows `{snapshotId}`); with `recordError`, the Catch's error for the chunk. */
export const ReplayChunkPayloadSchema = z.object({
  batchId: z.string(),
  items: z.array(z.object({ snapshotId: z.string() })).check(z.minLength(1, 'a chunk has at least one item')),
  recordError: z.optional(z.boolean()),
  error: z.optional(CaughtErrorSchema),
});

/** Stats' payload: the batch id, or (`failed`) the execution's input, name, start time and the Catch's error. */
export const StatsPayloadSchema = z.union([
  z.object({ batchId: z.string(), failed: z.optional(z.literal(false)) }),
  z.object({
    failed: z.literal(true),
    input: z.object({ batchId: z.optional(z.string()) }),
    executionName: z.string(),
    executionStartTime: z.string(),
    error: z.optional(CaughtErrorSchema),
  }),
]);

function parse<S extends z.ZodMiniType>(schema: S, payload: unknown, task: string): z.infer<S> {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw new BatchPayloadError(`${task} payload: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}

/**
 * The message of a caught error: Lambda's function-error `Cause` is JSON `{errorType, errorMessage,
 * trace}`, a Step Functions one (`States.Timeout`, …) is plain text. Cut to 1,000 characters.
 */
export function causeMessage(cause: string | undefined): string {
  if (cause === undefined || cause === '') return 'the replay failed after its retries';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown; errorType?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage.slice(0, 1000);
  } catch {
    // not JSON: plain text
  }
  return cause.slice(0, 1000);
}

/**
 * `{code, message}` of a caught error ({@link namedFailure}): the message starts with the name
 * Step Functions or Lambda gave where that is not a code (`States.Timeout: Task timed out after 60 s`).
 */
export function caughtFailure(error: CaughtError | undefined): CodedFailure {
  const message = causeMessage(error?.Cause);
  if (error?.Error === undefined || error.Error === '') return { code: 'UNKNOWN', message };
  return namedFailure(error.Error, message);
}

/**
 * What a batch task throws for the workflow: a domain error under its code as its `name` — the one
 * thing of an error that crosses a Lambda invocation (Lambda's `errorType`, Step Functions'
 * `Error`), so the item's result or the batch's reason says `PAYLOAD_TOO_LARGE`, not the class
 * `PayloadTooLargeError`. Anything else (a fault) is thrown as it is. Retry matches only `Lambda.*`
 * names, so nothing a task throws is retried either way.
 */
export function asWorkflowError(err: unknown): unknown {
  if (!(err instanceof DomainError)) return err;
  const named = new Error(err.message, { cause: err });
  named.name = err.code;
  if (err.stack !== undefined) named.stack = err.stack;
  return named;
}

/** A batch task whose domain errors reach the workflow under their codes ({@link asWorkflowError}). */
export function workflowTask<P, R>(task: (payload: P) => Promise<R>): (payload: P) => Promise<R> {
  return async (payload) => {
    try {
      return await task(payload);
    } catch (err) {
      throw asWorkflowError(err);
    }
  };
}

/** Plan: an API-started batch by id; a scheduled one gets the batch id of its execution (the same on every retry). */
export function parsePlanPayload(payload: unknown): PlanCommand {
  const { input, executionName, executionStartTime } = parse(PlanPayloadSchema, payload, 'plan');
  if ('batchId' in input) return { batchId: input.batchId };
  return { schedule: { batchId: batchIdForExecution(executionName, executionStartTime), scheduleName: input.scheduleName, request: input.request, startedAt: executionStartTime } };
}

/** A Map item: replay it, or record the error its retries ended with. */
export function parseReplayItemPayload(payload: unknown): ReplayItemCommand {
  const p = parse(ReplayItemPayloadSchema, payload, 'replay');
  return p.recordError ? { batchId: p.batchId, snapshotId: p.snapshotId, failure: caughtFailure(p.error) } : { batchId: p.batchId, snapshotId: p.snapshotId };
}

/** A Map chunk: replay its snapshots, or record the error its retries ended with for each. */
export function parseReplayChunkPayload(payload: unknown): ReplayChunkCommand {
  const p = parse(ReplayChunkPayloadSchema, payload, 'chunk');
  const snapshotIds = p.items.map((i) => i.snapshotId);
  return p.recordError ? { batchId: p.batchId, snapshotIds, failure: caughtFailure(p.error) } : { batchId: p.batchId, snapshotIds };
}

/** What the replay task receives: a chunk (`items`, what the workflow sends) or a single snapshot. */
export function parseReplayPayload(payload: unknown): { chunk: ReplayChunkCommand } | { item: ReplayItemCommand } {
  return typeof payload === 'object' && payload !== null && 'items' in payload ? { chunk: parseReplayChunkPayload(payload) } : { item: parseReplayItemPayload(payload) };
}

/** Stats: fold a batch's results, or mark the batch of a failed execution FAILED with the caught error as reason. */
export function parseStatsPayload(payload: unknown): StatsCommand {
  const p = parse(StatsPayloadSchema, payload, 'stats');
  if (p.failed !== true) return { batchId: p.batchId };
  const batchId = p.input.batchId ?? batchIdForExecution(p.executionName, p.executionStartTime);
  const { code, message } = caughtFailure(p.error);
  return { batchId, failed: { reason: `${code}: ${message}` } };
}
