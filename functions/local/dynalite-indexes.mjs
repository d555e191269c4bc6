// Global secondary index entries written after the write is answered, as DynamoDB does. Plain
// JavaScript: the dynalite worker thread imports it too, and a worker does not go through the
// TypeScript loader.
//
// DynamoDB answers a PutItem, UpdateItem or DeleteItem once the table is written and updates the
// table's global secondary indexes asynchronously (they are eventually consistent; local secondary
// indexes are not, and are written with the item). dynalite writes every index entry inside the
// write, before it answers: for a snapshot that is four entries (GSI1, GSI1K, GSI2 and the audit
// index GSI3), each hashed, encoded and inserted into its tree, all on the write's path. So locally
// a global index cost every write its entry, where on AWS it costs none of the write's time.
//
// For the stores the local host creates (`indexesAfterAnswer: true` in dynalite's options), the
// global index entries of each write are queued, in write order, and written right after the
// write's answer has been handed back. A request that may read an index (Query, Scan, and every
// table-level action) first waits until the queue is empty, so the local host stays strongly
// consistent on its indexes, as it has always been: a Query sees every write answered before it.
// Item actions (Get, Put, Update, Delete, their batches and transactions) never read an index and
// do not wait. Other dynalite stores in the process (tests, benchmarks) are left as dynalite made them.
//
// A store on disk (a DATA_DIR) defers too, and survives a kill. An entry only queued when the process
// is killed would never be written: the item would be stored and answered, and missing from its
// function's list and from the audit index after a restart (DynamoDB propagates an acknowledged
// write to its indexes durably; a queue in memory cannot). So on disk each write first stores a
// small record of its index work (which table and item, and which old entries a key change or a
// delete removes), before the item and so before the answer, and the queued work removes it once
// the entries are written: a write-ahead log of the index work still to do. A store that opens
// with records left (its process was killed) does that work before it serves anything: the old
// entries they name are deleted and each item's entries written again from the item as stored, in
// one atomic batch. A write pays one put of ~100 bytes where it paid its entries (for a snapshot,
// four copies of the item); a start after a kill pays for the writes in flight, not for the table.
// A store in memory loses everything with its process anyway, and logs nothing.
import { createRequire } from 'node:module';
import { setImmediate } from 'node:timers';
import { stderr } from 'node:process';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
// The same module instance dynalite's actions require ('../db'), so they call the patched function.
const dynaliteDb = require('dynalite/db/index.js');

/** Actions that read or write items by key only: they never read an index, so they never wait for one. */
const ITEM_ACTIONS = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchGetItem', 'BatchWriteItem', 'TransactGetItems', 'TransactWriteItems']);

/** The stores whose global index entries are written after the answer. */
const deferringStores = new WeakSet();
/** Global index work still to do, in the order of the writes it belongs to. */
const queue = [];
/** The queue being written (one entry after another), or undefined. */
let draining;

/** Marks a store dynalite created in memory for options with `indexesAfterAnswer: true`. */
export function deferIndexesOf(store) {
  deferringStores.add(store);
  return store;
}

/** The root keys of the index work still to do on a store on disk: `INDEX_WORK~<sequence>`. */
export const INDEX_WORK = 'decision-replay~index-work';

/** The stores on disk that defer, so log their index work. */
const loggingStores = new WeakSet();
/** The next sequence number of a record of index work (the records of a store's last run are done before it serves). */
let nextWork = 0;

/**
 * For a store on disk, opened and not yet serving: does the index work its last process left (it
 * was killed between answering writes and writing their entries), then defers from then on,
 * logging each write's index work. Resolves with what was done, or undefined when nothing was left.
 */
export async function deferIndexesDurably(store) {
  const recovered = await finishIndexWork(store);
  loggingStores.add(store);
  deferringStores.add(store);
  return recovered;
}

/**
 * Before a store closes: its writes stop deferring and the queue is written (each record of index
 * work removed with it). Resolves once that is done; the caller then closes the store.
 */
export async function stopDeferring(store) {
  if (store !== undefined) {
    deferringStores.delete(store);
    loggingStores.delete(store);
  }
  await settleIndexes();
}

/** dynalite's keys under a prefix (names never hold `~` or anything above it): `prefix~key`. */
const range = (prefix) => ({ gte: `${prefix}~`, lt: `${prefix}\x7f` });

/**
 * Does the index work recorded and not done: deletes every old entry the records name, writes each
 * recorded item's global index entries again from the item as stored (none if it is gone), and
 * removes the records, in one atomic batch. Resolves with the writes and items it covered, or
 * undefined when there was nothing to do.
 */
