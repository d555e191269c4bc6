/**
 * The codes an error is reported under where no HTTP answer carries it: a batch item's or a failed
 * batch's error (README, "(h) Errors"), and a stream record that on-write failed. One vocabulary,
 * the API's SCREAMING_CASE codes (`PAYLOAD_TOO_LARGE`, `EXECUTOR_TIMEOUT`, …), never the class name
 * of the error (`PayloadTooLargeError`) that a user cannot look up.
 */
import { DomainError } from '../core/errors.js';
import { SimilarityProviderError } from '../core/similarity.js';

/** A code as the API writes them (`PAYLOAD_TOO_LARGE`, `EXECUTOR_TIMEOUT`, …). */
const SCREAMING_CASE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

/** A failure as reported: a documented code, and a message saying what went wrong. */
export interface CodedFailure {
  code: string;
  message: string;
}

/** Messages are cut to this many characters. */
const MAX_MESSAGE = 1000;

/**
 * The documented code of an error named `name`. A code (what a batch task throws a domain error
 * under) is kept as it is; what Step Functions, Lambda or a fault in a function names its way
 * (`States.Timeout`, `Lambda.ServiceException`, `TypeError`) gets one of these.
 */
export function workflowErrorCode(name: string): string {
  if (SCREAMING_CASE.test(name)) return name;
  if (name === 'States.Timeout' || name === 'States.HeartbeatTimeout' || name === 'Sandbox.Timedout') return 'TASK_TIMED_OUT';
  if (name === 'Lambda.TooManyRequestsException') return 'TASK_THROTTLED';
  if (name === 'States.DataLimitExceeded') return 'STATE_DATA_TOO_LARGE';
  if (name === 'States.TaskFailed' || /^(?:Lambda|Runtime|Sandbox)\./.test(name)) return 'TASK_FAILED';
  if (name.startsWith('States.')) return 'WORKFLOW_ERROR';
  return 'INTERNAL_ERROR';
}

/**
 * `{code, message}` of an error named `name`: the code from {@link workflowErrorCode}; where that
 * is not the name itself, the message starts with the name (`States.Timeout: Task timed out after
 * 60 s`, `TypeError: x is undefined`), so an operator still sees what was said.
 */
export function namedFailure(name: string, message: string): CodedFailure {
  const code = workflowErrorCode(name);
  return { code, message: (code === name ? message : `${name}: ${message}`).slice(0, MAX_MESSAGE) };
}

/**
 * `{code, message}` of an error a function threw: a domain error (and a similarity provider's) under
 * its own code; anything else, a fault, as {@link namedFailure} names it (`INTERNAL_ERROR`, the
 * message starting with the error's name).
 */
export function thrownFailure(err: unknown): CodedFailure {
  if (err instanceof DomainError || err instanceof SimilarityProviderError) return { code: err.code, message: err.message.slice(0, MAX_MESSAGE) };
  if (err instanceof Error) return namedFailure(err.name, err.message);
  return namedFailure('Error', String(err));
}
