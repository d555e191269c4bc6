/** Loads through the configuration as a prototype: V8 optimises it after nine; a margin above. */
const PROTOTYPE_LOADS = 32;

/**
 * Gives an AWS SDK client's resolved configuration V8's fast properties back, once per client.
 *
 * The SDK copies the client's configuration into a new object on several steps of every call:
 * `{ ...config, ...context }` to serialise the request and again to deserialise the response,
 * `{ ...config }` to resolve the endpoint. That configuration object is in V8's dictionary mode,
 * because `@aws-sdk/core` redefines its `credentials` data property as an accessor
 * (`Object.defineProperty`), which turns the whole object into a hash table. Copying a
 * dictionary-mode object of ~50 properties cost ~20 µs on this machine, a fast one ~3 µs: with
 * three copies a call, 50–60 µs of every DynamoDB, Lambda or Bedrock call, on Lambda as locally.
 *
 * V8 gives an object fast properties again once it has served as a prototype for a few property
 * loads (its prototype optimisation; nine loads on Node 20). That is all this does: the
 * configuration stays the same object, with the same properties and the same accessors, so
 * nothing the SDK does with it changes. On a V8 that stopped doing so, calls would only stay as
 * slow as before; `test/unit/fast-config.test.ts` checks it still happens.
 */
export function withFastConfig<C extends { config: object }>(client: C): C {
  const Probe = function () {} as unknown as new () => { runtime?: unknown };
  Probe.prototype = client.config;
  const probe = new Probe();
  for (let i = 0; i < PROTOTYPE_LOADS; i++) void probe.runtime;
  return client;
}
