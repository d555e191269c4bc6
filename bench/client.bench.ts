/**
 * The client package (issue 11):
 * - the recorder's overhead to the caller: a wrapped call minus the same call unwrapped, per call,
 *   median over alternating samples — with the service up (the local host) and with it
 *   unreachable (a port nothing listens on). Target ≤ 20 µs.
 * - `decision-replay --help`, process start to exit, against `node -e 0`, alternating runs,
 *   median. Target ≤ 4×.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { DecisionReplayClient } from '../client/src/client.js';
import { createRecorder } from '../client/src/recorder.js';
import { startLocalHost } from '../functions/local/host.js';
import { median, printFigures, type Figure } from './report.js';

const BIN = fileURLToPath(new URL('../client/bin/decision-replay.js', import.meta.url));

interface Applicant {
  income: number;
  age: number;
  debt: number;
}

/** A small decision function, the kind an application wraps. */
function decide(a: Applicant): { decision: string; score: number } {
  const score = Math.max(0, Math.min(1, a.income / 100000 - a.debt / (a.income + 1) + (a.age > 25 ? 0.05 : 0)));
  return { decision: score > 0.5 ? 'approve' : score > 0.3 ? 'review' : 'decline', score: Math.round(score * 1000) / 1000 };
}

const WRAP = {
  functionName: 'bench_loans',
  inputs: (a: Applicant) => ({ applicant: { income: a.income, age: a.age, debt: a.debt } }),
  outputs: (r: { decision: string; score: number }) => r,
  modelParameters: { modelName: 'credit', modelVersion: 'v1', temperature: 0 },
  context: { tenant: 'acme' },
};

const CALLS_PER_SAMPLE = 200;

/** µs per call of `fn` over one sample of CALLS_PER_SAMPLE calls. */
function sample(fn: (a: Applicant) => unknown, offset: number): number {
  const start = performance.now();
  for (let i = 0; i < CALLS_PER_SAMPLE; i++) fn({ income: 20000 + ((offset + i) % 80000), age: 30, debt: 5000 });
  return ((performance.now() - start) * 1000) / CALLS_PER_SAMPLE;
}

/** Median per-call times of the wrapped and the plain function, samples alternating, the sender given its turn between them. */
async function overhead(endpoint: string, rounds: number, flushBetween: boolean): Promise<{ wrapped: number; plain: number; stats: ReturnType<ReturnType<typeof createRecorder>['stats']> }> {
  const recorder = createRecorder({ client: new DecisionReplayClient({ endpoint }), maxQueue: 1000 });
  const wrapped = recorder.wrap(decide, WRAP);
  const w: number[] = [];
  const p: number[] = [];
  for (let r = 0; r < rounds + 5; r++) {
    const a = sample(wrapped, r * CALLS_PER_SAMPLE);
    const b = sample(decide, r * CALLS_PER_SAMPLE);
    if (r >= 5) {
      w.push(a);
      p.push(b);
    }
    if (flushBetween) await recorder.flush();
    else await new Promise((resolve) => setImmediate(resolve));
  }
  const stats = recorder.stats();
  void recorder.close();
  return { wrapped: median(w), plain: median(p), stats };
}

async function unreachableUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Wall time of one process run, in ms. */
function runMs(args: string[]): number {
  const start = performance.now();
  const res = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (res.status !== 0) throw new Error(`node ${args.join(' ')} exited ${res.status}: ${res.stderr.toString()}`);
  return performance.now() - start;
}

export default async function run(): Promise<void> {
  const host = await startLocalHost({ port: 0, dynamoPort: 0, tableName: 'bench-client' });
  let up;
  try {
    up = await overhead(host.url, 40, true);
  } finally {
    await host.close();
  }
  const down = await overhead(await unreachableUrl(), 40, false);

  // --help: build first (the bin rebuilds a stale checkout once), then alternate.
  runMs([BIN, '--help']);
  const help: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 15; i++) {
    help.push(runMs([BIN, '--help']));
    bare.push(runMs(['-e', '0']));
  }
  const helpMs = median(help);
  const bareMs = median(bare);

  const figures: Figure[] = [
    { figure: 'recorder overhead per call, service up (wrapped − plain)', ours: up.wrapped - up.plain, unit: 'µs', target: '<= 20' },
    { figure: '  wrapped call / plain call, service up', ours: up.wrapped, baseline: up.plain, unit: 'µs', ratio: up.wrapped / up.plain },
    { figure: 'recorder overhead per call, service unreachable', ours: down.wrapped - down.plain, unit: 'µs', target: '<= 20' },
    { figure: '  wrapped call / plain call, unreachable', ours: down.wrapped, baseline: down.plain, unit: 'µs', ratio: down.wrapped / down.plain },
    { figure: '`decision-replay --help` ÷ `node -e 0` (process start to exit)', ours: helpMs, baseline: bareMs, unit: 'ms', ratio: helpMs / bareMs, target: '<= 4' },
  ];
  printFigures('Client: recorder overhead and CLI start', figures);
  console.log(`  service up: ${JSON.stringify(up.stats)}; unreachable: ${JSON.stringify(down.stats)} (dropped = queue full while the service could not be reached)`);
}
