/**
 * What a schedule may be named: the CDK context's `schedules[].name` (checked at synth), a scheduled
 * batch's `scheduleName`, and the `scheduleName` filter of `GET /batches` and `batch list --schedule`.
 */
export const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const SCHEDULE_NAME_RULE = 'letters, digits, "-" and "_" (max 64), starting with a letter or digit';
