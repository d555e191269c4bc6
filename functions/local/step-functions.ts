/**
 * The one-machine stand-in for Step Functions (DESIGN §8): runs the batch state machine's ASL —
 * the very definition CDK deploys, rendered by `renderBatchAsl()` in lib/ and passed in by the host —
 * with aws-local-stepfunctions, mapping each `lambda:invoke` Task to a local JS function by the
 * function ARN in its `Parameters.FunctionName`, as AWS would.
 *
 * What this emulates of a Lambda invocation: the payload crosses a JSON boundary both ways (no
 * shared objects, no `undefined`), the result comes back as `{StatusCode: 200, Payload}`, and a
 * thrown error reaches Retry/Catch under its `name`, with a `Cause` shaped like AWS's (see
 * {@link toTaskError}).
 *
 * One pre-step, because the interpreter ignores the Distributed Map's ItemReader and ItemBatcher:
 * {@link withLocalItemReaders} gives each Map with an ItemReader a Task state just before it that
 * reads the object (through {@link LocalObjectReader}, i.e. the local S3) and cuts it into
 * ItemBatcher's `{BatchInput, Items}` chunks, and points the Map's ItemsPath at them. Nothing else
 * of the definition changes (tested).
 */
import './polyfills.js';
import { ExecutionAbortedError, StateMachine, type RunOptions, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { ConflictError } from '../core/errors.js';

/** The local functions standing in for the three batch Lambdas: payload in, payload out. */
export interface BatchHandlers {
  plan(payload: unknown): Promise<unknown> | unknown;
  replay(payload: unknown): Promise<unknown> | unknown;
  stats(payload: unknown): Promise<unknown> | unknown;
}

type Role = keyof BatchHandlers;

/** Reads the lines of an object of the local S3 (header included), page by page. */
export interface LocalObjectReader {
  readLines(bucket: string, key: string): AsyncIterable<string[]>;
}

/** The rendered definition: what `renderBatchAsl()` returns (lib/ may not be imported here). */
export interface BatchAsl {
  definition: object;
  functionArns: Record<Role, string>;
}

/** Options of {@link LocalStateMachine}. */
export interface LocalStateMachineOptions {
  /**
   * Multiplies every Retry interval and max delay (default 1: as deployed). Tests pass e.g. 0.01 so
   * a 1 s retry waits 10 ms; backoff and jitter keep their shape. Only timing changes.
   */
  retryIntervalScale?: number;
  /** Where ItemReader reads from; required when the definition has one. */
  objects?: LocalObjectReader;
  /**
   * How long an ended execution's name stays taken (default {@link DEFAULT_EXECUTION_RETENTION_MS},
   * 90 days: Step Functions keeps a Standard workflow's closed executions, and their names, that long).
   */
  retentionMs?: number;
  /**
   * How many ended executions are kept at most (default {@link DEFAULT_MAX_ENDED_EXECUTIONS}); the
   * oldest-ended is forgotten first. Running executions are never forgotten.
   */
  maxEndedExecutions?: number;
  /** The clock retention is measured with (epoch ms; default `Date.now`). */
  now?: () => number;
}

/** Step Functions' retention of a Standard workflow's closed executions: 90 days. */
export const DEFAULT_EXECUTION_RETENTION_MS = 90 * 24 * 60 * 60 * 1000;
/**
 * The local bound on ended executions remembered. Each holds its name, input and outcome (a few
 * hundred bytes), so 10,000 of them stay around a few MB in a long-running `npm start`.
 */
export const DEFAULT_MAX_ENDED_EXECUTIONS = 10_000;

/** How an execution ended, in the terms of Step Functions' DescribeExecution. */
export type LocalExecutionOutcome =
  | { status: 'SUCCEEDED'; output: unknown }
  | { status: 'FAILED'; error: { Error: string; Cause: string } }
  | { status: 'ABORTED' };

/** A started execution. */
export interface LocalExecution {
  executionName: string;
  /**
   * When it started (epoch ms): the interpreter's ExecutionStarted event, which it logs as it sets
   * `$$.Execution.StartTime` (what a scheduled batch's id is derived from).
   */
  readonly startDate: number;
  /** Settles when the execution ends; never rejects. */
  done: Promise<LocalExecutionOutcome>;
}

/** Starting an execution under a name already used with a different input (as Step Functions' ExecutionAlreadyExists). */
export class ExecutionAlreadyExistsError extends ConflictError {
  readonly executionName: string;
  constructor(executionName: string) {
    super(`execution '${executionName}' already exists with a different input`, { code: 'EXECUTION_ALREADY_EXISTS' });
    this.executionName = executionName;
  }
}

const LAMBDA_INVOKE = /^arn:aws[a-z-]*:states:::lambda:invoke$/;

type Json = Record<string, unknown>;
/** The interpreter's JSON value type (not exported by name). */
type JsonValue = Parameters<StateMachine['run']>[0];
type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every state of a definition, nested Map processors and Parallel branches included. */
function* walkStates(definition: unknown): Generator<[string, Json]> {
  if (!isRecord(definition) || !isRecord(definition.States)) return;
  for (const [name, state] of Object.entries(definition.States)) {
    if (!isRecord(state)) continue;
    yield [name, state];
    yield* walkStates(state.ItemProcessor ?? state.Iterator);
    if (Array.isArray(state.Branches)) for (const b of state.Branches) yield* walkStates(b);
  }
}

/** A copy of `definition` with every Retry interval and max delay multiplied by `scale`. */
function scaleRetries(definition: object, scale: number): object {
  const copy = structuredClone(definition);
  for (const [, state] of walkStates(copy)) {
    if (!Array.isArray(state.Retry)) continue;
    for (const retrier of state.Retry as Json[]) {
      // The ASL defaults (1 s interval) apply when a field is absent.
      retrier.IntervalSeconds = (typeof retrier.IntervalSeconds === 'number' ? retrier.IntervalSeconds : 1) * scale;
      if (typeof retrier.MaxDelaySeconds === 'number') retrier.MaxDelaySeconds *= scale;
    }
  }
  return copy;
}

/** The JSON a value becomes on the wire (`undefined` → `null`, as a Lambda returning nothing). */
function overTheWire(value: unknown): JsonValue {
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

/**
 * What a thrown error looks like to Retry/Catch on AWS: `Error` is its `name`; `Cause` is Lambda's
 * JSON `{errorType, errorMessage, trace}` for a function error, and the bare message for a Lambda
 * service error (`Lambda.*`, e.g. `Lambda.TooManyRequestsException`).
 */
function toTaskError(thrown: unknown): Error {
  const name = thrown instanceof Error ? thrown.name : 'Error';
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  const cause = name.startsWith('Lambda.')
    ? message
    : JSON.stringify({ errorType: name, errorMessage: message, trace: thrown instanceof Error && thrown.stack ? thrown.stack.split('\n') : [] });
  const error = new Error(cause, { cause: thrown });
  error.name = name;
  return error;
}

/** The resource of the inserted reader states (a name the Task handlers map, never called on AWS). */
export const LOCAL_ITEM_READER_RESOURCE = 'arn:aws:lambda:us-east-1:000000000000:function:local-item-reader';
/** Where an inserted reader state puts the chunks for its Map (`ItemsPath`). */
export const LOCAL_ITEMS_PATH = '$.localItemReader';
/** The name of the reader state inserted before the Map `mapName`. */
export const localReaderStateName = (mapName: string) => `${mapName}LocalItemReader`;

/** Every `States` object of a definition (top level, Map processors, Parallel branches), with its `StartAt` holder. */
function* walkMachines(machine: unknown): Generator<Json> {
  if (!isRecord(machine) || !isRecord(machine.States)) return;
  yield machine;
  for (const state of Object.values(machine.States)) {
    if (!isRecord(state)) continue;
    yield* walkMachines(state.ItemProcessor ?? state.Iterator);
    if (Array.isArray(state.Branches)) for (const b of state.Branches) yield* walkMachines(b);
  }
}

/** Points every transition to `from` (Next, Default, Choices, Catch, StartAt) at `to`, except `to`'s own. */
function redirect(machine: Json, from: string, to: string): void {
  if (machine.StartAt === from) machine.StartAt = to;
  for (const [name, state] of Object.entries(machine.States as Json)) {
    if (name === to || !isRecord(state)) continue;
    if (state.Next === from) state.Next = to;
    if (state.Default === from) state.Default = to;
    for (const list of [state.Choices, state.Catch]) {
      if (Array.isArray(list)) for (const c of list as Json[]) if (c.Next === from) c.Next = to;
    }
  }
}

/**
 * The definition the local interpreter runs: a copy of `definition` where each Map with an
 * ItemReader is preceded by a reader Task (same Catch as the Map) that returns ItemBatcher's chunks
 * (or the bare items without an ItemBatcher) at {@link LOCAL_ITEMS_PATH}, the Map's `ItemsPath`;
 * the Map loses ItemReader and ItemBatcher; transitions into the Map go to the reader.
 */
export function withLocalItemReaders(definition: object): { definition: object; readerStates: string[] } {
  const copy = structuredClone(definition) as Json;
  const readerStates: string[] = [];
  for (const machine of walkMachines(copy)) {
    const states = machine.States as Json;
    for (const [mapName, state] of Object.entries(states)) {
      if (!isRecord(state) || state.Type !== 'Map' || !isRecord(state.ItemReader)) continue;
      const reader = state.ItemReader;
      const batcher = isRecord(state.ItemBatcher) ? state.ItemBatcher : undefined;
      const readerName = localReaderStateName(mapName);
      const parameters: Json = { reader: reader.Parameters ?? {}, readerConfig: reader.ReaderConfig ?? {}, resource: reader.Resource };
      if (batcher) {
        for (const field of Object.keys(batcher)) {
          if (!['MaxItemsPerBatch', 'MaxItemsPerBatchPath', 'BatchInput'].includes(field)) throw new Error(`Map '${mapName}': the local ItemBatcher does not support ${field}`);
        }
        if (batcher.MaxItemsPerBatchPath !== undefined) parameters['maxItemsPerBatch.$'] = batcher.MaxItemsPerBatchPath;
        else if (batcher.MaxItemsPerBatch !== undefined) parameters.maxItemsPerBatch = batcher.MaxItemsPerBatch;
        parameters.batchInput = batcher.BatchInput ?? {};
      }
      states[readerName] = {
        Type: 'Task',
        Resource: LOCAL_ITEM_READER_RESOURCE,
        Parameters: parameters,
        ResultPath: LOCAL_ITEMS_PATH,
        Next: mapName,
        ...(Array.isArray(state.Catch) && { Catch: structuredClone(state.Catch) }),
      };
      delete state.ItemReader;
      delete state.ItemBatcher;
      state.ItemsPath = LOCAL_ITEMS_PATH;
      redirect(machine, mapName, readerName);
      readerStates.push(readerName);
    }
  }
  return { definition: copy, readerStates };
}

/** Parses one CSV line without quoting (what the manifests hold); quoted fields are refused. */
function csvFields(line: string): string[] {
  if (line.includes('"')) throw new Error('the local ItemReader reads unquoted CSV only');
  return line.split(',');
}

/**
 * Reads an ItemReader's object and cuts it as ItemBatcher would: CSV (header from the first row or
 * given) or JSONL items; chunks of `maxItemsPerBatch` as `{BatchInput, Items}`.
 */
async function readItems(objects: LocalObjectReader, input: unknown): Promise<JsonValue> {
  if (!isRecord(input) || !isRecord(input.reader) || !isRecord(input.readerConfig)) throw new Error('local item reader: malformed parameters');
  const { Bucket, Key } = input.reader;
  if (typeof Bucket !== 'string' || typeof Key !== 'string') throw new Error('local item reader: Bucket and Key must be strings');
  if (input.resource !== undefined && !String(input.resource).endsWith(':states:::s3:getObject')) throw new Error(`local item reader: only s3:getObject, not ${String(input.resource)}`);
  const config = input.readerConfig;
  const items: JsonValue[] = [];
  let headers: string[] | undefined = config.CSVHeaderLocation === 'GIVEN' && Array.isArray(config.CSVHeaders) ? config.CSVHeaders.map(String) : undefined;
  for await (const lines of objects.readLines(Bucket, Key)) {
    for (const line of lines) {
      if (line === '') continue;
      if (config.InputType === 'JSONL') {
        items.push(JSON.parse(line) as JsonValue);
      } else if (config.InputType === 'CSV') {
        const fields = csvFields(line);
        if (headers === undefined) {
          headers = fields;
          continue;
        }
        items.push(Object.fromEntries(headers.map((h, i) => [h, fields[i] ?? ''])) as JsonValue);
      } else {
        throw new Error(`local item reader: InputType ${String(config.InputType)} is not supported`);
      }
    }
  }
  if (input.maxItemsPerBatch === undefined) return items as JsonValue;
  const size = Number(input.maxItemsPerBatch);
  if (!(Number.isInteger(size) && size >= 1)) throw new Error(`local item batcher: MaxItemsPerBatch must be a positive integer, got ${String(input.maxItemsPerBatch)}`);
  const chunks: JsonValue[] = [];
  for (let i = 0; i < items.length; i += size) chunks.push({ BatchInput: (input.batchInput ?? {}) as JsonValue, Items: items.slice(i, i + size) } as JsonValue);
  return chunks as JsonValue;
}

/**
 * Runs the batch ASL locally; one instance per host, many concurrent executions.
 *
 * Execution names are remembered as Step Functions remembers them: a running execution's name for as
 * long as it runs, an ended one's for a retention period (90 days by default) and, locally, for at
 * most the latest {@link DEFAULT_MAX_ENDED_EXECUTIONS} ended executions, so a long-running host does
 * not keep every name it ever started. A forgotten name can be started again.
 */
export class LocalStateMachine {
  private readonly machine: StateMachine;
  private readonly taskHandlers: TaskHandlers;
  private readonly executions = new Map<string, { input: string; execution: LocalExecution; abort: () => void }>();
  /** The ended executions' names, oldest-ended first, with when each ended (epoch ms): a remembered name not here is running. */
  private readonly endedAt = new Map<string, number>();
  private readonly retentionMs: number;
  private readonly maxEnded: number;
  private readonly now: () => number;

  /**
   * @throws Error if a Task of the definition calls a function that is not one of the three ARNs,
   *   or if the definition is not valid ASL.
   */
  constructor(asl: BatchAsl, handlers: BatchHandlers, options: LocalStateMachineOptions = {}) {
    const scale = options.retryIntervalScale ?? 1;
    if (!(Number.isFinite(scale) && scale >= 0)) throw new RangeError(`retryIntervalScale must be a finite number ≥ 0, got ${scale}`);
    this.retentionMs = options.retentionMs ?? DEFAULT_EXECUTION_RETENTION_MS;
    this.maxEnded = options.maxEndedExecutions ?? DEFAULT_MAX_ENDED_EXECUTIONS;
    if (!(this.retentionMs >= 0)) throw new RangeError(`retentionMs must be ≥ 0, got ${this.retentionMs}`);
    if (!(Number.isInteger(this.maxEnded) && this.maxEnded >= 0)) throw new RangeError(`maxEndedExecutions must be an integer ≥ 0, got ${this.maxEnded}`);
    this.now = options.now ?? Date.now;
    const roleByArn = new Map<string, Role>(Object.entries(asl.functionArns).map(([role, arn]) => [arn, role as Role]));

    const local = withLocalItemReaders(asl.definition);
    this.taskHandlers = {};
    for (const readerState of local.readerStates) {
      const objects = options.objects;
      if (!objects) throw new Error(`the definition reads items from S3 (state '${readerState}'): pass options.objects`);
      this.taskHandlers[readerState] = (input) => readItems(objects, input);
    }
    for (const [stateName, state] of walkStates(asl.definition)) {
      if (state.Type !== 'Task') continue;
      const resource = String(state.Resource);
      const viaInvoke = LAMBDA_INVOKE.test(resource);
      const arn = viaInvoke ? (isRecord(state.Parameters) ? state.Parameters.FunctionName : undefined) : resource;
      const role = typeof arn === 'string' ? roleByArn.get(arn) : undefined;
      if (role === undefined) throw new Error(`Task state '${stateName}' calls ${String(arn)}, which is none of the batch functions`);
      const fn = handlers[role];
      this.taskHandlers[stateName] = viaInvoke
        ? async (input) => {
            // lambda:invoke hands over {FunctionName, Payload} and expects the invoke response back.
            const payload = isRecord(input) ? input.Payload : undefined;
            try {
              return { StatusCode: 200, Payload: overTheWire(await fn(overTheWire(payload))) };
            } catch (e) {
              throw toTaskError(e);
            }
          }
        : async (input) => {
            try {
              return overTheWire(await fn(overTheWire(input)));
            } catch (e) {
              throw toTaskError(e);
            }
          };
    }

    const definition = local.definition as StateMachineDefinition;
    if (scale === 1) {
      this.machine = new StateMachine(definition);
    } else {
      // Validate what runs; run the copy whose only further difference is retry timing.
      new StateMachine(definition);
      this.machine = new StateMachine(scaleRetries(definition, scale) as StateMachineDefinition, { validationOptions: { noValidate: true } });
    }
  }

  /**
   * Starts an execution named `name`. Starting a name again with the same input returns the
   * execution already started (Step Functions' idempotent StartExecution); with another input it
   * throws {@link ExecutionAlreadyExistsError}. Names are remembered while the execution runs and,
   * after it ended, within the retention bound (see the class).
   */
  start(name: string, input: object): LocalExecution {
    this.forgetExpired();
    const inputText = JSON.stringify(input);
    const existing = this.executions.get(name);
    if (existing) {
      if (existing.input !== inputText) throw new ExecutionAlreadyExistsError(name);
      return existing.execution;
    }
    // The interpreter's abort settles the run but lets a Map keep starting its iterations; as
    // Step Functions schedules nothing after StopExecution, each task of a stopped run refuses.
    let stopped = false;
    const gated: TaskHandlers = {};
    for (const [state, handler] of Object.entries(this.taskHandlers)) {
      gated[state] = (taskInput) => {
        if (stopped) return Promise.reject(Object.assign(new Error(`execution '${name}' was stopped`), { name: 'States.Aborted' }));
        return handler(taskInput);
      };
    }
    const run = this.machine.run(overTheWire(input), {
      overrides: { taskResourceLocalHandlers: gated },
      context: { Execution: { Name: name } },
    });
    // The interpreter queues every event until someone reads them; nobody else does, so drain them.
    let startDate = Date.now();
    void (async () => {
      for await (const event of run.eventLogs) {
        // the start time is kept; the rest is reported through `done`
        if (event.type === 'ExecutionStarted') startDate = event.timestamp;
      }
    })();
    const done = run.result.then(
      (output): LocalExecutionOutcome => ({ status: 'SUCCEEDED', output }),
      (e: unknown): LocalExecutionOutcome => {
        if (e instanceof ExecutionAbortedError) return { status: 'ABORTED' };
        // ExecutionError wraps the state's error in `cause`; its name/message are Error/Cause.
        const inner = e instanceof Error && e.cause instanceof Error ? e.cause : e;
        return { status: 'FAILED', error: { Error: inner instanceof Error ? inner.name : 'States.Runtime', Cause: inner instanceof Error ? inner.message : String(inner) } };
      },
    );
    const execution: LocalExecution = {
      executionName: name,
      done,
      get startDate() {
        return startDate;
      },
    };
    const entry = {
      input: inputText,
      execution,
      abort: () => {
        stopped = true;
        run.abort();
      },
    };
    void done.then(() => {
      this.endedAt.set(name, this.now());
      this.forgetExpired();
    });
    this.executions.set(name, entry);
    return execution;
  }

  /** Forgets the ended executions beyond the retention period or the count bound, oldest-ended first. */
  private forgetExpired(): void {
    const horizon = this.now() - this.retentionMs;
    for (const [name, at] of this.endedAt) {
      if (this.endedAt.size <= this.maxEnded && at >= horizon) break;
      this.endedAt.delete(name);
      this.executions.delete(name);
    }
  }

  /** How many executions are remembered (running, and ended within the retention bound). */
  get size(): number {
    return this.executions.size;
  }

  /**
   * Stops a running execution (Step Functions' StopExecution): no further state starts, tasks
   * already running finish on their own, and `done` settles ABORTED. Stopping one that ended, or
   * a name never started, does nothing.
   */
  stop(name: string): void {
    const entry = this.executions.get(name);
    if (entry && !this.endedAt.has(name)) entry.abort();
  }

  /** The execution started under `name`, if it is still remembered (running, or ended within the bound). */
  get(name: string): LocalExecution | undefined {
    return this.executions.get(name)?.execution;
  }
}
