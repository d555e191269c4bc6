/**
 * The Bedrock Runtime client's bearer-token providers in the Lambda bundles
 * (functions/adapters/aws/lambda-token-provider.ts): the SDK's environment provider, and a fallback
 * that says why there is no SSO token on Lambda.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fromEnvSigningName, LambdaBearerTokenError, nodeProvider } from '../../functions/adapters/aws/lambda-token-provider.js';

const saved = process.env.AWS_BEARER_TOKEN_BEDROCK;
afterEach(() => {
  if (saved === undefined) delete process.env.AWS_BEARER_TOKEN_BEDROCK;
  else process.env.AWS_BEARER_TOKEN_BEDROCK = saved;
});

describe('the Lambda bearer-token providers', () => {
  it('take the Bedrock token from the environment', async () => {
    process.env.AWS_BEARER_TOKEN_BEDROCK = 'token-1';

    await expect(fromEnvSigningName({ signingName: 'bedrock' })()).resolves.toMatchObject({ token: 'token-1' });
  });

  it('fail without one, naming the variable and the default SigV4 signing', async () => {
    const failure = nodeProvider({})();

    await expect(failure).rejects.toBeInstanceOf(LambdaBearerTokenError);
    await expect(failure).rejects.toThrow(/AWS_BEARER_TOKEN_BEDROCK.*SigV4/);
  });
});
