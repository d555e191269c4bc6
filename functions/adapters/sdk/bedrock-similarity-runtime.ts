/**
 * Titan similarity and the Bedrock Runtime client, as one module, loaded with the first text
 * comparison of a function configured for `bedrock-titan` (see ./lambda-runtime.ts for why one
 * target, and ./bedrock-runtime.ts for the executor's).
 */
export { createBedrockRuntimeClient } from './bedrock-runtime-client.js';
export { TitanEmbeddingSimilarity } from '../bedrock/titan-similarity.js';
