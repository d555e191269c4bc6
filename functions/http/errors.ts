/** Errors of the HTTP edge itself, about how a request is sent rather than what it asks. */
import { DomainError } from '../core/errors.js';

/**
 * 415: the body is sent in a form the API does not read, such as a `Content-Encoding` (gzip, br,
 * …): API Gateway passes an encoded body on as it came, and the API reads JSON as plain UTF-8.
 */
export class UnsupportedMediaTypeError extends DomainError {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
}
