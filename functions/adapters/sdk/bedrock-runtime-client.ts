/** The Bedrock Runtime client, loaded on first use (see lambda-client.ts for why a module of its own). */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { traced } from '../aws/tracer.js';

export const createBedrockRuntimeClient = (): BedrockRuntimeClient => traced(new BedrockRuntimeClient({}));
