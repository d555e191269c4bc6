import { PayloadTooLargeError, ValidationError } from '../../core/errors.js';
import { MAX_ITEM_BYTES } from './item-size.js';

function isValidationException(err: unknown): err is Error {
  return err instanceof Error && err.name === 'ValidationException';
}

/**
 * Translates DynamoDB write errors that are the caller's fault into domain errors: an item over
 * 400 KB → 413, a value DynamoDB cannot store → 400. Anything else is rethrown as it is (a fault).
 */
export function translateWriteError(err: unknown, what: string): unknown {
  if (isValidationException(err)) {
    if (/item size/i.test(err.message)) {
      return new PayloadTooLargeError(`${what} exceeds DynamoDB's ${MAX_ITEM_BYTES}-byte (400 KB) item limit`, MAX_ITEM_BYTES, MAX_ITEM_BYTES + 1, { cause: err });
    }
    if (/number|numeric/i.test(err.message)) {
      return new ValidationError(`${what} holds a number DynamoDB cannot store: ${err.message}`, { cause: err, code: 'UNSTORABLE_VALUE' });
    }
  }
  return err;
}
