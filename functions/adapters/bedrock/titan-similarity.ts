/**
 * Similarity by Amazon Bedrock Titan Text Embeddings V2: one InvokeModel per text (normalised
 * embeddings), cosine of the two, clamped to [0, 1]. Identical texts short-circuit to 1.0 without
 * a call. Errors from Bedrock become {@link TitanSimilarityError} (a SimilarityProviderError) with
 * the SDK error as `cause`.
 */
import { InvokeModelCommand, type BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { SimilarityProviderError, type SimilarityProvider } from '../../core/similarity.js';

import { TITAN_EMBED_V2_MODEL_ID, TITAN_PROVIDER_NAME } from './titan-model.js';

export { TITAN_EMBED_V2_MODEL_ID, TITAN_PROVIDER_NAME };

/** Output sizes Titan Text Embeddings V2 supports. */
export type TitanDimensions = 256 | 512 | 1024;

export interface TitanSimilarityOptions {
  /** Embedding size; the model's default (1024) when omitted. */
  dimensions?: TitanDimensions;
  /** Embeddings kept in memory, by text (a batch replay compares many texts against the same originals). */
  cacheSize?: number;
}

/** Bedrock could not embed a text, or answered something that is not an embedding. */
export class TitanSimilarityError extends SimilarityProviderError {
  constructor(message: string, options?: ErrorOptions & { code?: string }) {
    super(TITAN_PROVIDER_NAME, message, options);
  }
}

interface TitanResponse {
  embedding?: unknown;
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** Cosine of two vectors of equal length (the embeddings are normalised, but do not rely on it). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}

/** {@link SimilarityProvider} backed by Titan Text Embeddings V2 on Amazon Bedrock. */
export class TitanEmbeddingSimilarity implements SimilarityProvider {
  readonly name = TITAN_PROVIDER_NAME;
  private readonly client: BedrockRuntimeClient;
  private readonly dimensions: TitanDimensions | undefined;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, Promise<number[]>>();

  constructor(client: BedrockRuntimeClient, options: TitanSimilarityOptions = {}) {
    this.client = client;
    this.dimensions = options.dimensions;
    this.cacheSize = options.cacheSize ?? 256;
  }

  async similarity(a: string, b: string): Promise<number> {
    if (a === b) return 1;
    // Titan refuses empty input; an empty text shares nothing with a non-empty one.
    if (a.length === 0 || b.length === 0) return 0;
    const [ea, eb] = await Promise.all([this.embed(a), this.embed(b)]);
    if (ea.length !== eb.length) throw new TitanSimilarityError(`embeddings of different lengths (${ea.length} and ${eb.length})`, { code: 'EMBEDDING_MALFORMED' });
    const score = cosine(ea, eb);
    return score < 0 ? 0 : score > 1 ? 1 : score;
  }

  /** The embedding of one text, from the cache or from Bedrock. */
  embed(text: string): Promise<number[]> {
    const hit = this.cache.get(text);
    if (hit) {
      // Refresh its place: the cache evicts the least recently used entry.
      this.cache.delete(text);
      this.cache.set(text, hit);
      return hit;
    }
    const pending = this.invoke(text);
    if (this.cacheSize > 0) {
      this.cache.set(text, pending);
      // A failed call must not stay cached.
      pending.catch(() => {
        if (this.cache.get(text) === pending) this.cache.delete(text);
      });
      if (this.cache.size > this.cacheSize) {
        const oldest = this.cache.keys().next();
        if (!oldest.done) this.cache.delete(oldest.value);
      }
    }
    return pending;
  }

  private async invoke(text: string): Promise<number[]> {
    const body = JSON.stringify({ inputText: text, ...(this.dimensions !== undefined && { dimensions: this.dimensions }), normalize: true });
    let raw: string;
    try {
      const res = await this.client.send(new InvokeModelCommand({ modelId: TITAN_EMBED_V2_MODEL_ID, contentType: 'application/json', accept: 'application/json', body }));
      raw = new TextDecoder().decode(res.body);
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error';
      const message = err instanceof Error ? err.message : String(err);
      throw new TitanSimilarityError(`Titan embedding failed: ${name}: ${message}`, { cause: err, code: `BEDROCK_${name.replace(/Exception$/, '').replace(/[a-z](?=[A-Z])/g, '$&_').toUpperCase()}` });
    }
    let parsed: TitanResponse;
    try {
      parsed = JSON.parse(raw) as TitanResponse;
    } catch (err) {
      throw new TitanSimilarityError('Titan answered with a body that is not JSON', { cause: err, code: 'EMBEDDING_MALFORMED' });
    }
    if (!isNumberArray(parsed.embedding)) throw new TitanSimilarityError('Titan answered without an embedding', { code: 'EMBEDDING_MALFORMED' });
    return parsed.embedding;
  }
}
