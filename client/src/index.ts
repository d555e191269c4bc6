/**
 * decision-replay client SDK: `DecisionReplayClient` (one typed method per route) and
 * `createRecorder` (record decisions from application code without ever getting in its way).
 */
export { DecisionReplayClient, DEFAULT_ENDPOINT, DEFAULT_MAX_RESPONSE_BYTES, type DecisionReplayClientOptions, type CallOptions, type PageOptions, type ListSnapshotsOptions, type ListBatchesOptions, type BatchStarted, type GetPolicyOptions, type SnapshotIntegrity, type SnapshotRead } from './client.js';
export { DecisionReplayError, DecisionReplayNetworkError, DecisionReplayValidationError } from './errors.js';
export { DEPENDENCY_KINDS, type DependencyCall, type DependencyKind, type ExecutorRequestLike } from './dependencies.js';
export { createRecorder, type CloseOptions, type Recorder, type RecorderOptions, type RecorderStats, type WrapOptions, type NamedValues } from './recorder.js';
export type { AwsCredentials, CredentialsOption } from './sigv4.js';
export type * from './schemas.js';
export { RecordSnapshotSchema, PolicyBodySchema, ExecutorConfigSchema, ReplayRequestSchema, ValidateRequestSchema, BatchRequestSchema, REPLAY_MODES } from './schemas.js';
