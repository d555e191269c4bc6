// Closes the LevelDB iterators dynalite opens for every Query and Scan. Plain JavaScript: the
// dynalite worker thread imports it too, and a worker does not go through the TypeScript loader.
//
// dynalite 4 reads a Query/Scan through a stream over `db.values()`/`db.keys()` (abstract-level 3)
// whose end never closes the iterator: abstract-level closes an iterator only on `close()` (its
// `next()` returning undefined does not), and dynalite's stream `destroy` calls a `return()` that
// these iterators do not have. Every query therefore left one iterator open for the life of the
// process. On disk (classic-level) each open iterator pins the LevelDB version it was opened on:
// its memtable stays in memory and the table files it saw are never deleted after compaction. The
// local host's RSS grew by ~30 KB and its data dir by ~25 KB per recorded snapshot (each write's
// on-write validation queries the table), without bound; in memory (memory-level) each iterator
// kept its snapshot of the whole tree. Measured by `npm run bench memory`.
//
// The fix replaces the two stream factories on the store's database with ones that close their
// iterator when the stream ends or is destroyed (a Query that stops at its Limit destroys it).
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { deferIndexesOf } from './dynalite-indexes.mjs';

const require = createRequire(import.meta.url);
// The same module instance dynalite's index.js requires ('./db'), so its `create` is the one used.
const dynaliteDb = require('dynalite/db/index.js');

/** A readable stream over an abstract-level iterator that is closed once, at the end or on destroy. */
export function closingStream(iterator) {
  let closing;
  const close = () => (closing ??= iterator.close());
  return new Readable({
    objectMode: true,
    read() {
      iterator.next().then(
        (value) => {
          if (value !== undefined) return void this.push(value);
          close().then(
            () => this.push(null),
            (err) => this.destroy(err),
          );
        },
        (err) => this.destroy(err),
      );
    },
    destroy(err, callback) {
      close().then(
        () => callback(err),
        (closeErr) => callback(err ?? closeErr),
      );
    },
  });
}

/** Replaces `db`'s key and value streams (dynalite's own leak their iterators) with closing ones. */
export function closeIteratorsOf(db) {
  db.createValueStream = (options) => closingStream(db.values(options));
  db.createKeyStream = (options) => closingStream(db.keys(options));
  return db;
}

// The store dynalite created for each options object it was given (`dynalite(options)` creates one).
const storesByOptions = new WeakMap();

/** The store `dynalite(options)` created, for that same `options` object. */
export function storeOf(options) {
  return storesByOptions.get(options);
}

/**
 * The LevelDB database of the store `dynalite(options)` created, for that same `options` object.
 * Opening it before serving lets a caller report a store it cannot open (locked by another process)
 * as a startup error: dynalite itself opens it on the first request and throws from a callback.
 */
export function databaseOf(options) {
  return storesByOptions.get(options)?.db;
}

if (dynaliteDb.create.closesIterators !== true) {
  const create = dynaliteDb.create;
  const patched = (options) => {
    const store = create(options);
    closeIteratorsOf(store.db);
    // In memory at once; on disk once opened, its index work logged (`deferIndexesDurably`, ./dynalite-indexes.mjs).
    if (options?.indexesAfterAnswer === true && !options.path) deferIndexesOf(store);
    if (options !== null && typeof options === 'object') storesByOptions.set(options, store);
    return store;
  };
  patched.closesIterators = true;
  dynaliteDb.create = patched;
}
