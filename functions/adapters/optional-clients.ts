/**
 * Optional AWS clients: a Lambda bundle carries the Lambda and the Bedrock Runtime client only when
 * its deployment can use them. Each is ~60–90 KiB of a bundle (the SDK ships every operation's
 * schema and error class of a service), a third of what a minimal DynamoDB bundle weighs.
 *
 * The stack (`lib/optional-clients.ts`) defines a switch below as `"off"` at bundling time when
 * cdk.json gives the function nothing to call with that client: no `executorFunctionArns` (its
 * role may invoke no Lambda), no `bedrockModelIds` (it may invoke no model), a similarity provider
 * other than `bedrock-titan`. esbuild then sees the branch that loads the client as dead and leaves
 * it, and the client, out of the bundle. What would have been an AccessDenied from AWS is then a
 * refusal that names the cdk.json key to set.
 *
 * Unbundled code (tests, the local host) reads the real environment, where the switches are unset:
 * everything is on. The checks are written out where each client is loaded
 * (`process.env.DECISION_REPLAY_LAMBDA_EXECUTORS !== 'off'`), not read through a constant, because
 * esbuild drops a dynamic import only inside a branch it can see is dead.
 */

/** The switches, by the environment name esbuild replaces. */
export const OPTIONAL_CLIENT_SWITCHES = {
  /** Lambda executors (the Lambda client): cdk.json `executorFunctionArns`. */
  lambdaExecutors: 'DECISION_REPLAY_LAMBDA_EXECUTORS',
  /** Bedrock executors (the Bedrock Runtime client): cdk.json `bedrockModelIds`. */
  bedrockExecutors: 'DECISION_REPLAY_BEDROCK_EXECUTORS',
  /** Titan embedding similarity (the Bedrock Runtime client): cdk.json `similarityProvider: "bedrock-titan"`. */
  bedrockSimilarity: 'DECISION_REPLAY_BEDROCK_SIMILARITY',
} as const;

export type OptionalClient = keyof typeof OPTIONAL_CLIENT_SWITCHES;

/** The cdk.json key that turns each optional client on. */
export const OPTIONAL_CLIENT_CONTEXT_KEY: Readonly<Record<OptionalClient, string>> = {
  lambdaExecutors: 'executorFunctionArns',
  bedrockExecutors: 'bedrockModelIds',
  bedrockSimilarity: 'similarityProvider: "bedrock-titan"',
};
