/**
 * The batch ASL for the local state machine: the very definition CDK deploys, rendered by
 * `renderBatchAsl()` in lib/, but on a worker thread that exits once it has answered. Rendering
 * needs aws-cdk-lib, and loaded on the host's own thread it stayed in its heap for the life of the
 * process (~16 MB of live heap, ~28 MB of RSS, which V8 then sizes the heap around): the local
 * host's peak RSS under sustained writes was just over its 400 MB target with it (`npm run bench
 * memory`). Rendered once per process.
 */
import { Worker } from 'node:worker_threads';
import type { RenderedBatchAsl } from '../../lib/batch-definition.js';

let rendered: Promise<RenderedBatchAsl> | undefined;

function renderOnWorker(): Promise<RenderedBatchAsl> {
  return new Promise<RenderedBatchAsl>((resolve, reject) => {
    const worker = new Worker(new URL('./batch-asl-worker.mjs', import.meta.url));
    worker.once('message', (asl: RenderedBatchAsl) => {
      resolve(asl);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the batch ASL worker exited with code ${code} before answering`)));
  });
}

/** The rendered batch ASL (memoised). */
export function batchAsl(): Promise<RenderedBatchAsl> {
  rendered ??= renderOnWorker().catch((err: unknown) => {
    rendered = undefined;
    throw new Error(`could not render the batch state machine's definition: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  return rendered;
}
