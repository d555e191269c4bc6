/** Amazon Titan Text Embeddings V2: the embedding model behind the `bedrock-titan` similarity provider. */
export const TITAN_EMBED_V2_MODEL_ID = 'amazon.titan-embed-text-v2:0';

/** The provider name recorded on every verdict it scores. */
export const TITAN_PROVIDER_NAME = `bedrock:${TITAN_EMBED_V2_MODEL_ID}`;
