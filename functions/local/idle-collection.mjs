// A full garbage collection when a thread of the local host falls idle after serving requests.
// Plain JavaScript, so that dynalite's worker thread (which does not go through the TypeScript
// loader) can import it as well as the host's main thread.
//
// Why: V8 collects its old generation when the heap grows past a limit it raises as the heap grows,
// not when the program goes quiet. After a burst of writes, each thread (the host's and dynalite's)
// keeps the garbage of its last requests until more allocation triggers a collection, and the
// process's resident memory with it. Under CPU contention the bursts leave more of it behind, and
// the resident set measured after a pause drifted up by 10–20 % a burst (`npm run bench memory`,
// bench/README.md). One full collection once a thread has been idle for a while returns it: the
// process sits at what it really holds, whenever it is idle.
//
// Cost: one full collection of the thread's heap (milliseconds for the host's and a persisted
// dynalite's, more for an in-memory dynalite that holds every item), only after `minRequests`
// requests and `idleMs` without one, never during a burst.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's `gc()`: the global one when Node runs with --expose-gc, else one from a fresh context. */
function collector() {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  // The flag only decides whether a context created after it gets a `gc` function; this is how
  // Node's own tests and Jest's leak detector reach it without --expose-gc on the command line.
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc');
}

/**
 * Counts requests (`noted()`); when at least `minRequests` were served since the last collection
 * and none arrived during the last `idleMs`, runs a full collection of this thread's heap. The
 * check runs every `idleMs` on an unref'd timer, so it never keeps the process alive.
 *
 * @param {{ idleMs?: number; minRequests?: number; collect?: () => void; onCollected?: (requests: number) => void }} [options]
 */
export function idleCollection(options = {}) {
  const idleMs = options.idleMs ?? 1_000;
  const minRequests = options.minRequests ?? 1_000;
  const collect = options.collect ?? collector();
  let served = 0;
  let seenAtLastCheck = 0;
  const timer = globalThis.setInterval(() => {
    if (served >= minRequests && served === seenAtLastCheck) {
      const requests = served;
      served = 0;
      collect();
      options.onCollected?.(requests);
    }
    seenAtLastCheck = served;
  }, idleMs);
  timer.unref();
  return {
    /** One request served (or started): counted, and it makes this interval a busy one. */
    noted() {
      served += 1;
    },
    stop() {
      globalThis.clearInterval(timer);
    },
  };
}
