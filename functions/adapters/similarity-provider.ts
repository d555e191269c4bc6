/**
 * Chooses the similarity provider by configuration: the local lexical one (default, deterministic,
 * no network) or Amazon Bedrock Titan Text Embeddings V2.
 *
 * The Titan provider (and the Bedrock Runtime client under it) is loaded on its first use, so the
 * functions configured for the lexical provider do not pay for evaluating that client at cold start.
 */
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { LexicalSimilarity, type SimilarityProvider } from '../core/similarity.js';
import { TITAN_PROVIDER_NAME } from './bedrock/titan-model.js';

export const SIMILARITY_PROVIDERS = ['lexical', 'bedrock-titan'] as const;
export type SimilarityProviderName = (typeof SIMILARITY_PROVIDERS)[number];

const defaultBedrockClient = async (): Promise<BedrockRuntimeClient> => (await import('./sdk/bedrock-runtime-client.js')).createBedrockRuntimeClient();

/** Titan similarity, constructed on the first comparison. */
class DeferredTitanSimilarity implements SimilarityProvider {
  readonly name = TITAN_PROVIDER_NAME;
  private provider: Promise<SimilarityProvider> | undefined;

  constructor(private readonly client: () => Promise<BedrockRuntimeClient>) {}

  async similarity(a: string, b: string): Promise<number> {
    this.provider ??= (async () => {
      const { TitanEmbeddingSimilarity } = await import('./bedrock/titan-similarity.js');
      return new TitanEmbeddingSimilarity(await this.client());
    })();
    this.provider.catch(() => (this.provider = undefined));
    return (await this.provider).similarity(a, b);
  }
}

export function createSimilarityProvider(name: SimilarityProviderName, bedrock: () => Promise<BedrockRuntimeClient> = defaultBedrockClient): SimilarityProvider {
  return name === 'bedrock-titan' ? new DeferredTitanSimilarity(bedrock) : new LexicalSimilarity();
}
