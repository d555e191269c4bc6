/**
 * E2E helper: the one-machine host (`startLocalHost`) in memory, on free ports (0 for both the
 * HTTP API and the DynamoDB endpoint), with its own table. Pass overrides (a fake clock, a logger)
 * as needed; always `close()` it in `afterAll`.
 */
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
