/**
 * The Bedrock executor: re-executes a decision as one Converse call. The prompt is the recorded
 * `context.systemPrompt` (else an instruction to answer with the outputs as JSON) and the inputs as
 * JSON; the answer text is read by {@link parseModelText}.
 */
import { ConverseCommand, type BedrockRuntimeClient, type ConverseCommandInput, type InferenceConfiguration } from '@aws-sdk/client-bedrock-runtime';
import {
  ExecutorMalformedResponseError,
  UnsupportedModelError,
  buildModelPrompt,
  executorTimeoutMs,
  parseModelText,
  type BedrockExecutorConfig,
  type ExecutionRequest,
  type ExecutionResult,
  type Executor,
} from '../../core/executor.js';
import { bedrockDescription, bedrockSupportsModel } from './executor-descriptions.js';
import { roundMs } from './http-executor.js';
import { translateAwsError } from './lambda-executor.js';

/** The Converse request for a decision (exported for tests and for documentation). */
export function converseInput(req: ExecutionRequest, modelId: string): ConverseCommandInput {
  const prompt = buildModelPrompt(req);
  const params = req.modelParameters;
  const inferenceConfig: InferenceConfiguration = {
    ...(params?.temperature !== undefined && { temperature: params.temperature }),
    // Converse needs maxTokens >= 1; a recorded 0 means "not set".
    ...(params?.maxTokens !== undefined && params.maxTokens > 0 && { maxTokens: params.maxTokens }),
    ...(params?.topP !== undefined && { topP: params.topP }),
  };
  return {
    modelId,
    system: [{ text: prompt.system }],
    messages: [{ role: 'user', content: [{ text: prompt.user }] }],
    ...(Object.keys(inferenceConfig).length > 0 && { inferenceConfig }),
  };
}

export interface BedrockExecutorOptions {
  /** Called once, on the first execution (the client is created lazily). */
  client: () => BedrockRuntimeClient;
}

/** Re-executes decisions on an Amazon Bedrock model through the Converse API. */
export class BedrockExecutor implements Executor {
  readonly description: string;
  readonly timeoutMs: number;
  private readonly config: BedrockExecutorConfig;
  private readonly client: () => BedrockRuntimeClient;

  constructor(config: BedrockExecutorConfig, options: BedrockExecutorOptions) {
    this.config = config;
    this.client = options.client;
    this.description = bedrockDescription(config);
    this.timeoutMs = executorTimeoutMs(config);
  }

  /** A configured `modelId` serves any decision; otherwise the decision's modelName is the Bedrock model id. */
  supportsModel(modelName: string | undefined): boolean {
    return bedrockSupportsModel(this.config, modelName);
  }

  async execute(req: ExecutionRequest, options: { timeoutMs: number }): Promise<ExecutionResult> {
    const started = performance.now();
    const modelId = this.config.modelId ?? req.modelParameters?.modelName;
    if (modelId === undefined) throw new UnsupportedModelError(req.functionName, undefined, this.description);
    const target = `bedrock converse ${modelId}`;
    const signal = AbortSignal.timeout(options.timeoutMs);
    let out;
    try {
      out = await this.client().send(new ConverseCommand(converseInput(req, modelId)), { abortSignal: signal });
    } catch (err) {
      throw translateAwsError(err, signal, options.timeoutMs, target);
    }
    const text = (out.output?.message?.content ?? [])
      .map((block) => block.text)
      .filter((t): t is string => typeof t === 'string')
      .join('');
    if (text.trim() === '') throw new ExecutorMalformedResponseError(`${target} answered with no text (stopReason ${out.stopReason ?? 'unknown'})`);
    const outputs = parseModelText(text, req.expectedOutputs, out.stopReason === 'max_tokens' ? `${target} (answer cut off at maxTokens)` : target);
    const latency = out.metrics?.latencyMs;
    return {
      outputs,
      executionTimeMs: roundMs(performance.now() - started),
      ...(typeof latency === 'number' && { reportedExecutionTimeMs: latency }),
    };
  }
}
