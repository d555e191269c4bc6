/**
 * What the Lambda and Bedrock executors say about themselves, from their configuration alone, so
 * create-executor can answer before it loads their SDK clients.
 */
import { modelListAllows, type BedrockExecutorConfig, type LambdaExecutorConfig } from '../../core/executor.js';

export const lambdaDescription = (config: LambdaExecutorConfig): string => `lambda invoke ${config.functionArn}`;

export const bedrockDescription = (config: BedrockExecutorConfig): string => `bedrock converse ${config.modelId ?? '(model from modelParameters.modelName)'}`;

export function lambdaSupportsModel(config: LambdaExecutorConfig, modelName: string | undefined): boolean {
  return modelListAllows(config.models, modelName);
}

/** A configured `modelId` serves any decision; otherwise the decision's modelName is the Bedrock model id. */
export function bedrockSupportsModel(config: BedrockExecutorConfig, modelName: string | undefined): boolean {
  if (config.modelId === undefined && modelName === undefined) return false;
  return modelListAllows(config.models, modelName);
}
