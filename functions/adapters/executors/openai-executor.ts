/**
 * The OpenAI-compatible executor: re-executes a decision as one chat completion against
 * `POST {baseUrl}/chat/completions` (OpenAI, vLLM, Ollama, LM Studio, llama.cpp server, …), through
 * the same plumbing as the http executor (network guard, one timeout across retries, size limit).
 */
import * as z from 'zod/mini';
import {
  ExecutorMalformedResponseError,
  UnsupportedModelError,
  buildModelPrompt,
  executorTimeoutMs,
  modelListAllows,
  parseModelText,
  type ExecutionRequest,
  type ExecutionResult,
  type Executor,
  type OpenAiExecutorConfig,
  urlWithoutQuery,
} from '../../core/executor.js';
import { issueLine, toFieldIssues } from '../../core/schema-util.js';
import { postJson, resolvePlumbing, roundMs, type HttpPlumbing, type HttpPlumbingOptions } from './http-executor.js';

/** The part of a chat completion the executor reads. */
const ChatCompletionSchema = z.object({
  choices: z.array(
    z.object({
      message: z.object({ content: z.nullable(z.optional(z.string())), refusal: z.nullable(z.optional(z.string())) }),
      finish_reason: z.nullable(z.optional(z.string())),
    }),
  ).check(z.minLength(1, 'a completion needs at least one choice')),
});

/** The chat completion request body for a decision (exported for tests and for documentation). */
export function chatCompletionBody(req: ExecutionRequest, model: string): Record<string, unknown> {
  const prompt = buildModelPrompt(req);
  const params = req.modelParameters;
  return {
    model,
    messages: [
      { role: 'system', content: prompt.system },
      { role: 'user', content: prompt.user },
    ],
    ...(params?.temperature !== undefined && { temperature: params.temperature }),
    // 0 would ask for an empty answer: treat it as "not set".
    ...(params?.maxTokens !== undefined && params.maxTokens > 0 && { max_tokens: params.maxTokens }),
    ...(params?.topP !== undefined && { top_p: params.topP }),
    ...(params?.seed !== undefined && { seed: params.seed }),
  };
}

/** Re-executes decisions as chat completions on an OpenAI-compatible server. */
export class OpenAiExecutor implements Executor {
  readonly description: string;
  readonly timeoutMs: number;
  private readonly config: OpenAiExecutorConfig;
  private readonly plumbing: HttpPlumbing;
  /** `{baseUrl}/chat/completions`, parsed once for every call. */
  private readonly url: URL;

  constructor(config: OpenAiExecutorConfig, options: HttpPlumbingOptions) {
    this.config = config;
    this.plumbing = resolvePlumbing(options);
    // {baseUrl}/chat/completions, keeping a query the base URL may have (e.g. `?api-version=…`).
    const url = new URL(config.baseUrl);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/chat/completions`;
    this.url = url;
    this.description = `openai POST ${urlWithoutQuery(url.href)} (model ${config.model ?? 'from modelParameters.modelName'})`;
    this.timeoutMs = executorTimeoutMs(config);
  }

  /** A configured `model` serves any decision; otherwise the decision must name its model. */
  supportsModel(modelName: string | undefined): boolean {
    if (this.config.model === undefined && modelName === undefined) return false;
    return modelListAllows(this.config.models, modelName);
  }

  async execute(req: ExecutionRequest, options: { timeoutMs: number }): Promise<ExecutionResult> {
    const started = performance.now();
    const model = this.config.model ?? req.modelParameters?.modelName;
    if (model === undefined) throw new UnsupportedModelError(req.functionName, undefined, this.description);
    const json = await postJson(this.url, chatCompletionBody(req, model), this.config, options.timeoutMs, this.plumbing, this.description);
    const parsed = ChatCompletionSchema.safeParse(json);
    if (!parsed.success) {
      const summary = toFieldIssues(parsed.error).slice(0, 5).map(issueLine).join('; ');
      throw new ExecutorMalformedResponseError(`${this.description} answered with something that is not a chat completion: ${summary}`);
    }
    const [choice] = parsed.data.choices;
    const text = choice?.message.content;
    if (typeof text !== 'string' || text.trim() === '') {
      const why = choice?.message.refusal ? `the model refused: ${choice.message.refusal}` : `finish_reason ${choice?.finish_reason ?? 'unknown'}`;
      throw new ExecutorMalformedResponseError(`${this.description} answered with no text (${why})`);
    }
    const outputs = parseModelText(text, req.expectedOutputs, `${this.description} (model ${model})`);
    return { outputs, executionTimeMs: roundMs(performance.now() - started) };
  }
}
