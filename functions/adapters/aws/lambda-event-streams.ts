/**
 * Event streams in the functions' Lambda bundles. The function build
 * (lib/function-bundle-build.mjs) puts this module in place of `@smithy/core/event-streams` and
 * `@aws-sdk/eventstream-handler-node`, like ./lambda-credential-provider.ts for credentials;
 * outside the Lambda bundles (the local host, the tests) the SDK's own modules run.
 *
 * The SDK encodes and decodes an event stream (the `vnd.amazon.eventstream` framing of
 * `ConverseStream`, `InvokeWithResponseStream`, S3 `SelectObjectContent`) only for an operation
 * whose input or output has an event-stream member: the protocol then imports
 * `@smithy/core/event-streams` and the command's middleware hands the request to the event stream
 * payload handler. None of the commands the functions send has one (`Invoke`, `Converse`,
 * `InvokeModel`, S3, DynamoDB, KMS, Step Functions, EventBridge and Secrets Manager commands; a
 * test walks their schemas), yet every Lambda, Bedrock Runtime and S3 client builds an event
 * stream marshaller and payload handler when it is constructed, and so their assets carried the
 * codec, the marshallers, the signing transform stream and the CRC32 code behind them (~18 KiB
 * in a function with the Lambda and Bedrock clients). Here the client configuration resolves as
 * the SDK's does, and the marshaller and handler it builds throw a named error if anything ever
 * uses them.
 */

/** Thrown if a function's client is asked to encode or decode an event stream. */
export class EventStreamsNotBundledError extends Error {
  constructor() {
    super('event streams are not part of this function bundle: no command the functions send has an event-stream member (see functions/adapters/aws/lambda-event-streams.ts)');
    this.name = 'EventStreamsNotBundledError';
  }
}

const unsupported = (): never => {
  throw new EventStreamsNotBundledError();
};

/** What the clients' configuration holds as `eventStreamMarshaller`; a command with an event stream would call it. */
const marshaller = { serialize: unsupported, deserialize: unsupported };

/** The SDK's `eventStreamSerdeProvider` (client configuration). */
export const eventStreamSerdeProvider = (_options?: unknown): typeof marshaller => marshaller;

/** The SDK's `resolveEventStreamSerdeConfig`, as it is: the configuration's marshaller, from its provider. */
export const resolveEventStreamSerdeConfig = <T extends { eventStreamSerdeProvider: (input: T) => unknown }>(input: T): T & { eventStreamMarshaller: unknown } =>
  Object.assign(input, { eventStreamMarshaller: input.eventStreamSerdeProvider(input) });

/** The protocol's event stream serde (`HttpProtocol.loadEventStreamCapability`, only for an event-stream member). */
export class EventStreamSerde {
  constructor() {
    unsupported();
  }
}

/** `@aws-sdk/eventstream-handler-node`'s provider (Bedrock Runtime configuration): the handler its streaming commands' middleware calls. */
export const eventStreamPayloadHandlerProvider = (_options?: unknown): { handle: () => never } => ({ handle: unsupported });
