/**
 * Optional AWS clients (functions/adapters/optional-clients.ts): which switches the stack turns off
 * for a configuration, what a function bundled without a client answers when asked to use it, and
 * that esbuild really leaves the client out of the bundle.
 */
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor } from '../../functions/adapters/executors/create-executor.js';
import { OPTIONAL_CLIENT_SWITCHES } from '../../functions/adapters/optional-clients.js';
import { BedrockSimilarityNotBundledError, createSimilarityProvider } from '../../functions/adapters/similarity-provider.js';
import { lambdaSpec } from '../../functions/api/manifest.js';
import { ExecutorNotDeployedError, type ExecutionRequest } from '../../functions/core/executor.js';
import { optionalClientDefines, stackEsbuildOptions } from '../../lib/function-defaults.js';
import { expectCode, failure } from '../support/executor-assertions.js';

const NOTHING = { executorFunctionArns: [], bedrockModelIds: [], similarityProvider: 'lexical' };
const EVERYTHING = { executorFunctionArns: ['arn:aws:lambda:us-east-1:123456789012:function:scorer'], bedrockModelIds: ['amazon.nova-lite-v1:0'], similarityProvider: 'bedrock-titan' };
const OFF = '"off"';

const request: ExecutionRequest = { functionName: 'approve_loan', inputs: [], modelParameters: { modelName: 'm' }, context: {}, expectedOutputs: ['decision'] };

const saved = Object.fromEntries(Object.values(OPTIONAL_CLIENT_SWITCHES).map((name) => [name, process.env[name]]));
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('optionalClientDefines', () => {
  it('turns every client off for a function that runs no executor and compares no text', () => {
    expect(optionalClientDefines(lambdaSpec('snapshots'), EVERYTHING)).toEqual({
      'process.env.DECISION_REPLAY_LAMBDA_EXECUTORS': OFF,
      'process.env.DECISION_REPLAY_BEDROCK_EXECUTORS': OFF,
      'process.env.DECISION_REPLAY_BEDROCK_SIMILARITY': OFF,
    });
  });

  it('keeps each client of an executor function exactly when the configuration lets it call something with it', () => {
    expect(optionalClientDefines(lambdaSpec('replay'), NOTHING)).toEqual({
      'process.env.DECISION_REPLAY_LAMBDA_EXECUTORS': OFF,
      'process.env.DECISION_REPLAY_BEDROCK_EXECUTORS': OFF,
      'process.env.DECISION_REPLAY_BEDROCK_SIMILARITY': OFF,
    });
    expect(optionalClientDefines(lambdaSpec('replay'), { ...NOTHING, executorFunctionArns: EVERYTHING.executorFunctionArns })).toEqual({
      'process.env.DECISION_REPLAY_BEDROCK_EXECUTORS': OFF,
      'process.env.DECISION_REPLAY_BEDROCK_SIMILARITY': OFF,
    });
    expect(optionalClientDefines(lambdaSpec('replay'), EVERYTHING)).toEqual({});
    // on-write compares text but runs no executor.
    expect(optionalClientDefines(lambdaSpec('on-write'), EVERYTHING)).toEqual({
      'process.env.DECISION_REPLAY_LAMBDA_EXECUTORS': OFF,
      'process.env.DECISION_REPLAY_BEDROCK_EXECUTORS': OFF,
    });
  });
});

describe('a function bundled without a client', () => {
  it('ends a lambda executor replay in EXECUTOR_NOT_DEPLOYED naming the cdk.json key, without making a client', async () => {
    process.env.DECISION_REPLAY_LAMBDA_EXECUTORS = 'off';
    let made = 0;
    const executor = createExecutor({ type: 'lambda', functionArn: 'scorer' }, { allowPrivateNetworks: false, lambdaClient: () => (made++, {} as never) });

    const err = await failure(executor.execute(request, { timeoutMs: 1000 }));

    expect(err).toBeInstanceOf(ExecutorNotDeployedError);
    expectCode(err, 'EXECUTOR_NOT_DEPLOYED');
    expect(err.message).toContain('executorFunctionArns');
    expect(made).toBe(0);
  });

  it('ends a bedrock executor replay in EXECUTOR_NOT_DEPLOYED naming bedrockModelIds', async () => {
    process.env.DECISION_REPLAY_BEDROCK_EXECUTORS = 'off';
    const executor = createExecutor({ type: 'bedrock', modelId: 'amazon.nova-lite-v1:0' }, { allowPrivateNetworks: false, bedrockClient: () => ({}) as never });

    const err = await failure(executor.execute(request, { timeoutMs: 1000 }));

    expectCode(err, 'EXECUTOR_NOT_DEPLOYED');
    expect(err.message).toContain('bedrockModelIds');
  });

  it('refuses to start with SIMILARITY_PROVIDER bedrock-titan, and still starts with the lexical provider', () => {
    process.env.DECISION_REPLAY_BEDROCK_SIMILARITY = 'off';
    expect(() => createSimilarityProvider('bedrock-titan')).toThrow(BedrockSimilarityNotBundledError);
    expect(createSimilarityProvider('lexical').name).toBe('lexical');
  });
});

describe('the bundles', () => {
  async function packagesOf(name: string, define: Record<string, string>): Promise<string[]> {
    const result = await build({ ...stackEsbuildOptions(define), entryPoints: [`functions/handlers/${name}.handler.ts`], target: 'node20', write: false, metafile: true, outfile: 'out.mjs', logLevel: 'error' });
    return Object.keys(result.metafile?.inputs ?? {});
  }
  const has = (inputs: string[], pkg: string) => inputs.some((p) => p.includes(`node_modules/${pkg}/`));

  it('leave the Lambda and Bedrock Runtime clients out of replay when nothing is configured, and carry both when everything is', async () => {
    const lean = await packagesOf('replay', optionalClientDefines(lambdaSpec('replay'), NOTHING));
    const full = await packagesOf('replay', optionalClientDefines(lambdaSpec('replay'), EVERYTHING));

    expect(has(lean, '@aws-sdk/client-lambda')).toBe(false);
    expect(has(lean, '@aws-sdk/client-bedrock-runtime')).toBe(false);
    expect(has(full, '@aws-sdk/client-lambda')).toBe(true);
    expect(has(full, '@aws-sdk/client-bedrock-runtime')).toBe(true);
  });

  it('leave the Bedrock Runtime client out of on-write with the lexical provider', async () => {
    expect(has(await packagesOf('on-write', optionalClientDefines(lambdaSpec('on-write'), NOTHING)), '@aws-sdk/client-bedrock-runtime')).toBe(false);
    expect(has(await packagesOf('on-write', optionalClientDefines(lambdaSpec('on-write'), EVERYTHING)), '@aws-sdk/client-bedrock-runtime')).toBe(true);
  });

  it('never carry Powertools Tracer or the X-Ray SDK (tracing is functions/adapters/aws/tracer.ts)', async () => {
    const inputs = await packagesOf('replay', {});
    expect(has(inputs, 'aws-xray-sdk-core')).toBe(false);
    expect(has(inputs, '@aws-lambda-powertools/tracer')).toBe(false);
  });
});
