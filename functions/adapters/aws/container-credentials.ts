/**
 * The container credential providers of ./lambda-credential-provider.ts, as one module: one
 * `import()` target, loaded only where a container endpoint is named (see
 * ../sdk/lambda-runtime.ts for why one target).
 */
export { fromHttp } from '@aws-sdk/credential-provider-http';
export { fromContainerMetadata } from '@smithy/credential-provider-imds';
