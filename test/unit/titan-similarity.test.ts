import { BedrockRuntimeClient, InvokeModelCommand, ThrottlingException, type InvokeModelCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { TITAN_EMBED_V2_MODEL_ID, TitanEmbeddingSimilarity, TitanSimilarityError } from '../../functions/adapters/bedrock/titan-similarity.js';
import { SimilarityProviderError } from '../../functions/core/similarity.js';

const bedrockMock = mockClient(BedrockRuntimeClient);
const client = new BedrockRuntimeClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

function reply(body: unknown): InvokeModelCommandOutput {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { body: new TextEncoder().encode(text) as InvokeModelCommandOutput['body'], contentType: 'application/json', $metadata: {} };
}

/** Answers each InvokeModel with the embedding registered for its inputText. */
function embeddings(table: Record<string, number[]>): void {
  bedrockMock.on(InvokeModelCommand).callsFake((input: { body: string }) => {
    const { inputText } = JSON.parse(input.body) as { inputText: string };
    const embedding = table[inputText];
    if (!embedding) throw new Error(`no embedding for ${inputText}`);
    return reply({ embedding, inputTextTokenCount: 3 });
  });
}

function sentTexts(): string[] {
  return bedrockMock.commandCalls(InvokeModelCommand).map((c) => (JSON.parse(String(c.args[0].input.body)) as { inputText: string }).inputText);
}

describe('TitanEmbeddingSimilarity', () => {
  beforeEach(() => bedrockMock.reset());
  afterAll(() => bedrockMock.restore());

  it('is named after the Bedrock model', () => {
    expect(new TitanEmbeddingSimilarity(client).name).toBe('bedrock:amazon.titan-embed-text-v2:0');
  });

  it('sends each text to Titan V2 with normalize true and the configured dimensions', async () => {
    embeddings({ approve: [1, 0, 0], decline: [0, 1, 0] });
    await new TitanEmbeddingSimilarity(client, { dimensions: 256 }).similarity('approve', 'decline');
    const calls = bedrockMock.commandCalls(InvokeModelCommand);
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      expect(call.args[0].input).toMatchObject({ modelId: TITAN_EMBED_V2_MODEL_ID, contentType: 'application/json', accept: 'application/json' });
    }
    expect(calls.map((c) => JSON.parse(String(c.args[0].input.body)))).toEqual([
      { inputText: 'approve', dimensions: 256, normalize: true },
      { inputText: 'decline', dimensions: 256, normalize: true },
    ]);
  });

  it('scores the cosine of the two embeddings', async () => {
    // cos([1,1,0],[1,0,0]) = 1/√2.
    embeddings({ a: [1, 1, 0], b: [1, 0, 0] });
    expect(await new TitanEmbeddingSimilarity(client).similarity('a', 'b')).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it('clamps a negative cosine to 0', async () => {
    embeddings({ up: [0.6, 0.8], down: [-0.6, -0.8] });
    expect(await new TitanEmbeddingSimilarity(client).similarity('up', 'down')).toBe(0);
  });

  it('scores identical texts 1 without calling Bedrock, and an empty text against another 0', async () => {
    const titan = new TitanEmbeddingSimilarity(client);
    expect(await titan.similarity('same text', 'same text')).toBe(1);
    expect(await titan.similarity('', 'text')).toBe(0);
    expect(bedrockMock.commandCalls(InvokeModelCommand)).toHaveLength(0);
  });

  it('embeds each distinct text once while it is cached', async () => {
    embeddings({ original: [1, 0], first: [0.8, 0.6], second: [0.6, 0.8] });
    const titan = new TitanEmbeddingSimilarity(client);
    await titan.similarity('original', 'first');
    await titan.similarity('original', 'second');
    expect(sentTexts()).toEqual(['original', 'first', 'second']);
  });

  it('evicts the least recently used embedding beyond the cache size', async () => {
    embeddings({ a: [1, 0], b: [0, 1], c: [1, 1] });
    const titan = new TitanEmbeddingSimilarity(client, { cacheSize: 2 });
    await titan.similarity('a', 'b');
    await titan.similarity('a', 'c'); // b is evicted, a was used recently
    await titan.similarity('a', 'b');
    expect(sentTexts()).toEqual(['a', 'b', 'c', 'b']);
  });

  it('translates a Bedrock error into a named TitanSimilarityError with the cause', async () => {
    const throttled = new ThrottlingException({ message: 'Too many requests', $metadata: {} });
    bedrockMock.on(InvokeModelCommand).rejects(throttled);
    const err = await new TitanEmbeddingSimilarity(client).similarity('a', 'b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TitanSimilarityError);
    expect(err).toBeInstanceOf(SimilarityProviderError);
    expect(err).toMatchObject({ name: 'TitanSimilarityError', code: 'BEDROCK_THROTTLING', provider: 'bedrock:amazon.titan-embed-text-v2:0', cause: throttled });
    expect((err as Error).message).toContain('ThrottlingException: Too many requests');
  });

  it('does not cache a failed embedding', async () => {
    bedrockMock.on(InvokeModelCommand).rejectsOnce(new Error('network')).callsFake(() => reply({ embedding: [1, 0] }));
    const titan = new TitanEmbeddingSimilarity(client);
    await expect(titan.embed('x')).rejects.toBeInstanceOf(TitanSimilarityError);
    await expect(titan.embed('x')).resolves.toEqual([1, 0]);
  });

  it('refuses an answer without an embedding or with a body that is not JSON', async () => {
    bedrockMock.on(InvokeModelCommand).resolves(reply({ message: 'nothing' }));
    await expect(new TitanEmbeddingSimilarity(client).similarity('a', 'b')).rejects.toMatchObject({ code: 'EMBEDDING_MALFORMED' });
    bedrockMock.reset();
    bedrockMock.on(InvokeModelCommand).resolves(reply('<html>'));
    await expect(new TitanEmbeddingSimilarity(client).similarity('a', 'b')).rejects.toThrow('not JSON');
  });

  it('refuses embeddings of different lengths', async () => {
    embeddings({ a: [1, 0], b: [1, 0, 0] });
    await expect(new TitanEmbeddingSimilarity(client).similarity('a', 'b')).rejects.toThrow('different lengths');
  });
});
