import type { DomainError } from '../core/errors.js';
import { ConflictError, NotFoundError, PayloadTooLargeError, ServiceBusyError, UnprocessableError, ValidationError } from '../core/errors.js';
import { UnsupportedMediaTypeError } from './errors.js';

/** The HTTP status of a domain error, decided by its class. */
export function errorStatus(err: DomainError): number {
  if (err instanceof ValidationError) return 400;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof PayloadTooLargeError) return 413;
  if (err instanceof UnsupportedMediaTypeError) return 415;
  if (err instanceof UnprocessableError) return 422;
  if (err instanceof ServiceBusyError) return 503;
  return 500;
}
