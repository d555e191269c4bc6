/**
 * The Bedrock executor and the Bedrock Runtime client, as one module, loaded with the first replay
 * that runs a `bedrock` executor (see ./lambda-runtime.ts for why one target). Titan similarity has
 * its own (./bedrock-similarity-runtime.ts): the functions that compare text without running
 * executors must not ship the executor.
 */
export { createBedrockRuntimeClient } from './bedrock-runtime-client.js';
export { BedrockExecutor } from '../executors/bedrock-executor.js';
