/**
 * The Secrets Manager client and the one command this project sends, loaded on first use (see
 * lambda-client.ts for why each client has a module of its own).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { traced } from '../aws/tracer.js';

export const createSecretsManagerClient = (): SecretsManagerClient => traced(new SecretsManagerClient({}));
export { GetSecretValueCommand };