export async function finishIndexWork(store) {
  const db = store.db;
  const started = performance.now();
  const records = await db.iterator(range(INDEX_WORK)).all();
  if (records.length === 0) return undefined;
  const tables = new Map((await db.values(range('table')).all()).map((table) => [table.TableName, table]));
  const deletes = [];
  const items = new Map();
  for (const [, work] of records) {
    if (!tables.has(work.table)) continue; // deleted since (a table action waits for the queue): nothing left to index
    for (const [index, key] of work.deletes) deletes.push({ type: 'del', key: `index-global~${work.table}~${index}~${key}` });
    items.set(`${work.table}~${work.key}`, work);
  }
  const puts = [];
  for (const work of items.values()) {
    const table = tables.get(work.table);
    const item = await db.get(`item-${work.table}~${work.key}`);
    if (item === undefined) continue;
    for (const put of dynaliteDb.getIndexActions(table.GlobalSecondaryIndexes ?? [], null, item, table).puts) {
      puts.push({ type: 'put', key: `index-global~${work.table}~${put.index}~${put.key}`, value: put.item });
    }
  }
  // In this order: an old entry a record names is never an item's current one, and the batch is atomic.
  await db.batch([...deletes, ...puts, ...records.map(([key]) => ({ type: 'del', key }))]);
  return { writes: records.length, items: items.size, ms: Math.round(performance.now() - started) };
}

/** Writes every queued global index entry, in order; resolves when the queue is empty. */
export function settleIndexes() {
  if (draining === undefined && queue.length > 0) {
    let finished;
    draining = new Promise((resolve) => (finished = resolve));
    // One entry after another. An entry with nothing to write calls back at once: the loop goes
    // on (no recursion, however many such entries are queued); one that writes continues from its
    // callback.
    const next = () => {
      for (;;) {
        const work = queue.shift();
        if (work === undefined) {
          draining = undefined;
          return finished();
        }
        let returned = false;
        let calledBack = false;
        work((err) => {
          // The write it belongs to was answered already. As on DynamoDB, an index that cannot be
          // written is not the writer's error; here it can only be a store that was closed under it.
          if (err) stderr.write(`dynalite: a global secondary index entry could not be written: ${err.message ?? err}\n`);
          calledBack = true;
          if (returned) next();
        });
        returned = true;
        if (!calledBack) return;
      }
    };
    next();
  }
  return draining ?? Promise.resolve();
}

/** Global index writes queued and not written yet (what a test can observe of the queue). */
export function indexWorkPending() {
  return queue.length + (draining === undefined ? 0 : 1);
}

/** True when a request for `target` (the `x-amz-target` header) must wait for the queue first. */
export function waitsForIndexes(target) {
  if (queue.length === 0 && draining === undefined) return false;
  const action = typeof target === 'string' ? target.slice(target.indexOf('.') + 1) : '';
  return !ITEM_ACTIONS.has(action);
}

/** After an answer has been handed back: the queued index work starts once the answer is on its way. */
export function answered() {
  if (queue.length > 0 && draining === undefined) setImmediate(settleIndexes);
}

/**
 * dynalite's request handler for the host's stores, for clients on its TCP port: a request that
 * may read an index waits for the queue (its body is not read meanwhile: an IncomingMessage
 * buffers until the handler reads it), and each answer sent starts the queued work.
 */
export function indexesAfterAnswerHandler(handle) {
  return (req, res) => {
    res.once('finish', answered);
    if (waitsForIndexes(req.headers['x-amz-target'])) settleIndexes().then(() => handle(req, res));
    else handle(req, res);
  };
}

if (dynaliteDb.updateIndexes.afterAnswer !== true) {
  const updateIndexes = dynaliteDb.updateIndexes;
  const patched = (store, table, existingItem, item, cb) => {
    const globals = table.GlobalSecondaryIndexes;
    if (!deferringStores.has(store) || globals === undefined || globals.length === 0) return updateIndexes(store, table, existingItem, item, cb);
    // Local secondary indexes with the item, as DynamoDB does; the global ones queued.
    updateIndexes(store, { ...table, GlobalSecondaryIndexes: undefined }, existingItem, item, (err) => {
      if (err) return cb(err);
      const onlyGlobal = { ...table, LocalSecondaryIndexes: undefined };
      if (!loggingStores.has(store)) {
        queue.push((done) => updateIndexes(store, onlyGlobal, existingItem, item, done));
        return cb();
      }
      // On disk: the record of this write's index work first (dynalite writes the item after this
      // callback, and answers after that), removed once the entries are written.
      const workKey = `${INDEX_WORK}~${String(nextWork++).padStart(15, '0')}`;
      // Only a write over an existing item can leave old entries to delete (a new item, as every
      // snapshot is, has none): the keys are computed only then.
      const deletes = existingItem ? dynaliteDb.getIndexActions(globals, existingItem, item, table).deletes.map((d) => [d.index, d.key]) : [];
      store.db.put(workKey, { table: table.TableName, key: dynaliteDb.createKey(item ?? existingItem, table), deletes }, (putErr) => {
        if (putErr) return cb(putErr);
        queue.push((done) => updateIndexes(store, onlyGlobal, existingItem, item, (indexErr) => (indexErr ? done(indexErr) : store.db.del(workKey, done))));
        cb();
      });
    });
  };
  patched.afterAnswer = true;
  dynaliteDb.updateIndexes = patched;
}
