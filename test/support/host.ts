/**
 * E2E helpers: the one-machine host (`startLocalHost`) in memory, on free ports (0 for both the
 * HTTP API and the DynamoDB endpoint), with its own table. Pass overrides (a fake clock, a logger)
 * as needed; always `close()` it in `afterAll`. Also the recording of a demo-model decision that
 * replay tests against the host start from.
 */
import type { JsonObject } from '../../functions/core/json.js';
import type { RecordSnapshot } from '../../functions/core/snapshot.js';
import { decideCredit, type Applicant } from '../../functions/local/demo-model.js';
import { startLocalHost, type LocalHost, type LocalHostOptions } from '../../functions/local/host.js';

export interface TestHost {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:43121`. */
  url: string;
  host: LocalHost;
  close(): Promise<void>;
}

let counter = 0;

/** Starts an in-memory local host on free ports. `dataDir` is never set: nothing touches the disk. */
export async function startTestHost(overrides: Partial<Omit<LocalHostOptions, 'dataDir'>> = {}): Promise<TestHost> {
  const host = await startLocalHost({
    port: 0,
    dynamoPort: 0,
    tableName: `e2e-${process.pid}-${++counter}`,
    ...overrides,
  });
  return { url: host.url, host, close: () => host.close() };
}

/**
 * The `POST /snapshots` body recording what the host's built-in demo credit model v1 decided for
 * `applicant`, so a replay against demo v2 has a real v1 decision to compare with.
 */
export function demoV1Decision(functionName: string, applicant: Applicant, context?: JsonObject): Omit<RecordSnapshot, 'inputs'> & { inputs: { name: string; value: Applicant; type: 'object' }[] } {
  const v1 = decideCredit('v1', applicant);
  return {
    functionName,
    inputs: [{ name: 'applicant', value: applicant, type: 'object' }],
    outputs: [
      { name: 'decision', value: v1.decision, type: 'string' },
      { name: 'score', value: v1.score, type: 'number' },
      { name: 'rationale', value: v1.rationale, type: 'string' },
    ],
    modelParameters: { modelName: 'demo-credit', modelVersion: 'v1', temperature: 0 },
    ...(context !== undefined && { context }),
    executionTimeMs: 3,
  };
}
