/**
 * Chooses the similarity provider by configuration: the local lexical one (default, deterministic,
 * no network) or Amazon Bedrock Titan Text Embeddings V2.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { LexicalSimilarity, type SimilarityProvider } from '../core/similarity.js';
import { TitanEmbeddingSimilarity } from './bedrock/titan-similarity.js';

export const SIMILARITY_PROVIDERS = ['lexical', 'bedrock-titan'] as const;
export type SimilarityProviderName = (typeof SIMILARITY_PROVIDERS)[number];

export function createSimilarityProvider(name: SimilarityProviderName, bedrock: () => BedrockRuntimeClient = () => new BedrockRuntimeClient({})): SimilarityProvider {
  return name === 'bedrock-titan' ? new TitanEmbeddingSimilarity(bedrock()) : new LexicalSimilarity();
}
