/**
 * Builds the {@link Executor} for a registered configuration. The AWS clients are created lazily
 * (a replay Lambda that only ever calls http executors never constructs them) and at most once per
 * factory, so a warm Lambda reuses its connections across replays.
 */
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { ExecutorNotDeployedError, executorTimeoutMs, type ExecutionRequest, type ExecutionResult, type Executor, type ExecutorConfig, type SecretHeaderSource } from '../../core/executor.js';
import { bedrockDescription, bedrockSupportsModel, lambdaDescription, lambdaSupportsModel } from './executor-descriptions.js';
import { HttpExecutor, type Transport } from './http-executor.js';
import type { LookupFn } from './network-guard.js';
import { OpenAiExecutor } from './openai-executor.js';
import { OPTIONAL_CLIENT_CONTEXT_KEY } from '../optional-clients.js';

export interface CreateExecutorDeps {
  /** Defaults to the pinned node:http(s) transport. */
  transport?: Transport;
  /** Defaults to the system resolver. */
  lookup?: LookupFn;
  /** Allow http/openai executors to call loopback, private and link-local addresses (local host: true; AWS: false). */
  allowPrivateNetworks: boolean;
  /** Where `secretHeaders` values are read (Secrets Manager on AWS, the environment locally). */
  secrets?: SecretHeaderSource;
  /** Largest answer read from an http/openai/lambda executor (default 5 MB). */
  maxResponseBytes?: number;
  /** Makes the Lambda client; called at most once (default: `new LambdaClient({})`, loaded on first use). */
  lambdaClient?: () => LambdaClient;
  /** Makes the Bedrock Runtime client; called at most once (default: `new BedrockRuntimeClient({})`, loaded on first use). */
  bedrockClient?: () => BedrockRuntimeClient;
}

const memo = new WeakMap<() => unknown, unknown>();

/** The factory's value, created on first use and then shared by every executor given the same factory. */
function lazyOnce<T>(factory: () => T): () => T {
  return () => {
    if (memo.has(factory)) return memo.get(factory) as T;
    const value = factory();
    memo.set(factory, value);
    return value;
  };
}

/**
 * An SDK-backed executor (Lambda, Bedrock) whose module — and SDK client — is loaded on its first
 * execution. Its description, timeout and model support come from the configuration alone, so a
 * function that only calls http executors never evaluates those clients at cold start.
 */
class DeferredExecutor implements Executor {
  private instance: Promise<Executor> | undefined;

  constructor(
    readonly description: string,
    readonly timeoutMs: number,
    private readonly supports: (modelName: string | undefined) => boolean,
    private readonly load: () => Promise<Executor>,
  ) {}

  supportsModel(modelName: string | undefined): boolean {
    return this.supports(modelName);
  }

  async execute(req: ExecutionRequest, options: { timeoutMs: number }): Promise<ExecutionResult> {
    this.instance ??= this.load();
    this.instance.catch(() => (this.instance = undefined));
    return (await this.instance).execute(req, options);
  }
}

let defaultLambda: Promise<LambdaClient> | undefined;
let defaultBedrock: Promise<BedrockRuntimeClient> | undefined;

/**
 * The Lambda executor, or the refusal of a deployment bundled without the Lambda client. The
 * switch is tested here, around the imports, so that esbuild drops them when it is "off".
 */
async function loadLambdaExecutor(config: Extract<ExecutorConfig, { type: 'lambda' }>, deps: CreateExecutorDeps): Promise<Executor> {
  if (process.env.DECISION_REPLAY_LAMBDA_EXECUTORS !== 'off') {
    const runtime = import('../sdk/lambda-runtime.js');
    const client = deps.lambdaClient ? lazyOnce(deps.lambdaClient)() : (defaultLambda ??= runtime.then((m) => m.createLambdaClient()));
    const [{ LambdaExecutor }, resolved] = await Promise.all([runtime, client]);
    return new LambdaExecutor(config, { client: () => resolved, ...(deps.maxResponseBytes !== undefined && { maxResponseBytes: deps.maxResponseBytes }) });
  }
  throw new ExecutorNotDeployedError('lambda', OPTIONAL_CLIENT_CONTEXT_KEY.lambdaExecutors);
}

/** The Bedrock executor, or the refusal of a deployment bundled without the Bedrock Runtime client. */
async function loadBedrockExecutor(config: Extract<ExecutorConfig, { type: 'bedrock' }>, deps: CreateExecutorDeps): Promise<Executor> {
  if (process.env.DECISION_REPLAY_BEDROCK_EXECUTORS !== 'off') {
    const runtime = import('../sdk/bedrock-runtime.js');
    const client = deps.bedrockClient ? lazyOnce(deps.bedrockClient)() : (defaultBedrock ??= runtime.then((m) => m.createBedrockRuntimeClient()));
    const [{ BedrockExecutor }, resolved] = await Promise.all([runtime, client]);
    return new BedrockExecutor(config, { client: () => resolved });
  }
  throw new ExecutorNotDeployedError('bedrock', OPTIONAL_CLIENT_CONTEXT_KEY.bedrockExecutors);
}

/** The executor for `config`. Cheap: nothing is connected or resolved until `execute`. */
export function createExecutor(config: ExecutorConfig, deps: CreateExecutorDeps): Executor {
  const http = {
    allowPrivateNetworks: deps.allowPrivateNetworks,
    ...(deps.transport !== undefined && { transport: deps.transport }),
    ...(deps.lookup !== undefined && { lookup: deps.lookup }),
    ...(deps.secrets !== undefined && { secrets: deps.secrets }),
    ...(deps.maxResponseBytes !== undefined && { maxResponseBytes: deps.maxResponseBytes }),
  };
  switch (config.type) {
    case 'http':
      return new HttpExecutor(config, http);
    case 'openai':
      return new OpenAiExecutor(config, http);
    case 'lambda':
      return new DeferredExecutor(lambdaDescription(config), executorTimeoutMs(config), (m) => lambdaSupportsModel(config, m), () => loadLambdaExecutor(config, deps));
    case 'bedrock':
      return new DeferredExecutor(bedrockDescription(config), executorTimeoutMs(config), (m) => bedrockSupportsModel(config, m), () => loadBedrockExecutor(config, deps));
  }
}
