import type { Plugin } from 'esbuild';

/** Rewrites the AWS SDK schema modules' computed trait keys to literals, so unused schemas tree-shake. */
export declare const sdkSchemaKeysPlugin: Plugin;
/** `source` with each computed key naming a top-level string constant of it replaced by the literal. */
export declare function literalSchemaKeys(source: string): string;
/** The plugins every function's asset is built with. */
export declare const functionBundlePlugins: Plugin[];
