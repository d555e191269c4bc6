// Runs dynalite in a worker thread, so the DynamoDB side of the local host uses the machine's second
// core instead of competing with the handlers on the main thread. Plain JavaScript: a worker does
// not go through the TypeScript loader the host runs under.
//
// It listens on TCP for every client, and also answers requests the host's own SDK client posts
// to it as messages (./dynalite-direct.mjs), with the same request handler.
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';
// dynalite's queries leave their LevelDB iterators open; this closes them (see the file).
import { databaseOf, storeOf } from './dynalite-store.mjs';
// dynalite parses every expression it is sent; this keeps the parses of the ones it sees again (see the file).
import './dynalite-parsers.mjs';
import { serveDirect } from './dynalite-direct.mjs';
// Global index entries written after each write's answer, as DynamoDB does (see the file).
import { deferIndexesDurably, indexesAfterAnswerHandler, stopDeferring } from './dynalite-indexes.mjs';
// A full collection once the thread falls idle after a burst (see the file).
import { idleCollection } from './idle-collection.mjs';

const options = { path: workerData.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, indexesAfterAnswer: true };
const server = dynalite(options);
// dynalite opens its store on the first request and, when it cannot, dies with a bare 'Database is
// closed'. Opened here, the parent learns why (locked by another process, or damaged) at start.
let storeFailure;
let recovered;
if (workerData.path !== undefined) {
  try {
    await databaseOf(options)?.open();
  } catch (err) {
    storeFailure = err?.cause instanceof Error ? err.cause : err;
  }
  // The index work a killed process left, done first; then deferring, with its work logged (see the file).
  if (storeFailure === undefined) recovered = await deferIndexesDurably(storeOf(options));
}
const handle = server.listeners('request')[0];
server.removeListener('request', handle);
server.on('request', indexesAfterAnswerHandler(handle));
const idle = idleCollection();
server.on('request', idle.noted);
if (storeFailure !== undefined) {
  // Not listening: the parent terminates this thread.
  parentPort.postMessage({ type: 'store', message: storeFailure instanceof Error ? storeFailure.message : String(storeFailure), code: storeFailure?.code });
} else {
  server.once('error', (err) => parentPort.postMessage({ type: 'error', message: err.message, code: err.code }));
  server.listen(workerData.port, '127.0.0.1', () => parentPort.postMessage({ type: 'listening', port: server.address().port, recovered }));
}
parentPort.on('message', (msg) => {
  if (msg === 'close') {
    idle.stop();
    void stopDeferring(storeOf(options)).then(() => {
      server.close(() => parentPort.postMessage({ type: 'closed' }));
      server.closeAllConnections?.();
    });
  } else if (msg?.type === 'request') {
    idle.noted();
    serveDirect(handle, msg.request).then(
      (response) => parentPort.postMessage({ type: 'response', id: msg.id, response }),
      (err) => parentPort.postMessage({ type: 'response', id: msg.id, error: err instanceof Error ? err.message : String(err) }),
    );
  }
});
