/**
 * The bearer tokens of the Bedrock Runtime client on Lambda. The function build
 * (lib/function-bundle-build.mjs) puts this module in place of `@aws-sdk/token-providers` for the
 * client's runtime configuration, like ./lambda-credential-provider.ts for credentials; outside the
 * Lambda bundles the SDK's own module runs.
 *
 * The client signs with SigV4 (the function's role); it takes a bearer token only when the
 * deployment chooses bearer auth, and then first from `AWS_BEARER_TOKEN_BEDROCK`
 * ({@link fromEnvSigningName}, the SDK's own). Its fallback, {@link nodeProvider}, reads an SSO
 * token from the `~/.aws/sso/cache` files of an `aws sso login`, which a Lambda environment does
 * not have; the SDK's version brings the SSO OIDC client and the shared-config file parsing
 * (~25 KiB) into every function that can call Bedrock. Here it says why there is no token.
 */
export { fromEnvSigningName } from '@aws-sdk/token-providers';

/** Thrown when bearer auth is chosen and the environment holds no token. */
export class LambdaBearerTokenError extends Error {
  readonly tryNextLink = false;

  constructor() {
    super('no bearer token for Bedrock: set AWS_BEARER_TOKEN_BEDROCK, or sign with the function role (SigV4, the default); SSO token files do not exist on Lambda');
    this.name = 'LambdaBearerTokenError';
  }
}

/** The SDK's fallback token provider (SSO token files), which cannot apply on Lambda. */
export const nodeProvider =
  (_init: unknown = {}) =>
  async (): Promise<never> => {
    throw new LambdaBearerTokenError();
  };
