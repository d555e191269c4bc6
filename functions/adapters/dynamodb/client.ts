import type { TranslateConfig } from '@aws-sdk/lib-dynamodb';

/**
 * How every DocumentClient in the project marshalls: drop undefined, keep numbers as JS numbers.
 * Every object we store is parsed JSON, so each is marshalled as a map: without
 * `convertClassInstanceToMap` the marshaller takes an object with its own `constructor` key
 * (`{"constructor": {...}}` in a recorded context) for a class instance and throws, a 500.
 */
export const documentClientOptions: TranslateConfig = {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  unmarshallOptions: { wrapNumbers: false },
};
