/**
 * CPU per http executor call (issue 9: each batch item is one executor call on the host's main
 * thread): `HttpExecutor.execute` (network guard, pinned transport, size limit, JSON, answer
 * validation) against a bare node:http POST of the same body with a keep-alive agent that reads the
 * answer and parses its JSON, the floor of any node:http executor client. The model is a node:http
 * server in a child process answering at once, so this process's CPU (process.cpuUsage: user +
 * system, the socket writes' kernel time included) is the client's alone.
 *
 * Rounds of `BENCH_EXECUTOR_CALLS` calls, `BENCH_EXECUTOR_CONCURRENCY` in flight, rotate between
 * the executor, a second executor (A/A: the noise band) and the floor; medians of CPU per call and
 * of the per-round ratios are printed. A fresh executor per call, as each replay makes one.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { HttpExecutor } from '../functions/adapters/executors/http-executor.js';
import type { ExecutionRequest } from '../functions/core/executor.js';
import { executorRequestBody } from '../functions/core/executor.js';
import { median, printFigures } from './report.js';

const CALLS = Number(process.env.BENCH_EXECUTOR_CALLS ?? 1000);
const ROUNDS = Number(process.env.BENCH_EXECUTOR_ROUNDS ?? 12);
const CONCURRENCY = Number(process.env.BENCH_EXECUTOR_CONCURRENCY ?? 20);

const SERVER = `
const { createServer } = require('node:http');
const answer = JSON.stringify({ outputs: [{ name: 'decision', value: 'approve', type: 'string' }, { name: 'score', value: 0.82, type: 'number' }], executionTimeMs: 4.5 });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer));
});
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
process.on('disconnect', () => process.exit(0));
`;

const decision: ExecutionRequest = {
  functionName: 'approve_loan',
  inputs: [{ name: 'applicant', value: { income: 52000, age: 41 }, type: 'object' }],
  modelParameters: { modelName: 'credit-llm', temperature: 0.2 },
  expectedOutputs: ['decision', 'score'],
};

/** One POST through node:http and a keep-alive agent, the answer read whole and parsed: no guard, no limit, no validation. */
function barePost(agent: Agent, port: number, body: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/decide', method: 'POST', agent, headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** CPU per call, µs, of `CALLS` calls of `call` with `CONCURRENCY` in flight. */
async function cpuPerCall(call: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CALLS) {
        next += 1;
        await call();
      }
    }),
  );
  const used = process.cpuUsage(start);
  return (used.user + used.system) / CALLS;
}

export default async function run(): Promise<void> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve(m as number));
      child.once('error', reject);
    });
    const url = `http://127.0.0.1:${port}/decide`;
    const agent = new Agent({ keepAlive: true });
    const body = JSON.stringify(executorRequestBody(decision));
    const executorCall = () => new HttpExecutor({ type: 'http', url }, { allowPrivateNetworks: true }).execute(decision, { timeoutMs: 30_000 });
    const sides = { a: executorCall, a2: executorCall, floor: () => barePost(agent, port, body) };
    const names = Object.keys(sides) as Array<keyof typeof sides>;
    for (const name of names) await cpuPerCall(sides[name]);
    const per: Record<keyof typeof sides, number[]> = { a: [], a2: [], floor: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      // Each side goes first, second and third in turn.
      for (let i = 0; i < names.length; i += 1) {
        const name = names[(round + i) % names.length] as keyof typeof sides;
        per[name].push(await cpuPerCall(sides[name]));
      }
    }
    const ratio = (x: number[], y: number[]) => median(x.map((v, i) => v / (y[i] as number)));
    agent.destroy();
    printFigures(`Executor call: CPU per call, ${CALLS} calls × ${ROUNDS} rounds, ${CONCURRENCY} in flight`, [
      { figure: 'http executor call ÷ bare node:http POST + JSON.parse (the floor)', ours: median(per.a), baseline: median(per.floor), unit: 'µs', ratio: ratio(per.a, per.floor) },
      { figure: 'A/A: the same executor call, second side ÷ first', ours: median(per.a2), baseline: median(per.a), unit: 'µs', ratio: ratio(per.a2, per.a) },
    ]);
  } finally {
    child.disconnect();
  }
}
