/**
 * The executor ports: what the replay engine asks an executor to do, and where the registered
 * configurations live. The adapters that do the I/O live in `functions/adapters/executors/`.
 */
import type { ExecutorConfig, StoredExecutorConfig } from './executor-config.js';
import { UnsupportedModelError } from './executor-errors.js';
import type { Dependency, DependencyMode, ReportedDependency } from './dependencies.js';
import type { JsonObject } from './json.js';
import type { ModelParameters, NamedValue } from './snapshot.js';

/** What an executor is asked to decide. */
export interface ExecutionRequest {
  functionName: string;
  inputs: readonly NamedValue[];
  modelParameters?: ModelParameters | undefined;
  context?: JsonObject | undefined;
  /**
   * The names of the outputs the original decision had. Model executors (bedrock, openai) use
   * them to tell the model what to answer; http and lambda executors ignore them.
   */
  expectedOutputs?: readonly string[] | undefined;
  /**
   * How the decision's dependencies are served: `recorded` (the executor request carries
   * `recordedDependencies`, to be answered from the recording) or `live`. Absent when the decision
   * recorded none and none was asked for.
   */
  dependencyMode?: DependencyMode | undefined;
  /** The calls the original decision made, in recorded mode. */
  recordedDependencies?: readonly Dependency[] | undefined;
}

/**
 * The JSON body the http and lambda executors send: `{functionName, inputs, modelParameters,
 * context}`, plus `dependencyMode` and (in recorded mode) `recordedDependencies` when the replay has
 * a dependency mode.
 */
export function executorRequestBody(req: ExecutionRequest): Record<string, unknown> {
  return {
    functionName: req.functionName,
    inputs: req.inputs,
    modelParameters: req.modelParameters,
    context: req.context,
    ...(req.dependencyMode !== undefined && { dependencyMode: req.dependencyMode }),
    ...(req.recordedDependencies !== undefined && { recordedDependencies: req.recordedDependencies }),
  };
}

/** What an executor decided. */
export interface ExecutionResult {
  outputs: NamedValue[];
  /** Wall time of the call, measured by the adapter (includes network, retries and parsing). */
  executionTimeMs: number;
  /** The execution time the executor itself reported (`executionTimeMs` in its answer, a model's latency), if any. */
  reportedExecutionTimeMs?: number;
  /** The dependency calls the candidate reported making (`dependencies` in its answer), if it reported any. */
  dependencies?: ReportedDependency[];
}

/** The port: something that re-executes one decision. */
export interface Executor {
  /** Human-readable target, recorded on each replay result, e.g. `http POST http://127.0.0.1:3000/demo/credit/v2`. Never holds secrets. */
  readonly description: string;
  /** The configured timeout (`timeoutMs`, default 30 s): what the replay engine passes to {@link Executor.execute}. */
  readonly timeoutMs: number;
  /**
   * Whether this executor can re-execute a decision made by `modelName` (the snapshot's
   * `modelParameters.modelName` after overrides). False means: 422, nothing run.
   */
  supportsModel(modelName: string | undefined): boolean;
  /**
   * Re-executes the decision. Rejects with an {@link ExecutorError} when there is no usable answer
   * (timeout, unreachable, non-2xx, malformed, too large, function error); `timeoutMs` bounds the
   * whole call, retries included.
   */
  execute(req: ExecutionRequest, options: { timeoutMs: number }): Promise<ExecutionResult>;
}

/**
 * Where secret header values come from (`secretHeaders`): Secrets Manager on AWS, the host's
 * environment locally. `refuses` is asked at registration, `read` at call time.
 */
export interface SecretHeaderSource {
  /**
   * Why this deployment cannot read `ref` (wrong kind, outside the allowed secrets) or will not send
   * its value to `target` (e.g. over plain http), or undefined when it can.
   */
  refuses(ref: string, target: URL): string | undefined;
  /** The current value; rejects with an error whose message names `ref` and never a value. */
  read(ref: string): Promise<string>;
}

/**
 * Which executor URLs this deployment will never call, as far as the URL alone tells (the network
 * guard's rules for a host that is a literal address; a host name is resolved only when called).
 */
export interface ExecutorAddressPolicy {
  /** Why calls to `target` would be refused whatever happens, or undefined. */
  refuses(target: URL): string | undefined;
}

/** The port for the registered configurations (`PUT`/`GET /functions/{functionName}/executor`). */
export interface ExecutorConfigStore {
  /** Stores (replaces) the function's configuration and returns it as stored. */
  put(functionName: string, config: ExecutorConfig): Promise<StoredExecutorConfig>;
  get(functionName: string): Promise<StoredExecutorConfig | undefined>;
}

/** `models` semantics shared by every executor: absent accepts any model; a list needs a named model on it. */
export function modelListAllows(models: readonly string[] | undefined, modelName: string | undefined): boolean {
  if (models === undefined) return true;
  return modelName !== undefined && models.includes(modelName);
}

/** Throws {@link UnsupportedModelError} unless `executor` serves `modelName`. */
export function assertSupportsModel(executor: Executor, functionName: string, modelName: string | undefined): void {
  if (!executor.supportsModel(modelName)) throw new UnsupportedModelError(functionName, modelName, executor.description);
}
