/**
 * The credentials of the functions' AWS SDK clients on Lambda. The function build
 * (lib/function-bundle-build.mjs) puts this module in place of the SDK's default chain,
 * `@aws-sdk/credential-provider-node`, which every client's runtime configuration imports; nothing
 * imports it by name, and outside the Lambda bundles (the local host, the tests) the SDK's own
 * chain runs.
 *
 * Lambda hands a function its execution role's credentials in the environment
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and the default chain's
 * first link, the environment, always answers there. Its other links (SSO, the shared config and
 * credentials files, `credential_process`, a web identity token file, the `aws login` cache, the
 * EC2 instance metadata service) need files, variables or an endpoint a Lambda environment does
 * not have, and with their STS, SSO and sign-in clients they are ~90 KiB of chunks that every
 * function's asset would carry and no cold start could load. The container credentials endpoint
 * (`AWS_CONTAINER_CREDENTIALS_FULL_URI` / `_RELATIVE_URI`) stays, after the environment, as in the
 * SDK's chain: it is loaded only if the environment holds no keys and names such an endpoint.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { onFirstUse } from '../../core/on-first-use.js';

type EnvInit = NonNullable<Parameters<typeof fromEnv>[0]>;
type CredentialProvider = ReturnType<typeof fromEnv>;

const CONTAINER_URI_VARIABLES = ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] as const;

/** Thrown when neither the environment nor a container endpoint holds credentials. */
export class LambdaCredentialsError extends Error {
  constructor(options?: ErrorOptions) {
    super(`no AWS credentials: Lambda sets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the function's role, and neither they nor ${CONTAINER_URI_VARIABLES.join(' / ')} are set`, options);
    this.name = 'LambdaCredentialsError';
  }
}

/**
 * The provider the SDK clients build from their configuration (the default chain's signature):
 * the environment's credentials, else the container endpoint's when one is named.
 */
export const defaultProvider = (init: EnvInit = {}): CredentialProvider => {
  const env = fromEnv(init);
  const container = onFirstUse(async () => {
    const { fromHttp, fromContainerMetadata } = await import('./container-credentials.js');
    const viaHttp = fromHttp(init);
    const viaMetadata = fromContainerMetadata(init);
    // The SDK's order: the HTTP provider (full URI with its token), then the ECS metadata form.
    return async () => viaHttp().catch(() => viaMetadata());
  });
  return async () => {
    try {
      return await env();
    } catch (err) {
      if (!CONTAINER_URI_VARIABLES.some((name) => process.env[name])) throw new LambdaCredentialsError({ cause: err });
    }
    return (await container())();
  };
};
