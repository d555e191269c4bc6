import type { Plugin } from 'esbuild';

/** Rewrites the AWS SDK schema modules' computed trait keys to literals, so unused schemas tree-shake. */
export declare const sdkSchemaKeysPlugin: Plugin;
/** `source` with each computed key naming a top-level string constant of it replaced by the literal. */
export declare function literalSchemaKeys(source: string): string;
/** The module the functions' SDK clients take their credentials from on Lambda. */
export declare const LAMBDA_CREDENTIAL_PROVIDER: string;
/** Resolves the SDK's default credential chain to {@link LAMBDA_CREDENTIAL_PROVIDER} in function assets. */
export declare const lambdaCredentialsPlugin: Plugin;
/** The module the Bedrock Runtime client takes its bearer-token providers from on Lambda. */
export declare const LAMBDA_TOKEN_PROVIDER: string;
/** Resolves `@aws-sdk/token-providers` to {@link LAMBDA_TOKEN_PROVIDER} in function assets. */
export declare const lambdaTokenProviderPlugin: Plugin;
/** The module the functions' SDK clients take their (unused) event stream configuration from on Lambda. */
export declare const LAMBDA_EVENT_STREAMS: string;
/** Resolves `@smithy/core/event-streams` and `@aws-sdk/eventstream-handler-node` to {@link LAMBDA_EVENT_STREAMS} in function assets. */
export declare const lambdaEventStreamsPlugin: Plugin;
/** Hands the SDK packages' package.json imports `name` and `version` only. */
export declare const sdkPackageInfoPlugin: Plugin;
/** Leaves @datadog/sketches-js's never-loaded protobuf definitions out of the asset. */
export declare const sketchProtoPlugin: Plugin;
/** Per index file of @datadog/sketches-js/dist/ddsketch, the modules no function can reach. */
export declare const SKETCH_UNREACHABLE_MODULES: Record<string, readonly string[]>;
/** A CommonJS index of the sketch library with `names` no longer required (their getters throw); undefined when not in that form. */
export declare function withoutSketchModules(source: string, names: readonly string[]): string | undefined;
/** Leaves {@link SKETCH_UNREACHABLE_MODULES} out of function assets. */
export declare const sketchUnreachablePlugin: Plugin;
/** The module the build's compact SDK error classes are made by. */
export declare const SDK_ERROR_CLASS_MODULE: string;
/** The source of {@link SDK_ERROR_CLASS_MODULE}: `errorClass(...)` makes one generated SDK error class. */
export declare const SDK_ERROR_CLASS_SOURCE: string;
/** A client's `models/errors.js` with each generated class as one `errorClass` call, or undefined when not in the generated shape. */
export declare function compactErrorClasses(source: string): string | undefined;
/** Writes the SDK clients' generated error classes as calls of {@link SDK_ERROR_CLASS_SOURCE}'s `errorClass`. */
export declare const sdkErrorClassesPlugin: Plugin;
/** The plugins every function's asset is built with. */
export declare const functionBundlePlugins: Plugin[];
