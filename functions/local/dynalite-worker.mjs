// Runs dynalite in a worker thread, so the DynamoDB side of the local host uses the machine's second
// core instead of competing with the handlers on the main thread. Plain JavaScript: a worker does
// not go through the TypeScript loader the host runs under.
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';
// dynalite's queries leave their LevelDB iterators open; this closes them (see the file).
import './dynalite-store.mjs';

const server = dynalite({ path: workerData.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.once('error', (err) => parentPort.postMessage({ type: 'error', message: err.message, code: err.code }));
server.listen(workerData.port, '127.0.0.1', () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
parentPort.on('message', (msg) => {
  if (msg === 'close') {
    server.close(() => parentPort.postMessage({ type: 'closed' }));
    server.closeAllConnections?.();
  }
});
