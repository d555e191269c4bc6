/**
 * A stand-in model service for the benchmarks: a node:http server on 127.0.0.1 that answers every
 * POST with a fixed `{outputs}` after `delayMs`. It runs in a worker thread, because a model is a
 * remote service: its own HTTP work must not be charged to the host's event loop (the host's
 * DynamoDB, dynalite, likewise runs on its own thread).
 */
import { Worker } from 'node:worker_threads';

const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createServer } = require('node:http');
const answer = workerData.answer;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const send = () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer);
    if (workerData.delayMs > 0) setTimeout(send, workerData.delayMs);
    else send();
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

export interface StubExecutor {
  url: string;
  close(): Promise<void>;
}

export async function startStubExecutor(delayMs: number, answer: unknown): Promise<StubExecutor> {
  const worker = new Worker(SOURCE, { eval: true, workerData: { delayMs, answer: JSON.stringify(answer) } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { url: `http://127.0.0.1:${port}/decide`, close: async () => void (await worker.terminate()) };
}
