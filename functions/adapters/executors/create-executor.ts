/**
 * Builds the {@link Executor} for a registered configuration. The AWS clients are created lazily
 * (a replay Lambda that only ever calls http executors never constructs them) and at most once per
 * factory, so a warm Lambda reuses its connections across replays.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { ExecutorConfig, Executor } from '../../core/executor.js';
import { BedrockExecutor } from './bedrock-executor.js';
import { HttpExecutor, type FetchFn } from './http-executor.js';
import { LambdaExecutor } from './lambda-executor.js';
import type { LookupFn } from './network-guard.js';
import { OpenAiExecutor } from './openai-executor.js';

export interface CreateExecutorDeps {
  /** Defaults to the global fetch. */
  fetch?: FetchFn;
  /** Defaults to the system resolver. */
  lookup?: LookupFn;
  /** Allow http/openai executors to call loopback, private and link-local addresses (local host: true; AWS: false). */
  allowPrivateNetworks: boolean;
  /** Largest answer read from an http/openai/lambda executor (default 5 MB). */
  maxResponseBytes?: number;
  /** Makes the Lambda client; called at most once (default: `new LambdaClient({})`). */
  lambdaClient?: () => LambdaClient;
  /** Makes the Bedrock Runtime client; called at most once (default: `new BedrockRuntimeClient({})`). */
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

const defaultLambdaClient = (): LambdaClient => new LambdaClient({});
const defaultBedrockClient = (): BedrockRuntimeClient => new BedrockRuntimeClient({});

/** The executor for `config`. Cheap: nothing is connected or resolved until `execute`. */
export function createExecutor(config: ExecutorConfig, deps: CreateExecutorDeps): Executor {
  const http = {
    allowPrivateNetworks: deps.allowPrivateNetworks,
    ...(deps.fetch !== undefined && { fetch: deps.fetch }),
    ...(deps.lookup !== undefined && { lookup: deps.lookup }),
    ...(deps.maxResponseBytes !== undefined && { maxResponseBytes: deps.maxResponseBytes }),
  };
  switch (config.type) {
    case 'http':
      return new HttpExecutor(config, http);
    case 'openai':
      return new OpenAiExecutor(config, http);
    case 'lambda':
      return new LambdaExecutor(config, {
        client: lazyOnce(deps.lambdaClient ?? defaultLambdaClient),
        ...(deps.maxResponseBytes !== undefined && { maxResponseBytes: deps.maxResponseBytes }),
      });
    case 'bedrock':
      return new BedrockExecutor(config, { client: lazyOnce(deps.bedrockClient ?? defaultBedrockClient) });
  }
}
