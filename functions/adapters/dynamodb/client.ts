import type { TranslateConfig } from '@aws-sdk/lib-dynamodb';

/** How every DocumentClient in the project marshalls: drop undefined, keep numbers as JS numbers. */
export const documentClientOptions: TranslateConfig = {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  unmarshallOptions: { wrapNumbers: false },
};
