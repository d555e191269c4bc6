// Runs dynalite in a worker thread, so the DynamoDB side of the local host uses the machine's second
// core instead of competing with the handlers on the main thread. Plain JavaScript: a worker does
// not go through the TypeScript loader the host runs under.
//
// It listens on TCP for every client, and also answers requests the host's own SDK client posts
// to it as messages (./dynalite-direct.mjs), with the same request handler.
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';
// dynalite's queries leave their LevelDB iterators open; this closes them (see the file).
import './dynalite-store.mjs';
// dynalite parses every expression it is sent; this keeps the parses of the ones it sees again (see the file).
import './dynalite-parsers.mjs';
import { serveDirect } from './dynalite-direct.mjs';
// A full collection once the thread falls idle after a burst (see the file).
import { idleCollection } from './idle-collection.mjs';

const server = dynalite({ path: workerData.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
const handle = server.listeners('request')[0];
const idle = idleCollection();
server.on('request', idle.noted);
server.once('error', (err) => parentPort.postMessage({ type: 'error', message: err.message, code: err.code }));
server.listen(workerData.port, '127.0.0.1', () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
parentPort.on('message', (msg) => {
  if (msg === 'close') {
    idle.stop();
    server.close(() => parentPort.postMessage({ type: 'closed' }));
    server.closeAllConnections?.();
  } else if (msg?.type === 'request') {
    idle.noted();
    serveDirect(handle, msg.request).then(
      (response) => parentPort.postMessage({ type: 'response', id: msg.id, response }),
      (err) => parentPort.postMessage({ type: 'response', id: msg.id, error: err instanceof Error ? err.message : String(err) }),
    );
  }
});
