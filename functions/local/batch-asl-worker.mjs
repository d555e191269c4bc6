// Renders the batch state machine's ASL (lib/batch-definition.ts, through aws-cdk-lib) on a worker
// thread that exits once it has answered. Plain JavaScript that registers tsx itself: a worker does
// not inherit the TypeScript loader of the thread that started it.
import { URL } from 'node:url';
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { renderBatchAsl } = await import(new URL('../../lib/batch-definition.ts', import.meta.url).href);
parentPort.postMessage(renderBatchAsl());
