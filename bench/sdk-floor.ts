/**
 * What the record + read benchmarks share: the decision they record, the headers of a raw
 * wire-protocol call to dynalite, and the process that measures the floor under host-wire's target
 * (./sdk-floor-server.ts), started the way `npm start` starts the host.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordSnapshot } from '../functions/core/snapshot.js';
import { startArgs } from './local-process.js';

/** The decision `host` and `host-wire` record. */
export const benchDecision: RecordSnapshot = {
  functionName: 'approve_loan',
  inputs: [{ name: 'applicant', value: { income: 52000, age: 41, debt: 12000 }, type: 'object' }],
  outputs: [
    { name: 'decision', value: 'approve', type: 'string' },
    { name: 'score', value: 0.82, type: 'number' },
    { name: 'rationale', value: 'Income is well above the threshold.', type: 'string' },
  ],
  modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0 },
  context: { tenant: 'acme' },
  executionTimeMs: 120.5,
};

/** dynalite wants these headers on a raw call; it checks no signature (the host's own client sends the same). */
export const wireHeaders = (target: string): Record<string, string> => ({
  'content-type': 'application/x-amz-json-1.0',
  'x-amz-target': `DynamoDB_20120810.${target}`,
  'x-amz-date': '20260101T000000Z',
  authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=local',
});

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface FloorProcess {
  url: string;
  dynamoEndpoint: string;
  tableName: string;
  stop(): Promise<void>;
}

/** Starts the floor server with `npm start`'s node flags; `pool`: how many records it can take. */
export async function startFloorProcess(options: { transport: 'direct' | 'socket'; pool: number }): Promise<FloorProcess> {
  const args = startArgs();
  // `npm start` is `node <flags> bin/local.ts`: the same flags, this script instead.
  const child = spawn(process.execPath, [...args.slice(0, -1), join(root, 'bench', 'sdk-floor-server.ts')], {
    cwd: root,
    env: { ...process.env, TABLE_NAME: 'bench-floor', POOL: String(options.pool), DYNAMODB_TRANSPORT: options.transport },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { url, dynamoEndpoint } = await new Promise<{ url: string; dynamoEndpoint: string }>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined || !out.includes('\n')) return;
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      resolve(JSON.parse(line) as { url: string; dynamoEndpoint: string });
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the floor server exited with ${code} before listening: ${out}`)));
  });
  return {
    url,
    dynamoEndpoint,
    tableName: 'bench-floor',
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
