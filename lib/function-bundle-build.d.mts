import type { Plugin } from 'esbuild';

/** Rewrites the AWS SDK schema modules' computed trait keys to literals, so unused schemas tree-shake. */
export declare const sdkSchemaKeysPlugin: Plugin;
/** `source` with each computed key naming a top-level string constant of it replaced by the literal. */
export declare function literalSchemaKeys(source: string): string;
/** The module the functions' SDK clients take their credentials from on Lambda. */
export declare const LAMBDA_CREDENTIAL_PROVIDER: string;
/** Resolves the SDK's default credential chain to {@link LAMBDA_CREDENTIAL_PROVIDER} in function assets. */
export declare const lambdaCredentialsPlugin: Plugin;
/** The plugins every function's asset is built with. */
export declare const functionBundlePlugins: Plugin[];
