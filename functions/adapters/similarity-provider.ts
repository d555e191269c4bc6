/**
 * Chooses the similarity provider by configuration: the local lexical one (default, deterministic,
 * no network) or Amazon Bedrock Titan Text Embeddings V2.
 *
 * The Titan provider (and the Bedrock Runtime client under it) is loaded on its first use, so the
 * functions configured for the lexical provider do not pay for evaluating that client at cold start;
 * a deployment configured for the lexical provider does not even bundle it (./optional-clients.ts).
 */
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { LexicalSimilarity, type SimilarityProvider } from '../core/similarity.js';
import { TITAN_PROVIDER_NAME } from './bedrock/titan-model.js';
import { OPTIONAL_CLIENT_CONTEXT_KEY } from './optional-clients.js';

export const SIMILARITY_PROVIDERS = ['lexical', 'bedrock-titan'] as const;
export type SimilarityProviderName = (typeof SIMILARITY_PROVIDERS)[number];

/** Titan similarity over `client`; the switch is tested around the imports so esbuild can drop them. */
async function loadTitan(client: () => Promise<BedrockRuntimeClient> | undefined): Promise<SimilarityProvider> {
  if (process.env.DECISION_REPLAY_BEDROCK_SIMILARITY !== 'off') {
    const { TitanEmbeddingSimilarity, createBedrockRuntimeClient } = await import('./sdk/bedrock-similarity-runtime.js');
    return new TitanEmbeddingSimilarity(await (client() ?? createBedrockRuntimeClient()));
  }
  throw new BedrockSimilarityNotBundledError();
}

/**
 * SIMILARITY_PROVIDER is bedrock-titan in a function bundled without the Bedrock Runtime client:
 * its environment was changed after deployment. Thrown at init, so the function fails to start.
 */
export class BedrockSimilarityNotBundledError extends Error {
  constructor() {
    super(`SIMILARITY_PROVIDER is bedrock-titan, but this function was bundled without the Bedrock Runtime client: set cdk.json ${OPTIONAL_CLIENT_CONTEXT_KEY.bedrockSimilarity} and deploy again`);
    this.name = 'BedrockSimilarityNotBundledError';
  }
}

/** Titan similarity, constructed on the first comparison. */
class DeferredTitanSimilarity implements SimilarityProvider {
  readonly name = TITAN_PROVIDER_NAME;
  private provider: Promise<SimilarityProvider> | undefined;

  constructor(private readonly client: () => Promise<BedrockRuntimeClient> | undefined) {}

  async similarity(a: string, b: string): Promise<number> {
    this.provider ??= loadTitan(this.client);
    this.provider.catch(() => (this.provider = undefined));
    return (await this.provider).similarity(a, b);
  }
}

export function createSimilarityProvider(name: SimilarityProviderName, bedrock: () => Promise<BedrockRuntimeClient> | undefined = () => undefined): SimilarityProvider {
  if (name !== 'bedrock-titan') return new LexicalSimilarity();
  if (process.env.DECISION_REPLAY_BEDROCK_SIMILARITY === 'off') throw new BedrockSimilarityNotBundledError();
  return new DeferredTitanSimilarity(bedrock);
}
